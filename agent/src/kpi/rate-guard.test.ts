/**
 * The rate guard of counters (agent/src/kpi/README.md, "Counter to delta", rule 5 and "Rate
 * limits"): hand-set, cycle-time and learned limits, the ceiling, and the learned peak across a
 * checkpoint.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Sample } from '../core/sample.js';
import { SIGNAL_INDEX, type SummedSignal } from '../core/signals.js';
import {
  counterStep,
  isAccepted,
  isLearned,
  LEARN_MIN_MS,
  LEARN_MIN_SPANS,
  LEARNED_FACTOR,
  newCounterState,
  STEP_APPLIED,
  STEP_IMPLAUSIBLE,
  STEP_REBASELINED,
  type CounterLimits,
} from './counter-delta.js';
import { KpiEngine, type EngineOptions, type ProductInfo } from './engine.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot.js';
import { Q_IMPLAUSIBLE, Q_REJECTED } from './quality.js';

const T0 = Date.UTC(2026, 0, 1);
const M = 'plant/l1/m1';
const GOOD = SIGNAL_INDEX.parts_good;

/** Feeds a counter that makes `perSecond` parts a second, read every `everyMs`, for `ms`; returns the last value and time. */
function run(st: ReturnType<typeof newCounterState>, limits: CounterLimits, from: { v: number; t: number }, perSecond: number, everyMs: number, ms: number): { v: number; t: number } {
  let { v, t } = from;
  for (let e = everyMs; e <= ms; e += everyMs) {
    v += (perSecond * everyMs) / 1000;
    t += everyMs;
    expect(isAccepted(counterStep(st, v, t, limits))).toBe(true);
  }
  return { v, t };
}

