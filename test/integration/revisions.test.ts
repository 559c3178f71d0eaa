/**
 * Revisions and restarts through the real pipeline (agent/src/kpi/README.md "Windows"): a broker backlog
 * that arrives after its windows were emitted revises them under the same key, and the local
 * store carries aggregates and the engine checkpoint across a restart.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Aggregate } from '../../agent/src/core/aggregate.js';
import { VirtualClock } from '../../agent/src/core/clock.js';
import type { Sample } from '../../agent/src/core/sample.js';
import { validateConfig } from '../../agent/src/config/load.js';
import type { Config } from '../../agent/src/config/schema.js';
import { createPipeline } from '../../agent/src/wiring/pipeline-options.js';
import { replay, type RecordedMessage } from '../../agent/src/replay.js';
import { Store } from '../../agent/src/store/store.js';

const S = 1000;
const W = 60 * S;
const T0 = Date.UTC(2026, 0, 1); // aligned to the minute
const M1 = 'plant1/l1/m01'; // PLC counters
const M2 = 'plant1/l1/m02'; // delta messages with sequence numbers

function config(): Config {
  return validateConfig({
    kpi: { windowSize: '60s', allowedLateness: '10s', maxFutureSkew: '5m', correctionHorizon: '24h' },
    materials: { AlMg3: { pricePerKg: 4.5, scrapValuePerKg: 1.25, co2ePerKg: { value: 8.5, source: 'made up for testing', year: 2026 }, crm: { Mg: 0.25 } } },
    machines: [
      { path: M1, partMassKg: 0.5, material: 'AlMg3', signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } },
      { path: M2, partMassKg: 0.25, material: 'AlMg3', signals: { parts_good: { kind: 'delta' }, parts_scrap: { kind: 'delta' } } },
    ],
    sources: [
      {
        type: 'mqtt',
        id: 'test',
        url: 'mqtt://127.0.0.1:1883',
        topics: [{ topic: '{site}/{line}/{machine}/counters', fields: { parts_good: 'good', parts_scrap: 'scrap' }, timestamp: { field: 'ts', format: 'epoch_ms' }, seqField: 'seq' }],
      },
    ],
  });
}

/** m01 counter readings: every 10 s, good +3, scrap +1 every other reading. */
const good1 = (k: number) => 1000 + 3 * k;
const scrap1 = (k: number) => 50 + Math.floor(k / 2);
/** m02 deltas: 4 good per message, 1 scrap when k % 4 == 2. */
const good2 = () => 4;
const scrap2 = (k: number) => (k % 4 === 2 ? 1 : 0);

const topic = (m: string) => `${m}/counters`;
const msg1 = (k: number, arrival: number): RecordedMessage => ({ arrival, topic: topic(M1), payload: { good: good1(k), scrap: scrap1(k), ts: T0 + k * 10 * S } });
const msg2 = (k: number, arrival: number): RecordedMessage => ({ arrival, topic: topic(M2), payload: { good: good2(), scrap: scrap2(k), ts: T0 + k * 10 * S, seq: k } });

/**
 * 48 readings per machine (8 windows). m01's broker link is down from ts 30 s: readings 3..39
 * are queued and delivered in order at 400 s. m02 is live, but its messages 2 and 8 (windows 0
 * and 1) are delivered late at 400.41 s and 400.42 s.
 */
function stream(): RecordedMessage[] {
  const out: RecordedMessage[] = [];
  for (let k = 0; k < 48; k++) {
    const ts = T0 + k * 10 * S;
    if (k < 3 || k >= 40) out.push(msg1(k, ts + S));
    else out.push(msg1(k, T0 + 400 * S + (k - 3) * 10));
    if (k === 2) out.push(msg2(k, T0 + 400_410));
    else if (k === 8) out.push(msg2(k, T0 + 400_420));
    else out.push(msg2(k, ts + 500));
  }
  return out.sort((a, b) => a.arrival - b.arrival);
}

