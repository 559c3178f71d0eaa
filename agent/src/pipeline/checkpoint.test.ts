import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.js';
import { validateConfig } from '../config/load.js';
import { decodeCheckpoint } from '../kpi/snapshot.js';
import { Store } from '../store/store.js';
import { createPipeline } from '../wiring/pipeline-options.js';

const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const MACHINES = ['p/l/m1', 'p/l/m2', 'p/l/m3', 'p/l/m4'];

/** Counts the checkpoint parts each commit writes. */
class CountingStore extends Store {
  partsWritten: string[] = [];
  override putCheckpointPart(key: string, state: string): void {
    this.partsWritten.push(key);
    super.putCheckpointPart(key, state);
  }
}

describe('the checkpoint a commit writes', () => {
  it('rewrites only the machines that changed since the last commit, and a restart resumes every machine from its part', () => {
    const cfg = validateConfig({ machines: MACHINES.map((path) => ({ path, partMassKg: 1, signals: { parts_good: { kind: 'counter' } } })) });
    const store = new CountingStore({ path: ':memory:' });
    const clock = new VirtualClock(T0);
    const pipeline = createPipeline(cfg, store, clock);
    let value = 100;
    const reading = (machine: string) => pipeline.ingest([{ machine, signal: 'parts_good', value: value++, ts: clock.now(), source: 't' }]);

    for (const m of MACHINES) reading(m);
    pipeline.commitNow();
    expect(store.partsWritten.sort()).toEqual(MACHINES);
    // One machine counts on: one part is written, the other three are as the store has them.
    store.partsWritten = [];
    clock.advance(1000);
    reading('p/l/m2');
    pipeline.commitNow();
    expect(store.partsWritten).toEqual(['p/l/m2']);
    // Nothing changed: nothing written.
    store.partsWritten = [];
    clock.advance(1000);
    pipeline.commitNow();
    expect(store.partsWritten).toEqual([]);

    // A failed commit saves no part, so the next one writes what changed since the last that worked.
    clock.advance(1000);
    reading('p/l/m3');
    const transaction = store.transaction.bind(store);
    store.transaction = () => {
      throw new Error('SQLITE_FULL: database or disk is full');
    };
    expect(pipeline.commitNow()).toBe(false);
    store.transaction = transaction;
    store.partsWritten = [];
    clock.advance(60_000);
    reading('p/l/m4');
    pipeline.commitNow();
    expect(store.partsWritten.sort()).toEqual(['p/l/m3', 'p/l/m4']);

    // What a restart resumes from: each machine's counter at the last value it committed.
    const cp = store.loadCheckpoint()!;
    const snap = decodeCheckpoint(cp.state, cp.parts)!;
    expect(Object.fromEntries(MACHINES.map((m) => [m, snap.machines[m]!.signals.parts_good!.last]))).toEqual({ 'p/l/m1': 100, 'p/l/m2': 104, 'p/l/m3': 105, 'p/l/m4': 106 });
    // And a pipeline started on it counts on from there: 10 more parts each, on top of what the open windows hold.
    const again = createPipeline(cfg, store, clock);
    clock.advance(1000);
    for (const m of MACHINES) again.ingest([{ machine: m, signal: 'parts_good', value: snap.machines[m]!.signals.parts_good!.last + 10, ts: clock.now(), source: 't' }]);
    const windows = again.flushAll();
    const good = Object.fromEntries(MACHINES.map((m) => [m, windows.filter((w) => w.machine === m).reduce((s, w) => s + (w.components.parts_good ?? 0), 0)]));
    expect(good).toEqual({ 'p/l/m1': 10, 'p/l/m2': 13, 'p/l/m3': 13, 'p/l/m4': 13 });
  });
});
