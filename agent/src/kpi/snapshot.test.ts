import { describe, expect, it } from 'vitest';
import type { Sample } from '../core/sample.js';
import { KpiEngine, type EngineOptions } from './engine.js';
import { decodeCheckpoint, decodeSnapshot, encodeCheckpoint, encodeSnapshot, SNAPSHOT_VERSION } from './snapshot.js';

const W = 60_000;
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const opts: EngineOptions = {
  windowMs: W,
  latenessMs: 10_000,
  maxFutureSkewMs: 300_000,
  correctionHorizonMs: 86_400_000,
  machines: [{ path: 's/l/m', partMassKg: 0.5, signals: { parts_good: { kind: 'counter', rollover: 65536 } } }],
};
const good = (value: number, ts: number): Sample => ({ machine: 's/l/m', signal: 'parts_good', value, ts, source: 't' });

describe('engine snapshot format', () => {
  it('a checkpoint as stores hold it today restores counter state and open windows: the next reading counts on from it', () => {
    // Written by hand in the stored form (version 1): counter at 65530, an open window holding 7 parts.
    const stored = JSON.stringify({
      version: 1,
      windowMs: W,
      machines: { 's/l/m': { product: null, material: null, partMassKg: 0.5, signals: { parts_good: { kind: 'counter', has: true, last: 65530, lastTs: T0 + 30_000, streak: 0 } } } },
      windows: [{ machine: 's/l/m', start: T0, end: T0 + W, sums: [0, 7, 0, 0, 0, 0, 0], quality: [0, 0, 0, 0, 0, 0, 0], accepted: 2 }],
    });
    const snap = decodeSnapshot(stored);
    expect(snap?.version).toBe(SNAPSHOT_VERSION);
    const e = new KpiEngine(opts);
    e.restore(snap!);
    e.ingest([good(4, T0 + 40_000)], T0 + 40_000); // wrapped: 65530 → 4 is 10 parts
    const [w] = e.takeAll();
    expect(w!.window.start).toBe(T0);
    expect(w!.window.sums[1]).toBe(17);
    expect(w!.window.accepted).toBe(3);
  });

  it('round-trips what the engine writes, and ignores a format it does not know', () => {
    const a = new KpiEngine(opts);
    a.ingest([good(100, T0 + 1000)], T0 + 1000);
    a.ingest([good(130, T0 + 2000)], T0 + 2000);
    const b = new KpiEngine(opts);
    b.restore(decodeSnapshot(encodeSnapshot(a.snapshot()))!);
    expect(b.snapshot()).toEqual(a.snapshot());
    expect(decodeSnapshot(JSON.stringify({ ...a.snapshot(), version: SNAPSHOT_VERSION + 1 }))).toBeUndefined();
    expect(decodeSnapshot('null')).toBeUndefined();
    expect(decodeSnapshot(JSON.stringify({ version: SNAPSHOT_VERSION }))).toBeUndefined();
  });

  it('the checkpoint cut into a part per machine restores the same state; a machine that sent nothing keeps its part unchanged; the whole-snapshot layout still reads', () => {
    const two: EngineOptions = { ...opts, machines: [...opts.machines, { path: 's/l/n', partMassKg: 1, signals: { parts_good: { kind: 'delta' } } }] };
    const a = new KpiEngine(two);
    a.ingest([good(100, T0 + 1000)], T0 + 1000);
    a.ingest([good(130, T0 + 2000), { machine: 's/l/n', signal: 'parts_good', value: 4, ts: T0 + 2000, source: 't' }], T0 + 2000);
    const first = encodeCheckpoint(a.snapshot());
    expect([...first.parts.keys()].sort()).toEqual(['s/l/m', 's/l/n']);
    const b = new KpiEngine(two);
    b.restore(decodeCheckpoint(first.header, first.parts)!);
    expect(b.snapshot()).toEqual(a.snapshot());
    // Only s/l/m counts on: only its part changes.
    a.ingest([good(131, T0 + 3000)], T0 + 3000);
    const second = encodeCheckpoint(a.snapshot());
    expect(second.parts.get('s/l/n')).toBe(first.parts.get('s/l/n'));
    expect(second.parts.get('s/l/m')).not.toBe(first.parts.get('s/l/m'));
    // A store written before the cut holds the whole snapshot in the header, and no parts.
    const c = new KpiEngine(two);
    c.restore(decodeCheckpoint(encodeSnapshot(a.snapshot()), new Map())!);
    expect(c.snapshot()).toEqual(a.snapshot());
    expect(decodeCheckpoint(JSON.stringify({ layout: 'parts', version: SNAPSHOT_VERSION + 1 }), second.parts)).toBeUndefined();
  });
});