/** Final components per window, worked out from the readings: each increment belongs to the window of its reading. */
function expectedFinal(): Map<string, { good: number; scrap: number }> {
  const out = new Map<string, { good: number; scrap: number }>();
  const at = (m: string, w: number) => {
    const key = `${m}@${T0 + w * W}`;
    if (!out.has(key)) out.set(key, { good: 0, scrap: 0 });
    return out.get(key)!;
  };
  for (let k = 0; k < 48; k++) {
    const w = Math.floor(k / 6);
    const a = at(M1, w);
    if (k > 0) {
      a.good += good1(k) - good1(k - 1);
      a.scrap += scrap1(k) - scrap1(k - 1);
    }
    const b = at(M2, w);
    b.good += good2();
    b.scrap += scrap2(k);
  }
  return out;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDb(): string {
  const d = mkdtempSync(join(tmpdir(), 'yieldwatch-revisions-'));
  dirs.push(d);
  return join(d, 'store.db');
}

function keyed(aggs: readonly Aggregate[]): Map<string, Aggregate> {
  return new Map(aggs.map((a) => [`${a.machine}@${a.windowStart}`, a]));
}

describe('revisions through replay()', () => {
  it('a backlog arriving after its windows were emitted revises them; final values and one row per window', () => {
    const store = new Store({ path: ':memory:' });
    const res = replay(config(), stream(), store);
    const rows = store.queryAggregates();
    expect(rows).toHaveLength(16);
    expect(new Set(rows.map((a) => `${a.machine}@${a.windowStart}`)).size).toBe(16);

    const got = keyed(res.aggregates);
    for (const [key, e] of expectedFinal()) {
      const a = got.get(key);
      expect(a, key).toBeDefined();
      expect({ key, good: a!.components.parts_good, scrap: a!.components.parts_scrap }).toEqual({ key, ...e });
      expect(a!.windowEnd - a!.windowStart).toBe(W);
    }

    // Revision numbers: replay ticks before every message, so each late message that lands in
    // an already emitted window is one revision (worked out in the comments below).
    const rev = (m: string, w: number) => got.get(`${m}@${T0 + w * W}`)!.revision;
    // m01 window 0: readings 0-2 emitted at 70.5 s (rev 0), then readings 3, 4, 5 of the backlog.
    expect(rev(M1, 0)).toBe(3);
    // m01 windows 1-5: all six readings arrive after the window's due time, one tick apart.
    for (let w = 1; w <= 5; w++) expect(rev(M1, w)).toBe(5);
    // m01 window 6 (due 430 s) and 7 (flushed at the end) are complete at their first emission.
    expect(rev(M1, 6)).toBe(0);
    expect(rev(M1, 7)).toBe(0);
    // m02 windows 0 and 1 get their late message once; the others are on time.
    expect(rev(M2, 0)).toBe(1);
    expect(rev(M2, 1)).toBe(1);
    for (let w = 2; w < 8; w++) expect(rev(M2, w)).toBe(0);

    // KPIs of a revised window derive from the merged components.
    const w0 = got.get(`${M1}@${T0}`)!;
    expect(w0.components).toEqual({ parts_good: 15, parts_scrap: 2 });
    expect(w0.kpis).toMatchObject({ parts_total: 17, yield: 15 / 17, scrap_rate: 2 / 17, good_kg: 7.5, scrap_kg: 1, material_loss_kg: 1, loss_cost: 3.25, loss_co2e_kg: 8.5, crm_loss_kg_Mg: 0.25 });
    const m2w0 = got.get(`${M2}@${T0}`)!;
    expect(m2w0.kpis).toMatchObject({ parts_good: 24, parts_scrap: 1, parts_total: 25, yield: 0.96, scrap_kg: 0.25 });

    // Conservation: m01 counted last - first; m02 counted every message once.
    const sum = (m: string, k: 'parts_good' | 'parts_scrap') => res.aggregates.filter((a) => a.machine === m).reduce((t, a) => t + (a.components[k] ?? 0), 0);
    expect(sum(M1, 'parts_good')).toBe(good1(47) - good1(0));
    expect(sum(M1, 'parts_scrap')).toBe(scrap1(47) - scrap1(0));
    expect(sum(M2, 'parts_good')).toBe(48 * 4);
    expect(sum(M2, 'parts_scrap')).toBe(12);
    expect(res.stats.stale).toBe(0);
    expect(res.stats.dup).toBe(0);
    store.close();
  });

  it('a QoS 1 redelivery of an emitted message changes no value; the duplicate is counted (a quality-only revision)', () => {
    const store = new Store({ path: ':memory:' });
    const msgs = stream();
    // Message 5 of m02 (window 0) delivered again long after the window was emitted.
    msgs.push(msg2(5, T0 + 480 * S));
    const res = replay(config(), msgs, store);
    const a = keyed(res.aggregates).get(`${M2}@${T0}`)!;
    expect(a.components).toEqual({ parts_good: 24, parts_scrap: 1 });
    // Counted per signal value: the message carries two delta signals.
    expect(a.quality.dup).toBe(2);
    expect(res.stats.dup).toBe(2);
    expect(a.revision).toBe(2);
    expect(store.queryAggregates({ machine: M2 })).toHaveLength(8);
    store.close();
  });
});

describe('the store across a restart', () => {
  it('a store file reopened after close holds the same rows and checkpoint; the second run continues with no double count', () => {
    const path = tempDb();
    const all = stream();
    const cut = all.findIndex((m) => m.arrival >= T0 + 200 * S);
    const first = new Store({ path });
    replay(config(), all.slice(0, cut), first);
    const rowsBefore = first.queryAggregates();
    const cpBefore = first.loadCheckpoint();
    first.close();
    expect(rowsBefore.length).toBeGreaterThan(0);
    expect(cpBefore).toBeDefined();

    const second = new Store({ path });
    expect(second.queryAggregates()).toEqual(rowsBefore);
    expect(second.loadCheckpoint()).toEqual(cpBefore);
    const res = replay(config(), all.slice(cut), second);
    const rows = second.queryAggregates();
    expect(new Set(rows.map((a) => `${a.machine}@${a.windowStart}`)).size).toBe(rows.length);
    expect(rows).toHaveLength(16);
    const got = keyed(res.aggregates);
    for (const [key, e] of expectedFinal()) {
      const a = got.get(key)!;
      expect({ key, good: a.components.parts_good, scrap: a.components.parts_scrap }).toEqual({ key, ...e });
    }
    second.close();
  });

  describe('a crash (no flush, no final checkpoint)', () => {
    const sampleAt = (k: number): Sample[] => [
      { machine: M1, signal: 'parts_good', value: good1(k), ts: T0 + k * 10 * S, source: 'test' },
      { machine: M1, signal: 'parts_scrap', value: scrap1(k), ts: T0 + k * 10 * S, source: 'test' },
    ];
    /** A process lifetime: reading k arrives 1 s after its time; the pipeline ticks before each. */
    const run = (cfg: Config, store: Store, from: number, to: number) => {
      const clock = new VirtualClock(0);
      const p = createPipeline(cfg, store, clock);
      for (let k = from; k < to; k++) {
        clock.set(T0 + k * 10 * S + S);
        p.tick();
        p.ingest(sampleAt(k));
      }
      return p;
    };
    /**
     * Readings 0..23, then the process dies. Checkpoints come every 10 s (checkpointInterval),
     * the last at the tick of reading 23 (231 s): reading 23 (ts 230 s, the last of window 3)
     * was ingested after it and is lost from memory.
     */
    const crashAfterReading23 = (cfg: Config, path: string) => {
      const a = new Store({ path });
      run(cfg, a, 0, 24);
      a.close();
      const b = new Store({ path });
      expect(b.loadCheckpoint()!.savedAt).toBe(T0 + 231 * S);
      return b;
    };
    const finish = (cfg: Config, store: Store, from: number) => {
      run(cfg, store, from, 48).flushAll();
      const rows = store.queryAggregates({ machine: M1 });
      expect(rows).toHaveLength(8);
      expect(new Set(rows.map((r) => r.windowStart)).size).toBe(8);
      const total = (k: 'parts_good' | 'parts_scrap') => rows.reduce((t, r) => t + (r.components[k] ?? 0), 0);
      expect(total('parts_good')).toBe(good1(47) - good1(0));
      expect(total('parts_scrap')).toBe(scrap1(47) - scrap1(0));
      return keyed(rows);
    };

    it('messages since the checkpoint redelivered (QoS 1): every window exact, nothing counted twice', () => {
      const cfg = config();
      const store = crashAfterReading23(cfg, tempDb());
      const byW = finish(cfg, store, 23);
      for (const [key, e] of expectedFinal()) if (key.startsWith(M1)) expect({ key, good: byW.get(key)!.components.parts_good, scrap: byW.get(key)!.components.parts_scrap }).toEqual({ key, ...e });
      store.close();
    });

    it('messages since the checkpoint lost: conservation holds; the lost increment lands with the next reading', () => {
      const cfg = config();
      const store = crashAfterReading23(cfg, tempDb());
      const byW = finish(cfg, store, 24);
      const exp = expectedFinal();
      for (const w of [0, 1, 2, 5, 6, 7]) expect(byW.get(`${M1}@${T0 + w * W}`)!.components.parts_good).toBe(exp.get(`${M1}@${T0 + w * W}`)!.good);
      // Reading 23's +3 is only seen by reading 24 (ts 240 s): window 3 has 15 instead of 18,
      // window 4 has 21 instead of 18. the design's "the counts since the checkpoint land in the
      // right windows" therefore needs the source to redeliver what the checkpoint did not cover.
      expect(byW.get(`${M1}@${T0 + 3 * W}`)!.components.parts_good).toBe(15);
      expect(byW.get(`${M1}@${T0 + 4 * W}`)!.components.parts_good).toBe(21);
      store.close();
    });
  });
});

describe('a store that refuses writes', () => {
  it('keeps the windows in memory, retries with back-off and saves them all once it works again', async () => {
    const { VirtualClock } = await import('../../agent/src/core/clock.js');
    const { Store } = await import('../../agent/src/store/store.js');
    const { validateConfig } = await import('../../agent/src/config/load.js');
    const cfg = validateConfig({
      machines: [{ path: 'p/l/m1', partMassKg: 1, signals: { parts_good: { kind: 'counter' } } }],
    });
    class FlakyStore extends Store {
      failing = true;
      attempts = 0;
      override transaction<T>(fn: () => T): T {
        this.attempts++;
        if (this.failing) throw new Error('SQLITE_FULL: database or disk is full');
        return super.transaction(fn);
      }
    }
    const store = new FlakyStore({ path: ':memory:' });
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const errors: number[] = [];
    const p = createPipeline(cfg, store, clock, { onCommitError: (_e, n) => errors.push(n) });
    const t0 = clock.now();
    let v = 0;
    // Ten minutes of production, one reading every 5 s, ticking every 250 ms as the agent does.
    for (let t = t0; t < t0 + 600_000; t += 250) {
      clock.set(t);
      if ((t - t0) % 5000 === 0) p.ingest([{ machine: 'p/l/m1', signal: 'parts_good', value: v++, ts: t, source: 't' }]);
      p.tick();
    }
    // Back-off: 1 s doubling to 60 s means about a dozen attempts in ten minutes, not 2,400.
    expect(store.attempts).toBeLessThan(20);
    expect(errors[0]).toBe(1);
    expect(p.stats().failuresInRow).toBe(errors.length);
    expect(store.queryAggregates()).toEqual([]);
    store.failing = false;
    clock.set(t0 + 700_000);
    p.tick();
    expect(p.stats().failuresInRow).toBe(0);
    const rows = store.queryAggregates();
    expect(rows.length).toBe(10);
    expect(rows.reduce((s, r) => s + r.components.parts_good!, 0)).toBe(v - 1);
  });
});