describe('counterStep: where the rate limit comes from', () => {
  it('a hand-set maxRatePerSecond holds as before, exactly at the limit accepted, one more implausible', () => {
    const st = newCounterState();
    const limits: CounterLimits = { maxRatePerSecond: 50, ceiling: 1000, learn: true };
    counterStep(st, 0, T0, limits);
    expect(counterStep(st, 500, T0 + 10_000, limits)).toBe(STEP_APPLIED);
    expect(counterStep(st, 1001, T0 + 20_000, limits)).toBe(STEP_IMPLAUSIBLE);
    expect(st.last).toBe(500);
  });

  it('the ceiling holds a counter that has no other limit, also before it learned anything', () => {
    const st = newCounterState();
    const limits: CounterLimits = { ceiling: 1000, learn: true };
    counterStep(st, 10, T0, limits);
    expect(counterStep(st, 10 + 10_000, T0 + 10_000, limits)).toBe(STEP_APPLIED);
    // The case: a counter that stood elsewhere, read a second later.
    expect(counterStep(st, 5_000_000, T0 + 11_000, limits)).toBe(STEP_IMPLAUSIBLE);
    expect(st.last).toBe(10_010);
  });

  it('the ceiling caps a hand-set limit above it', () => {
    const st = newCounterState();
    const limits: CounterLimits = { maxRatePerSecond: 1e6, ceiling: 1000 };
    counterStep(st, 0, T0, limits);
    expect(counterStep(st, 1001, T0 + 1000, limits)).toBe(STEP_IMPLAUSIBLE);
    expect(counterStep(st, 1000, T0 + 1000, limits)).toBe(STEP_APPLIED);
  });

  it('a cycle-time limit lets one cycle\'s parts through in any step, however short, and no more than its rate otherwise', () => {
    // 10 s cycle, 4 parts a cycle, tolerance 2: 0.8/s, and 4 parts of slack per step.
    const limits: CounterLimits = { maxRatePerSecond: 0.8, slack: 4, ceiling: 1000 };
    const st = newCounterState();
    counterStep(st, 0, T0, limits);
    expect(counterStep(st, 4, T0 + 1000, limits)).toBe(STEP_APPLIED);
    // 1 s: 0.8 + 4 = 4.8 parts at most.
    expect(counterStep(st, 9, T0 + 2000, limits)).toBe(STEP_IMPLAUSIBLE);
    // 60 s: 0.8 × 60 + 4 = 52 parts at most.
    expect(counterStep(st, 4 + 53, T0 + 61_000, limits)).toBe(STEP_IMPLAUSIBLE);
    expect(counterStep(st, 4 + 52, T0 + 61_000, limits)).toBe(STEP_APPLIED);
  });

  it('the learned limit applies only after the learning period, then at the peak rate × the factor', () => {
    const limits: CounterLimits = { ceiling: 1000, learn: true };
    const st = newCounterState();
    counterStep(st, 0, T0, limits);
    // 2 parts/s read every 5 s: 29 spans over 145 s is not yet learned.
    let at = run(st, limits, { v: 0, t: T0 }, 2, 5000, 5000 * (LEARN_MIN_SPANS - 1));
    expect(isLearned(st)).toBe(false);
    expect(st.peak).toBe(2);
    // Keep running until both 30 spans and 10 minutes are reached.
    at = run(st, limits, at, 2, 5000, LEARN_MIN_MS);
    expect(isLearned(st)).toBe(true);
    expect(st.peak).toBe(2);
    // 2/s × 10 = 20/s: 100 parts in 5 s pass, 101 are implausible.
    expect(counterStep(st, at.v + 101, at.t + 5000, limits)).toBe(STEP_IMPLAUSIBLE);
    expect(counterStep(st, at.v + 100, at.t + 5000, limits)).toBe(STEP_APPLIED);
    expect(LEARNED_FACTOR).toBe(10);
  });

  it('a publisher that reads ten times a second still learns the true rate (spans of at least 1 s)', () => {
    const limits: CounterLimits = { ceiling: 1000, learn: true };
    const st = newCounterState();
    counterStep(st, 0, T0, limits);
    run(st, limits, { v: 0, t: T0 }, 30, 100, LEARN_MIN_MS + 1000);
    expect(isLearned(st)).toBe(true);
    expect(st.peak).toBeCloseTo(30, 9);
  });

  it('an idle machine learns nothing: spans without production do not count, so it is not held to a rate of 0', () => {
    const limits: CounterLimits = { ceiling: 1000, learn: true };
    const st = newCounterState();
    counterStep(st, 7, T0, limits);
    run(st, limits, { v: 7, t: T0 }, 0, 1000, 2 * LEARN_MIN_MS);
    expect(isLearned(st)).toBe(false);
    expect(counterStep(st, 7 + 500, T0 + 2 * LEARN_MIN_MS + 1000, limits)).toBe(STEP_APPLIED);
  });

  it('three implausible readings in a row still re-baseline under a learned limit', () => {
    const limits: CounterLimits = { ceiling: 1000, learn: true };
    const st = newCounterState();
    counterStep(st, 0, T0, limits);
    const at = run(st, limits, { v: 0, t: T0 }, 1, 10_000, LEARN_MIN_MS + 10_000);
    expect(counterStep(st, 900_000, at.t + 1000, limits)).toBe(STEP_IMPLAUSIBLE);
    expect(counterStep(st, 900_001, at.t + 2000, limits)).toBe(STEP_IMPLAUSIBLE);
    expect(counterStep(st, 900_002, at.t + 3000, limits)).toBe(STEP_REBASELINED);
    expect(st.last).toBe(900_002);
    expect(st.peak).toBe(1);
  });

  it('property: whatever the limits, the accepted increments never exceed ceiling × max(elapsed, 1 s) per step', () => {
    const arb = fc.record({
      handSet: fc.option(fc.double({ min: 0.01, max: 1e7, noNaN: true })),
      ceiling: fc.double({ min: 0.1, max: 1e4, noNaN: true }),
      steps: fc.array(fc.record({ dt: fc.integer({ min: 0, max: 120_000 }), v: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 1e9 })) }), { minLength: 1, maxLength: 300 }),
    });
    fc.assert(
      fc.property(arb, ({ handSet, ceiling, steps }) => {
        const limits: CounterLimits = { maxRatePerSecond: handSet ?? undefined, ceiling, learn: true };
        const st = newCounterState();
        let t = T0;
        let v = 0;
        counterStep(st, 0, t, limits);
        let lastAccepted = t;
        let sum = 0;
        let budget = 0;
        for (const s of steps) {
          t += s.dt;
          v += s.v;
          const step = counterStep(st, v, t, limits);
          if (isAccepted(step) && step !== STEP_REBASELINED) {
            const elapsed = Math.max(t - lastAccepted, 1000);
            expect(st.delta * 1000).toBeLessThanOrEqual(ceiling * elapsed * (1 + 1e-12));
            sum += st.delta;
            budget += (ceiling * elapsed) / 1000;
          }
          if (isAccepted(step)) lastAccepted = t;
        }
        expect(sum).toBeLessThanOrEqual(budget * (1 + 1e-12));
      }),
      { numRuns: 200 },
    );
  });
});

