/**
 * The KPI engine held to agent/src/kpi/README.md (Event time, Counter to delta, Windows).
 * Expected values come from the generated true counters and a small model in this file.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Sample } from '../core/sample.js';
import { SIGNAL_INDEX, type SummedSignal } from '../core/signals.js';
import { toAggregate } from '../pipeline/emit.js';
import { KpiEngine, MAX_SIGNAL_VALUE, type DueWindow, type EngineMachine, type EngineOptions, type EngineSnapshot } from './engine.js';
import { Q_DUP, Q_REJECTED, Q_SKEWED, Q_STALE, Q_TOO_LATE } from './quality.js';

const W = 60_000;
const L = 10_000;
const SKEW = 300_000;
const HORIZON = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);
const GOOD = SIGNAL_INDEX.parts_good;
const SCRAP = SIGNAL_INDEX.parts_scrap;
const TOTAL = SIGNAL_INDEX.parts_total;
const U16 = 65536;
const NO_MATERIALS = new Map();

function options(machines: EngineMachine[]): EngineOptions {
  return { windowMs: W, latenessMs: L, maxFutureSkewMs: SKEW, correctionHorizonMs: HORIZON, machines };
}

function sample(machine: string, signal: SummedSignal | 'product' | 'material', value: number | string, ts: number | undefined, seq?: number): Sample {
  return { machine, signal, value, ts, seq, source: 'test' };
}

/** Independent window start: floor to the window size. */
function ws(t: number): number {
  return Math.floor(t / W) * W;
}

function byStart(due: readonly DueWindow[]): Map<string, DueWindow> {
  return new Map(due.map((d) => [`${d.window.machine}@${d.window.start}`, d]));
}

// ---------------------------------------------------------------------------------------------
// Random streams, out-of-order arrival, takeDue at random times, checkpoints, restarts, crashes.
// ---------------------------------------------------------------------------------------------

interface Msg {
  dt: number;
  inc: number;
  scrap: number;
  delay: number;
  resend: number | null;
}
interface MachineGen {
  rollover: boolean;
  start: number;
  offset: number;
  msgs: Msg[];
}
interface Delivery {
  order: number;
  arrival: number;
  machine: string;
  ts: number;
  /** What the PLC register shows. */
  value: number;
  /** The true (unbounded) count. */
  trueValue: number;
  scrap: number;
  seq: number;
}

const msgArb: fc.Arbitrary<Msg> = fc.record({
  dt: fc.integer({ min: 1, max: 25_000 }),
  // At most 30 messages of at most 1000: whatever the engine skips as stale, two accepted
  // samples are less than rollover/2 apart, so every wrap is recognisable (counter rule 4 of agent/src/kpi/README.md).
  inc: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 1000 })),
  scrap: fc.integer({ min: 0, max: 9 }),
  // Mostly within the allowed lateness (reordering only); sometimes later (revisions).
  delay: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 0, max: L }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: L + 2 * W }) }),
  // A QoS 1 redelivery of the same message, this long after the first delivery.
  resend: fc.option(fc.integer({ min: 0, max: 2 * W }), { freq: 6 }),
});
const machineArb: fc.Arbitrary<MachineGen> = fc.record({
  rollover: fc.boolean(),
  start: fc.oneof(fc.integer({ min: 0, max: U16 - 1 }), fc.integer({ min: U16 - 3000, max: U16 - 1 })),
  offset: fc.integer({ min: 0, max: 3 * W }),
  msgs: fc.array(msgArb, { minLength: 1, maxLength: 30 }),
});
/** Per delivery: 0-4 nothing, 5-6 commit (takeDue + checkpoint), 7 checkpoint only, 8 clean restart, 9 crash. */
const actionsArb = fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 200 });

function deliveries(gens: MachineGen[]): Delivery[] {
  const out: Delivery[] = [];
  gens.forEach((g, mi) => {
    const machine = `plant/l1/m${mi}`;
    let ts = T0 + g.offset;
    let trueValue = g.start;
    g.msgs.forEach((m, k) => {
      if (k > 0) {
        ts += m.dt;
        trueValue += m.inc;
      }
      const d = { order: 0, arrival: ts + m.delay, machine, ts, value: g.rollover ? trueValue % U16 : trueValue, trueValue, scrap: m.scrap, seq: k };
      out.push(d);
      if (m.resend !== null) out.push({ ...d, arrival: d.arrival + m.resend });
    });
  });
  out.forEach((d, i) => (d.order = i));
  return out.sort((a, b) => a.arrival - b.arrival || a.order - b.order);
}

interface Expect {
  good: Map<string, number>;
  scrap: Map<string, number>;
  stale: Map<string, number>;
  dup: Map<string, number>;
  accepted: Set<string>;
}

/** The method applied by hand, in arrival order, on true counts. */
function model(ds: readonly Delivery[]): Expect {
  const e: Expect = { good: new Map(), scrap: new Map(), stale: new Map(), dup: new Map(), accepted: new Set() };
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  const counters = new Map<string, { lastTs: number; last: number }>();
  const seqs = new Map<string, Set<number>>();
  for (const d of ds) {
    const key = `${d.machine}@${ws(d.ts)}`;
    const c = counters.get(d.machine);
    if (c === undefined) {
      counters.set(d.machine, { lastTs: d.ts, last: d.trueValue });
      e.accepted.add(key);
      add(e.good, key, 0);
    } else if (d.ts < c.lastTs) {
      add(e.stale, key, 1);
    } else {
      add(e.good, key, d.trueValue - c.last);
      c.last = d.trueValue;
      c.lastTs = d.ts;
      e.accepted.add(key);
    }
    const seen = seqs.get(d.machine) ?? new Set<number>();
    seqs.set(d.machine, seen);
    if (seen.has(d.seq)) add(e.dup, key, 1);
    else {
      seen.add(d.seq);
      add(e.scrap, key, d.scrap);
      e.accepted.add(key);
    }
  }
  return e;
}