function sample(signal: SummedSignal | 'product', value: number | string, ts: number | undefined, machine = M): Sample {
  return { machine, signal, value, ts, source: 'test' };
}

function engine(products: Record<string, ProductInfo> = {}, handSet?: number, product?: string): KpiEngine {
  const opts: EngineOptions = {
    windowMs: 60_000,
    latenessMs: 10_000,
    maxFutureSkewMs: 300_000,
    correctionHorizonMs: 86_400_000,
    machines: [{ path: M, product, signals: { parts_good: { kind: 'counter', maxRatePerSecond: handSet }, parts_scrap: { kind: 'counter' }, material_in_kg: { kind: 'counter' } } }],
    product: (name) => products[name],
    counterRateCeiling: 1000,
    learnCounterRates: true,
  };
  return new KpiEngine(opts);
}

function goodSum(e: KpiEngine): number {
  return e.takeAll().reduce((a, d) => a + d.window.sums[GOOD]!, 0);
}

describe('KpiEngine: rate limits from the config', () => {
  const PRODUCTS: Record<string, ProductInfo> = {
    slow: { partMassKg: 1, material: 'steel', cycleTimeMs: 10_000, partsPerCycle: 1 },
    fast: { partMassKg: 1, material: 'steel', cycleTimeMs: 1000, partsPerCycle: 2 },
    plain: { partMassKg: 1, material: 'steel' },
  };

  it('part counters follow the product\'s cycle time, and a product change switches the limit; other counters are not held to it', () => {
    const e = engine(PRODUCTS, undefined, 'slow');
    const now = T0 + 3_600_000;
    e.ingest([sample('parts_good', 0, T0), sample('material_in_kg', 0, T0)], now);
    // slow: 1 part / 10 s × 2 = 0.2/s + 1 part per step: 60 s allows 13.
    e.ingest([sample('parts_good', 14, T0 + 60_000), sample('material_in_kg', 500, T0 + 60_000)], now);
    expect(e.stats.implausible).toBe(1);
    e.ingest([sample('product', 'fast', T0 + 61_000)], now);
    // fast: 2 parts / 1 s × 2 = 4/s + 2: 61 s since the last accepted reading allows 246.
    e.ingest([sample('parts_good', 246, T0 + 121_000)], now);
    expect(e.stats.implausible).toBe(1);
    expect(e.rateLimits().find((l) => l.signal === 'parts_good')).toMatchObject({ source: 'cycle_time', perSecond: 4 });
    expect(e.rateLimits().find((l) => l.signal === 'material_in_kg')).toMatchObject({ source: 'learning', perSecond: 1000 });
    e.ingest([sample('product', 'plain', T0 + 122_000)], now);
    expect(e.rateLimits().find((l) => l.signal === 'parts_good')).toMatchObject({ source: 'learning', perSecond: 1000 });
  });

  it('a hand-set limit wins over the cycle time', () => {
    const e = engine(PRODUCTS, 100, 'slow');
    const now = T0 + 3_600_000;
    e.ingest([sample('parts_good', 0, T0)], now);
    e.ingest([sample('parts_good', 6000, T0 + 60_000)], now);
    expect(e.stats.implausible).toBe(0);
    expect(e.rateLimits().find((l) => l.signal === 'parts_good')).toMatchObject({ source: 'configured', perSecond: 100 });
  });

  it('the learned peak survives a checkpoint (version 4): a jump right after a restart is still caught', () => {
    const a = engine();
    let v = 0;
    let t = T0;
    a.ingest([sample('parts_good', v, t)], t);
    for (let i = 0; i < 80; i++) {
      v += 10;
      t += 10_000;
      a.ingest([sample('parts_good', v, t)], t);
    }
    expect(a.rateLimits().find((l) => l.signal === 'parts_good')).toMatchObject({ source: 'learned', perSecond: 10 });
    const text = encodeSnapshot(a.snapshot());
    expect(JSON.parse(text).version).toBe(4);
    const b = engine();
    b.restore(decodeSnapshot(text)!);
    // The windows the checkpoint carried are not what this test is about.
    b.takeAll();
    expect(b.rateLimits().find((l) => l.signal === 'parts_good')).toMatchObject({ source: 'learned', perSecond: 10 });
    // 500 parts in 10 s: below the ceiling (10,000), above the learned 100.
    b.ingest([sample('parts_good', v + 500, t + 10_000)], t + 10_000);
    expect(b.stats.implausible).toBe(1);
    expect(b.stats.byMachine.get(M)?.get('implausible')).toBe(1);
    b.ingest([sample('parts_good', v + 100, t + 10_000)], t + 10_000);
    expect(goodSum(b)).toBe(100);
  });

  it('a version 3 checkpoint restores its counters and learns afresh', () => {
    const a = engine();
    a.ingest([sample('parts_good', 5, T0)], T0);
    const old = { ...a.snapshot(), version: 3 };
    const b = engine();
    b.restore(decodeSnapshot(JSON.stringify(old))!);
    b.ingest([sample('parts_good', 8, T0 + 1000)], T0 + 1000);
    expect(goodSum(b)).toBe(3);
    expect(b.rateLimits().find((l) => l.signal === 'parts_good')).toMatchObject({ source: 'learning' });
  });
});

describe('KpiEngine: guards counted per machine and reason', () => {
  it('a signed counter reset to a negative value adds nothing (a negative increment would take parts off)', () => {
    const st = newCounterState();
    counterStep(st, 300, T0, { rollover: 65536 });
    counterStep(st, -20, T0 + 1000, { rollover: 65536 });
    expect(st.delta).toBe(0);
    expect(counterStep(st, -15, T0 + 2000, { rollover: 65536 })).toBe(STEP_APPLIED);
    expect(st.delta).toBe(5);
  });

  it('NaN, Infinity, 1e308, a negative reading, unknown machines and implausible jumps stay out of the sums and are counted by machine and reason', () => {
    const e = engine();
    const now = T0 + 1000;
    e.ingest([sample('parts_good', 100, T0)], now);
    e.ingest([sample('parts_good', Number.NaN, T0 + 100)], now);
    e.ingest([sample('parts_good', Number.POSITIVE_INFINITY, T0 + 200)], now);
    e.ingest([sample('parts_good', 1e308, T0 + 300)], now);
    e.ingest([sample('parts_good', 5_000_000, T0 + 400)], now);
    e.ingest([sample('parts_good', -40, T0 + 450)], now);
    e.ingest([sample('parts_good', 1, T0 + 500, 'other/l1/m9')], now);
    e.ingest([sample('parts_good', 101, T0 + 600)], now);
    const mine = e.stats.byMachine.get(M)!;
    expect(Object.fromEntries(mine)).toEqual({ not_a_number: 2, out_of_range: 1, implausible: 1, negative_value: 1 });
    expect(Object.fromEntries(e.stats.byMachine.get('unknown')!)).toEqual({ unknown_machine: 1 });
    const [w] = e.takeAll();
    expect(w!.window.sums[GOOD]).toBe(1);
    expect(w!.window.quality[Q_REJECTED]).toBe(4);
    expect(w!.window.quality[Q_IMPLAUSIBLE]).toBe(1);
  });
});