describe('KpiEngine: random streams with reordering, late data, restarts and crashes', () => {
  // Each run replays up to ~180 deliveries with up to ~40 JSON checkpoints: 1000 runs take a few seconds.
  it('per machine the emitted increments (first emissions + revisions) sum to last - first, and every window holds exactly its event-time increments', () => {
    fc.assert(
      fc.property(fc.array(machineArb, { minLength: 1, maxLength: 3 }), actionsArb, (gens, actions) => {
        const machines: EngineMachine[] = gens.map((g, mi) => ({
          path: `plant/l1/m${mi}`,
          signals: { parts_good: { kind: 'counter', rollover: g.rollover ? U16 : undefined }, parts_scrap: { kind: 'delta' } },
        }));
        const ds = deliveries(gens);
        const fresh = () => new KpiEngine(options(machines));
        let engine = fresh();
        const emitted: DueWindow[] = [];
        let checkpoint: { snap: string | undefined; index: number } = { snap: undefined, index: 0 };
        const crashed = new Set<number>();
        const restoreFrom = (snap: string | undefined) => {
          const e = fresh();
          if (snap !== undefined) e.restore(JSON.parse(snap) as EngineSnapshot);
          return e;
        };
        const commit = (now: number, take: boolean) => {
          if (take) {
            const due = engine.takeDue(now);
            for (const d of due) expect(d.window.start + W + L).toBeLessThanOrEqual(now);
            emitted.push(...due);
          }
          const snap = engine.snapshot();
          // Nothing due is left behind.
          if (take) for (const w of snap.windows) expect(w.start + W + L).toBeGreaterThan(now);
          return JSON.stringify(snap);
        };
        for (let i = 0; i < ds.length; i++) {
          const d = ds[i]!;
          const action = actions[i] ?? 0;
          if (action === 5 || action === 6 || action === 7) checkpoint = { snap: commit(d.arrival, action !== 7), index: i };
          else if (action === 8) {
            const snap = commit(d.arrival, true);
            checkpoint = { snap, index: i };
            engine = restoreFrom(snap);
          } else if (action === 9 && !crashed.has(i)) {
            // Crash: what was ingested since the checkpoint is lost from memory; the broker
            // redelivers those messages (QoS 1, not acknowledged before the commit).
            crashed.add(i);
            engine = restoreFrom(checkpoint.snap);
            i = checkpoint.index - 1;
            continue;
          }
          engine.ingest(
            [sample(d.machine, 'parts_good', d.value, d.ts, d.seq), sample(d.machine, 'parts_scrap', d.scrap, d.ts, d.seq)],
            d.arrival,
          );
        }
        emitted.push(...engine.takeAll());

        const e = model(ds);
        const got = { good: new Map<string, number>(), scrap: new Map<string, number>(), stale: new Map<string, number>(), dup: new Map<string, number>(), accepted: new Set<string>() };
        for (const { window: w } of emitted) {
          const key = `${w.machine}@${w.start}`;
          expect(w.start % W).toBe(0);
          got.good.set(key, (got.good.get(key) ?? 0) + w.sums[GOOD]!);
          got.scrap.set(key, (got.scrap.get(key) ?? 0) + w.sums[SCRAP]!);
          if (w.quality[Q_STALE]! > 0) got.stale.set(key, (got.stale.get(key) ?? 0) + w.quality[Q_STALE]!);
          if (w.quality[Q_DUP]! > 0) got.dup.set(key, (got.dup.get(key) ?? 0) + w.quality[Q_DUP]!);
          if (w.accepted > 0) got.accepted.add(key);
        }
        for (const k of e.accepted) expect(got.good.get(k) ?? 0, `good ${k}`).toBe(e.good.get(k) ?? 0);
        for (const k of got.good.keys()) expect(got.good.get(k), `good ${k}`).toBe(e.good.get(k) ?? 0);
        for (const k of new Set([...e.scrap.keys(), ...got.scrap.keys()])) expect(got.scrap.get(k) ?? 0, `scrap ${k}`).toBe(e.scrap.get(k) ?? 0);
        expect(got.stale).toEqual(e.stale);
        expect(got.dup).toEqual(e.dup);
        expect([...got.accepted].sort()).toEqual([...e.accepted].sort());

        // Conservation, stated on the generated counters alone.
        gens.forEach((g, mi) => {
          const path = `plant/l1/m${mi}`;
          const mine = ds.filter((d) => d.machine === path);
          const first = mine[0]!; // first to arrive: the baseline
          const lastTrue = g.start + g.msgs.slice(1).reduce((a, m) => a + m.inc, 0);
          let good = 0;
          let scrap = 0;
          for (const { window: w } of emitted) {
            if (w.machine !== path) continue;
            good += w.sums[GOOD]!;
            scrap += w.sums[SCRAP]!;
          }
          expect(good).toBe(lastTrue - first.trueValue);
          expect(scrap).toBe(g.msgs.reduce((a, m) => a + m.scrap, 0));
        });
      }),
      { numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Windows and revisions
// ---------------------------------------------------------------------------------------------

const M = 'plant/l1/m01';
const counterMachine: EngineMachine = { path: M, signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' }, parts_total: { kind: 'counter' } } };

describe('KpiEngine: windows', () => {
  it('a window is first due at end + allowedLateness, not 1 ms earlier', () => {
    const e = new KpiEngine(options([counterMachine]));
    e.ingest([sample(M, 'parts_good', 1, T0 + 1000)], T0 + 1500);
    expect(e.takeDue(T0 + W + L - 1)).toEqual([]);
    const due = e.takeDue(T0 + W + L);
    expect(due.map((d) => d.window.start)).toEqual([T0]);
    expect(e.openWindows()).toBe(0);
  });

  it('a late sample after takeDue lands in a new accumulator for the same window start (the revision increment)', () => {
    const e = new KpiEngine(options([counterMachine]));
    e.ingest([sample(M, 'parts_good', 100, T0 + 5000)], T0 + 6000);
    e.ingest([sample(M, 'parts_good', 110, T0 + 20_000)], T0 + 21_000);
    const first = e.takeDue(T0 + 70_000);
    expect(first).toHaveLength(1);
    expect(first[0]!.window.sums[GOOD]).toBe(10);
    expect(first[0]!.window.accepted).toBe(2);
    // Arrives 20 s after the window was emitted, with event time inside it.
    e.ingest([sample(M, 'parts_good', 114, T0 + 30_000)], T0 + 90_000);
    const second = e.takeDue(T0 + 90_000);
    expect(second).toHaveLength(1);
    expect(second[0]!.window).not.toBe(first[0]!.window);
    expect(second[0]!.window.start).toBe(T0);
    expect(second[0]!.window.sums[GOOD]).toBe(4);
    expect(second[0]!.window.accepted).toBe(1);
    const agg0 = toAggregate(first[0]!, undefined, T0 + 70_000, NO_MATERIALS)!;
    const agg1 = toAggregate(second[0]!, agg0, T0 + 90_000, NO_MATERIALS)!;
    expect(agg0.revision).toBe(0);
    expect(agg1.revision).toBe(1);
    expect(agg1.windowStart).toBe(T0);
    expect(agg1.components.parts_good).toBe(14);
    expect(agg1.kpis.parts_good).toBe(14);
  });

  it('samples land in the UTC-aligned window of their event time, whatever the arrival', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10 * W }), { minLength: 1, maxLength: 20 }), fc.integer({ min: 0, max: L }), (offsets, lag) => {
        const e = new KpiEngine(options([{ path: M, signals: { parts_scrap: { kind: 'delta' } } }]));
        const sorted = [...offsets].sort((a, b) => a - b);
        const arrival = T0 + sorted[sorted.length - 1]! + lag;
        const expected = new Map<number, number>();
        sorted.forEach((o, i) => {
          e.ingest([sample(M, 'parts_scrap', i + 1, T0 + o)], arrival);
          expected.set(ws(T0 + o), (expected.get(ws(T0 + o)) ?? 0) + i + 1);
        });
        const got = new Map(e.takeAll().map((d) => [d.window.start, d.window.sums[SCRAP]!]));
        expect(got).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Event time
// ---------------------------------------------------------------------------------------------

describe('KpiEngine: event time', () => {
  const NOW = T0 + 10 * W + 30_000;

  it('missing ts: the arrival time is the event time; nothing counted as skewed or too late', () => {
    const e = new KpiEngine(options([counterMachine]));
    e.ingest([sample(M, 'parts_good', 5, undefined)], T0 + 90_500);
    e.ingest([sample(M, 'parts_good', 8, undefined)], T0 + 150_000);
    const due = byStart(e.takeAll());
    expect(due.get(`${M}@${T0 + W}`)!.window.accepted).toBe(1);
    expect(due.get(`${M}@${T0 + 2 * W}`)!.window.sums[GOOD]).toBe(3);
    expect(e.stats.skewed + e.stats.too_late).toBe(0);
  });

  it('exactly maxFutureSkew ahead: the payload time is used', () => {
    const e = new KpiEngine(options([counterMachine]));
    e.ingest([sample(M, 'parts_good', 1, NOW + SKEW)], NOW);
    expect(e.takeAll().map((d) => d.window.start)).toEqual([ws(NOW + SKEW)]);
    expect(e.stats.skewed).toBe(0);
  });

  it('more than maxFutureSkew ahead: arrival time, counted skewed once per message (not per signal)', () => {
    const e = new KpiEngine(options([counterMachine]));
    const msg = (v: number, ts: number) => [sample(M, 'parts_good', v, ts), sample(M, 'parts_scrap', v, ts), sample(M, 'parts_total', v, ts)];
    e.ingest(msg(10, NOW + SKEW + 1), NOW);
    e.ingest(msg(13, NOW + SKEW + 2000), NOW + 1000);
    expect(e.stats.skewed).toBe(2);
    const due = e.takeAll();
    expect(due).toHaveLength(1);
    const w = due[0]!.window;
    expect(w.start).toBe(ws(NOW));
    expect(w.quality[Q_SKEWED]).toBe(2);
    expect(w.accepted).toBe(6);
    expect([w.sums[GOOD], w.sums[SCRAP], w.sums[TOTAL]]).toEqual([3, 3, 3]);
  });

  it('exactly correctionHorizon old: the payload time is used; 1 ms older: arrival time, too_late once per message', () => {
    const e = new KpiEngine(options([counterMachine]));
    e.ingest([sample(M, 'parts_good', 1, NOW - HORIZON), sample(M, 'parts_scrap', 1, NOW - HORIZON)], NOW);
    expect(e.stats.too_late).toBe(0);
    e.ingest([sample(M, 'parts_good', 4, NOW - HORIZON - 1), sample(M, 'parts_scrap', 2, NOW - HORIZON - 1)], NOW + 1000);
    expect(e.stats.too_late).toBe(1);
    const due = byStart(e.takeAll());
    expect(due.get(`${M}@${ws(NOW - HORIZON)}`)!.window.accepted).toBe(2);
    const late = due.get(`${M}@${ws(NOW)}`)!.window;
    expect(late.quality[Q_TOO_LATE]).toBe(1);
    expect([late.sums[GOOD], late.sums[SCRAP]]).toEqual([3, 1]);
  });

  it('lands at ts, or at arrival when skewed/too late, for any offset', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2 * HORIZON, max: 2 * SKEW }), fc.integer({ min: 0, max: 100 }), (offset, v) => {
        const e = new KpiEngine(options([{ path: M, signals: { parts_scrap: { kind: 'delta' } } }]));
        e.ingest([sample(M, 'parts_scrap', v, NOW + offset)], NOW);
        const eventTime = offset > SKEW || offset < -HORIZON ? NOW : NOW + offset;
        const due = e.takeAll();
        expect(due.map((d) => [d.window.start, d.window.sums[SCRAP]])).toEqual([[ws(eventTime), v]]);
        expect(e.stats.skewed).toBe(offset > SKEW ? 1 : 0);
        expect(e.stats.too_late).toBe(offset < -HORIZON ? 1 : 0);
      }),
      { numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Delta signals, rejections
// ---------------------------------------------------------------------------------------------

describe('KpiEngine: delta signals and rejections', () => {
  const deltaMachine: EngineMachine = { path: M, signals: { parts_good: { kind: 'delta' }, parts_scrap: { kind: 'delta' } } };

  it('delta signals add their values; a repeated seq is a duplicate, counted per signal', () => {
    const e = new KpiEngine(options([deltaMachine]));
    const msg = (seq: number | undefined, good: number, scrap: number) => [sample(M, 'parts_good', good, T0 + 1000, seq), sample(M, 'parts_scrap', scrap, T0 + 1000, seq)];
    e.ingest(msg(7, 3, 1), T0 + 2000);
    e.ingest(msg(7, 3, 1), T0 + 3000); // QoS 1 redelivery
    e.ingest(msg(8, 2, 0), T0 + 4000);
    e.ingest(msg(undefined, 5, 1), T0 + 5000); // no seq: never a duplicate
    e.ingest(msg(undefined, 5, 1), T0 + 6000);
    expect(e.stats.dup).toBe(2);
    const [d] = e.takeAll();
    expect([d!.window.sums[GOOD], d!.window.sums[SCRAP]]).toEqual([15, 3]);
    expect(d!.window.quality[Q_DUP]).toBe(2);
    expect(d!.window.accepted).toBe(8);
  });

  it('unknown machine: rejected as unknown_machine, nothing accepted, no window', () => {
    const e = new KpiEngine(options([deltaMachine]));
    e.ingest([sample('plant/l9/m99', 'parts_good', 3, T0), sample('plant/l9/m99', 'parts_scrap', 1, T0)], T0 + 1000);
    // Counted per sample, as quality.ts documents for every count but the event-time ones.
    expect(e.stats.rejected.get('unknown_machine')).toBe(2);
    expect(e.stats.accepted).toBe(0);
    expect(e.takeAll()).toEqual([]);
  });

  it('a string value for a summed signal is rejected (not_a_number) and leaves the counter alone', () => {
    const e = new KpiEngine(options([counterMachine]));
    e.ingest([sample(M, 'parts_good', 'lots', T0 + 1000)], T0 + 1000);
    e.ingest([sample(M, 'parts_good', Number.NaN, T0 + 2000)], T0 + 2000);
    expect(e.stats.rejected.get('not_a_number')).toBe(2);
    expect(e.stats.accepted).toBe(0);
    e.ingest([sample(M, 'parts_good', 40, T0 + 3000)], T0 + 3000); // baseline
    e.ingest([sample(M, 'parts_good', 46, T0 + 4000)], T0 + 4000);
    const [d] = e.takeAll();
    expect(d!.window.sums[GOOD]).toBe(6);
    expect(d!.window.quality[Q_REJECTED]).toBe(2);
    expect(d!.window.accepted).toBe(2);
  });

  it('a value beyond MAX_SIGNAL_VALUE is rejected (out_of_range) for counters, deltas and gauges; it neither becomes a baseline nor reaches a sum', () => {
    const machine: EngineMachine = { path: M, signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'delta' }, material_in_kg: { kind: 'gauge' } } };
    const e = new KpiEngine(options([machine]));
    // The message that made a window's total 1e+308: a finite number, far beyond any count.
    e.ingest([sample(M, 'parts_good', 1e308, T0 + 1000), sample(M, 'parts_scrap', 1e308, T0 + 1000), sample(M, 'material_in_kg', 1e308, T0 + 1000)], T0 + 1000);
    e.ingest([sample(M, 'parts_good', -1e308, T0 + 1500)], T0 + 1500);
    expect(e.stats.rejected.get('out_of_range')).toBe(4);
    expect(e.stats.accepted).toBe(0);
    e.ingest([sample(M, 'parts_good', 40, T0 + 2000)], T0 + 2000); // the baseline: the rejected reading was not one
    e.ingest([sample(M, 'parts_good', MAX_SIGNAL_VALUE + 1, T0 + 3000), sample(M, 'parts_scrap', MAX_SIGNAL_VALUE * 1.5, T0 + 3000)], T0 + 3000);
    e.ingest([sample(M, 'parts_good', 46, T0 + 4000), sample(M, 'parts_scrap', 2, T0 + 4000)], T0 + 4000);
    expect(e.stats.rejected.get('out_of_range')).toBe(6);
    const [d] = e.takeAll();
    expect(d!.window.sums[GOOD]).toBe(6);
    expect(d!.window.sums[SCRAP]).toBe(2);
    expect(d!.window.quality[Q_REJECTED]).toBe(6);
    const a = toAggregate(d!, undefined, T0 + W, NO_MATERIALS)!;
    expect(a.kpis.yield).toBeCloseTo(0.75);
  });

  it('values at the ceiling are taken, and the sums they make stay finite and exact', () => {
    const machine: EngineMachine = { path: M, signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'delta' } } };
    const e = new KpiEngine(options([machine]));
    // A counter reset to 0 and back to the ceiling again and again: each step up is a full-range increment.
    const n = 2000;
    for (let i = 0; i < n; i++) {
      const t = T0 + 1000 + i * 10;
      e.ingest([sample(M, 'parts_good', i % 2 === 0 ? 0 : MAX_SIGNAL_VALUE, t), sample(M, 'parts_scrap', MAX_SIGNAL_VALUE, t)], t);
    }
    expect(e.stats.rejected.size).toBe(0);
    const [d] = e.takeAll();
    expect(d!.window.sums[GOOD]).toBe((n / 2) * MAX_SIGNAL_VALUE);
    expect(d!.window.sums[SCRAP]).toBe(n * MAX_SIGNAL_VALUE);
    const a = toAggregate(d!, undefined, T0 + W, NO_MATERIALS)!;
    for (const v of Object.values(a.components)) expect(Number.isFinite(v)).toBe(true);
  });

  it('a NaN timestamp is rejected (invalid_timestamp): no window with a NaN start, later samples still count', () => {
    const e = new KpiEngine(options([counterMachine]));
    e.ingest([sample(M, 'parts_good', 40, T0 + 1000)], T0 + 1000); // baseline
    e.ingest([sample(M, 'parts_good', 45, Number.NaN)], T0 + 2000);
    e.ingest([sample(M, 'parts_good', 47, T0 + 3000)], T0 + 3000);
    expect(e.stats.rejected.get('invalid_timestamp')).toBe(1);
    const due = e.takeAll();
    expect(due.map((d) => d.window.start)).toEqual([T0 - (T0 % W)]);
    expect(due[0]!.window.sums[GOOD]).toBe(7);
  });

  it('a window with only rejected or stale counts is not emitted (toAggregate gives undefined)', () => {
    const e = new KpiEngine(options([counterMachine]));
    e.ingest([sample(M, 'parts_good', 100, T0 + 2 * W + 5000)], T0 + 2 * W + 5000); // baseline, window 2
    e.ingest([sample(M, 'parts_good', 90, T0 + 5000)], T0 + 2 * W + 6000); // stale, window 0
    e.reject('invalid_json', M, T0 + 3 * W + 1000); // rejected, window 3
    const due = byStart(e.takeAll());
    expect(due.size).toBe(3);
    const stale = due.get(`${M}@${T0}`)!;
    expect(stale.window.quality[Q_STALE]).toBe(1);
    expect(toAggregate(stale, undefined, T0 + 4 * W, NO_MATERIALS)).toBeUndefined();
    const rejected = due.get(`${M}@${T0 + 3 * W}`)!;
    expect(rejected.window.quality[Q_REJECTED]).toBe(1);
    expect(toAggregate(rejected, undefined, T0 + 4 * W, NO_MATERIALS)).toBeUndefined();
    const baseline = toAggregate(due.get(`${M}@${T0 + 2 * W}`)!, undefined, T0 + 4 * W, NO_MATERIALS);
    expect(baseline?.revision).toBe(0);
    expect(baseline?.components).toEqual({ parts_total: 0, parts_good: 0, parts_scrap: 0 });
  });

  it('a stale-only increment for an already emitted window keeps its values (only the quality count changes)', () => {
    const e = new KpiEngine(options([counterMachine]));
    e.ingest([sample(M, 'parts_good', 100, T0 + 1000)], T0 + 1000);
    e.ingest([sample(M, 'parts_good', 120, T0 + 50_000)], T0 + 50_000);
    const [first] = e.takeDue(T0 + W + L);
    const agg0 = toAggregate(first!, undefined, T0 + W + L, NO_MATERIALS)!;
    e.ingest([sample(M, 'parts_good', 110, T0 + 20_000)], T0 + W + L + 1); // re-sent older sample
    const [late] = e.takeDue(T0 + W + L + 1);
    const agg1 = toAggregate(late!, agg0, T0 + W + L + 1, NO_MATERIALS);
    expect(agg1?.components).toEqual(agg0.components);
    expect(agg1?.kpis).toEqual(agg0.kpis);
    expect(agg1?.quality.stale).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------------
// Snapshot and restore
// ---------------------------------------------------------------------------------------------

describe('KpiEngine: snapshot and restore', () => {
  it('a JSON round trip of the snapshot keeps counters, sequence numbers and open windows', () => {
    const machines: EngineMachine[] = [
      { path: M, signals: { parts_good: { kind: 'counter', rollover: U16 }, parts_scrap: { kind: 'delta' } } },
      { path: 'plant/l1/m02', signals: { parts_scrap: { kind: 'delta' } } }, // never sees a sample before the checkpoint
    ];
    const a = new KpiEngine(options(machines));
    a.ingest([sample(M, 'parts_good', 65530, T0 + 1000, 1), sample(M, 'parts_scrap', 2, T0 + 1000, 1)], T0 + 1000);
    a.ingest([sample(M, 'parts_good', 4, T0 + 2000, 2), sample(M, 'parts_scrap', 1, T0 + 2000, 2)], T0 + 2000);
    const b = new KpiEngine(options(machines));
    b.restore(JSON.parse(JSON.stringify(a.snapshot())) as EngineSnapshot);
    expect(b.openWindows()).toBe(1);
    b.ingest([sample(M, 'parts_good', 4, T0 + 2000, 2), sample(M, 'parts_scrap', 1, T0 + 2000, 2)], T0 + 3000); // redelivery
    b.ingest([sample(M, 'parts_good', 9, T0 + 3000, 3), sample(M, 'parts_scrap', 4, T0 + 3000, 3)], T0 + 3000);
    b.ingest([sample('plant/l1/m02', 'parts_scrap', 5, T0 + 3000, 0)], T0 + 3000);
    b.ingest([sample('plant/l1/m02', 'parts_scrap', 5, T0 + 3000, 0)], T0 + 3500); // redelivery
    const due = byStart(b.takeAll());
    const w = due.get(`${M}@${T0}`)!.window;
    expect(w.sums[GOOD]).toBe(15); // 65530 -> 4 wraps (+10), 4 -> 9 (+5)
    expect(w.sums[SCRAP]).toBe(7);
    expect(w.quality[Q_DUP]).toBe(1);
    expect(due.get(`plant/l1/m02@${T0}`)!.window.sums[SCRAP]).toBe(5);
    expect(b.stats.dup).toBe(2);
  });

  // agent/src/kpi/README.md "Signals": `material` / `product` are the machine's current context, and the
  // checkpoint is what a restart continues from. restore() brings back the product context but
  // drops a material set by a `material` signal when no product is set: after a restart the
  // windows carry the configured material again, and loss_cost / loss_co2e_kg use its factors.
  it('the current material set by a `material` signal survives snapshot/restore', () => {
    const machines: EngineMachine[] = [{ path: M, material: 'AlMg3', partMassKg: 1, signals: { parts_good: { kind: 'counter' } } }];
    const a = new KpiEngine(options(machines));
    a.ingest([sample(M, 'material', 'CuSn8', T0 + 1000)], T0 + 1000);
    const b = new KpiEngine(options(machines));
    b.restore(JSON.parse(JSON.stringify(a.snapshot())) as EngineSnapshot);
    b.ingest([sample(M, 'parts_good', 1, T0 + 2000)], T0 + 2000);
    expect(b.takeAll().map((d) => d.window.material)).toEqual(['CuSn8']);
  });

  it('the current product (part mass and material) survives snapshot/restore', () => {
    const opts: EngineOptions = {
      ...options([{ path: M, material: 'AlMg3', partMassKg: 1, signals: { parts_good: { kind: 'counter' } } }]),
      product: (n) => (n === 'bracket' ? { partMassKg: 0.25, material: 'S235' } : undefined),
    };
    const a = new KpiEngine(opts);
    a.ingest([sample(M, 'product', 'bracket', T0 + 1000)], T0 + 1000);
    const b = new KpiEngine(opts);
    b.restore(JSON.parse(JSON.stringify(a.snapshot())) as EngineSnapshot);
    b.ingest([sample(M, 'parts_good', 1, T0 + 2000)], T0 + 2000);
    const [d] = b.takeAll();
    expect([d!.window.product, d!.window.material, d!.window.partMassKg]).toEqual(['bracket', 'S235', 0.25]);
  });
});

describe('restart with a changed config', () => {
  it('a window saved with another window size keeps its own end; nothing is lost or double counted', () => {
    const before = new KpiEngine(options([counterMachine]));
    before.ingest([sample(M, 'parts_good', 100, T0 + 1000)], T0 + 1000);
    before.ingest([sample(M, 'parts_good', 130, T0 + 30_000)], T0 + 30_000);
    const snap = JSON.parse(JSON.stringify(before.snapshot())) as ReturnType<KpiEngine['snapshot']>;
    expect(snap.windowMs).toBe(W);

    const after = new KpiEngine({ ...options([counterMachine]), windowMs: 10_000 });
    after.restore(snap);
    after.ingest([sample(M, 'parts_good', 135, T0 + 75_000)], T0 + 75_000);
    const due = after.takeAll().map((d) => [d.window.start, d.window.end, d.window.sums[GOOD]]);
    expect(due).toEqual([
      [T0, T0 + W, 30],
      [T0 + 70_000, T0 + 80_000, 5],
    ]);
  });

  it('a product part mass corrected in the config applies after the restart, not the saved one', () => {
    const products: Record<string, { partMassKg: number; material: string }> = { bracket: { partMassKg: 0.5, material: 'AlMg3' } };
    const machine: EngineMachine = { ...counterMachine, product: 'bracket' };
    const opts = { ...options([machine]), product: (n: string) => products[n] };
    const before = new KpiEngine(opts);
    before.ingest([sample(M, 'parts_good', 1, T0 + 1000)], T0 + 1000);
    const snap = before.snapshot();
    products.bracket = { partMassKg: 0.55, material: 'AlMg3' };
    const after = new KpiEngine(opts);
    after.restore(snap);
    after.ingest([sample(M, 'parts_good', 2, T0 + 2 * W + 1000)], T0 + 2 * W + 1000);
    const fresh = after.takeAll().find((d) => d.window.start === T0 + 2 * W)!;
    expect(fresh.window.partMassKg).toBe(0.55);
  });
});
