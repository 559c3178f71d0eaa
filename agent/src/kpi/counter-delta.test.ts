/**
 * Counter to delta held to agent/src/kpi/README.md "Counter to delta". Every expected value is
 * computed here from the *true* counter the generator made up, never by calling the code twice.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  counterStep,
  isAccepted,
  newCounterState,
  newSeqState,
  REBASELINE_AFTER,
  seenSeq,
  SEQ_MEMORY,
  STEP_APPLIED,
  STEP_BASELINE,
  STEP_IMPLAUSIBLE,
  STEP_REBASELINED,
  STEP_RESET,
  STEP_ROLLOVER,
  STEP_STALE,
  type CounterLimits,
  type CounterState,
  type CounterStep,
} from './counter-delta.js';

const RUNS = 1000;
const T0 = Date.UTC(2026, 0, 1);
const U16 = 65536;
const U32 = 2 ** 32;

type Width = 'none' | 'u16' | 'u32' | 's16';

const ROLLOVER: Record<Width, number | undefined> = { none: undefined, u16: U16, u32: U32, s16: U16 };

/** What a PLC register of this width shows for the true (unbounded) count. */
function observed(trueValue: number, width: Width): number {
  switch (width) {
    case 'none':
      return trueValue;
    case 'u16':
      return trueValue % U16;
    case 'u32':
      return trueValue % U32;
    case 's16':
      return ((trueValue + 32768) % U16) - 32768;
  }
}

/** Number of times the register wrapped between two true values. */
function wraps(a: number, b: number, width: Width): number {
  const r = ROLLOVER[width];
  if (r === undefined) return 0;
  const shift = width === 's16' ? 32768 : 0;
  return Math.floor((b + shift) / r) - Math.floor((a + shift) / r);
}

function snapshotOf(s: CounterState): Omit<CounterState, 'delta'> {
  return { has: s.has, last: s.last, lastTs: s.lastTs, streak: s.streak, peak: s.peak, spans: s.spans, learnFrom: s.learnFrom, spanTs: s.spanTs, spanSum: s.spanSum };
}

/** Increment generator for a register: below rollover/2 (the spec's wrap condition), zeros and small ones frequent. */
function increment(width: Width): fc.Arbitrary<number> {
  const r = ROLLOVER[width];
  const max = r === undefined ? 1_000_000_000 : r / 2 - 1;
  return fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max }));
}

describe('counterStep: conservation (never reset, with or without rollover)', () => {
  it('sum of deltas == last true value - first true value; each wrap is a STEP_ROLLOVER', () => {
    const arb = fc
      .constantFrom<Width>('none', 'u16', 'u32', 's16')
      .chain((width) =>
        fc.record({
          width: fc.constant(width),
          start: fc.integer({ min: 0, max: 2 ** 40 }),
          steps: fc.array(fc.record({ dt: fc.integer({ min: 1, max: 120_000 }), inc: increment(width) }), { minLength: 1, maxLength: 200 }),
        }),
      );
    fc.assert(
      fc.property(arb, ({ width, start, steps }) => {
        const limits: CounterLimits = { rollover: ROLLOVER[width] };
        const st = newCounterState();
        let trueValue = start;
        let ts = T0;
        expect(counterStep(st, observed(trueValue, width), ts, limits)).toBe(STEP_BASELINE);
        expect(st.delta).toBe(0);
        let sum = 0;
        let rollovers = 0;
        let expectedRollovers = 0;
        for (const { dt, inc } of steps) {
          const before = trueValue;
          trueValue += inc;
          ts += dt;
          const step = counterStep(st, observed(trueValue, width), ts, limits);
          expect([STEP_APPLIED, STEP_ROLLOVER]).toContain(step);
          expect(st.delta).toBe(inc);
          if (step === STEP_ROLLOVER) rollovers++;
          expectedRollovers += wraps(before, trueValue, width);
          sum += st.delta;
        }
        expect(sum).toBe(trueValue - start);
        expect(rollovers).toBe(expectedRollovers);
      }),
      { numRuns: RUNS },
    );
  });

  it('a drop of exactly rollover/2 is not a wrap (the spec says the drop must exceed half): it is a reset', () => {
    const st = newCounterState();
    counterStep(st, 40000, T0, { rollover: U16 });
    // 40000 + 32768 = 72768 -> register 7232; the drop is 32768 = rollover/2, not more.
    expect(counterStep(st, 7232, T0 + 1000, { rollover: U16 })).toBe(STEP_RESET);
    expect(st.delta).toBe(7232);
    // One less (increment 32767 -> register 7231, drop 32769 > rollover/2) is a wrap.
    const st2 = newCounterState();
    counterStep(st2, 40000, T0, { rollover: U16 });
    expect(counterStep(st2, 7231, T0 + 1000, { rollover: U16 })).toBe(STEP_ROLLOVER);
    expect(st2.delta).toBe(32767);
  });
});

describe('counterStep: resets', () => {
  it('after a reset to 0 the sum of deltas equals the true production (post-reset counts from 0)', () => {
    // A segment is a run of increments; before every segment but the first the counter is reset
    // to 0. The first sample after a reset must read below the last one before it (`frac` < 1),
    // otherwise no rule can see the reset (counter rule 4 of agent/src/kpi/README.md needs `v < prev`).
    const segment = fc.record({
      frac: fc.double({ min: 0, max: 0.999, noNaN: true }),
      incs: fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 0, maxLength: 30 }),
    });
    const arb = fc.record({
      rollover: fc.constantFrom<number | undefined>(undefined, U32),
      start: fc.integer({ min: 0, max: 1_000_000 }),
      first: fc.array(fc.integer({ min: 0, max: 5000 }), { maxLength: 30 }),
      resets: fc.array(segment, { minLength: 1, maxLength: 6 }),
    });
    fc.assert(
      fc.property(arb, ({ rollover, start, first, resets }) => {
        const limits: CounterLimits = { rollover };
        const st = newCounterState();
        let ts = T0;
        let v = start;
        let production = 0;
        let sum = 0;
        let expectedResets = 0;
        let seenResets = 0;
        const feed = (value: number) => {
          ts += 1000;
          const step = counterStep(st, value, ts, limits);
          expect(isAccepted(step)).toBe(true);
          if (step === STEP_RESET) seenResets++;
          sum += st.delta;
        };
        counterStep(st, v, ts, limits);
        for (const inc of first) {
          v += inc;
          production += inc;
          feed(v);
        }
        for (const { frac, incs } of resets) {
          // Reset to 0, then the machine makes `firstCount` parts before the next sample.
          const firstCount = Math.floor(frac * v);
          if (v > 0) expectedResets++;
          v = firstCount;
          production += firstCount;
          feed(v);
          for (const inc of incs) {
            v += inc;
            production += inc;
            feed(v);
          }
        }
        expect(sum).toBe(production);
        expect(seenResets).toBe(expectedResets);
      }),
      { numRuns: RUNS },
    );
  });

  it('a drop of at most rollover/2 with rollover set is a reset, delta = new value', () => {
    const st = newCounterState();
    counterStep(st, 30000, T0, { rollover: U16 });
    expect(counterStep(st, 12, T0 + 1000, { rollover: U16 })).toBe(STEP_RESET);
    expect(st.delta).toBe(12);
    expect(st.last).toBe(12);
  });
});

describe('counterStep: duplicates and out-of-order samples', () => {
  it('re-sent older samples are STEP_STALE and change nothing; exact duplicates add 0', () => {
    // `resend[i]` after true sample i: null, or which earlier sample to re-send (0 = the current
    // one: same ts, same value), optionally with a garbage value.
    const arb = fc.record({
      start: fc.integer({ min: 0, max: 1_000_000 }),
      steps: fc.array(
        fc.record({
          dt: fc.integer({ min: 1, max: 60_000 }),
          inc: fc.integer({ min: 0, max: 10_000 }),
          resend: fc.option(fc.record({ back: fc.nat({ max: 10 }), garbage: fc.option(fc.integer({ min: -5, max: 2_000_000 })) })),
        }),
        { minLength: 1, maxLength: 100 },
      ),
    });
    fc.assert(
      fc.property(arb, ({ start, steps }) => {
        const limits: CounterLimits = { maxRatePerSecond: undefined };
        const st = newCounterState();
        const sent: { ts: number; v: number }[] = [{ ts: T0, v: start }];
        counterStep(st, start, T0, limits);
        let sum = 0;
        let stale = 0;
        let expectedStale = 0;
        for (const { dt, inc, resend } of steps) {
          const prev = sent[sent.length - 1]!;
          const cur = { ts: prev.ts + dt, v: prev.v + inc };
          sent.push(cur);
          expect(counterStep(st, cur.v, cur.ts, limits)).toBe(STEP_APPLIED);
          sum += st.delta;
          if (resend === null) continue;
          const idx = Math.max(0, sent.length - 1 - resend.back);
          const orig = sent[idx]!;
          const before = snapshotOf(st);
          if (idx === sent.length - 1) {
            // Same timestamp, same value: accepted with a zero increment.
            expect(counterStep(st, orig.v, orig.ts, limits)).toBe(STEP_APPLIED);
            expect(st.delta).toBe(0);
          } else {
            expectedStale++;
            const step = counterStep(st, resend.garbage ?? orig.v, orig.ts, limits);
            expect(step).toBe(STEP_STALE);
            stale++;
            expect(st.delta).toBe(0);
          }
          expect(snapshotOf(st)).toEqual(before);
        }
        expect(sum).toBe(sent[sent.length - 1]!.v - start);
        expect(stale).toBe(expectedStale);
      }),
      { numRuns: RUNS },
    );
  });

  it('true samples arriving out of order: a sample older than the newest accepted is stale; sum = value(newest) - value(first arrived)', () => {
    const arb = fc
      .array(fc.record({ dt: fc.integer({ min: 1, max: 10_000 }), inc: fc.integer({ min: 0, max: 100 }) }), { minLength: 1, maxLength: 60 })
      .chain((steps) => fc.tuple(fc.constant(steps), fc.shuffledSubarray(steps.map((_, i) => i), { minLength: steps.length, maxLength: steps.length })));
    fc.assert(
      fc.property(arb, ([steps, order]) => {
        let ts = T0;
        let v = 0;
        const samples = steps.map(({ dt, inc }) => {
          ts += dt;
          v += inc;
          return { ts, v };
        });
        const st = newCounterState();
        let sum = 0;
        let newestTs = -Infinity;
        for (const i of order) {
          const s = samples[i]!;
          const step = counterStep(st, s.v, s.ts, {});
          if (s.ts < newestTs) expect(step).toBe(STEP_STALE);
          else expect(step).toBe(newestTs === -Infinity ? STEP_BASELINE : STEP_APPLIED);
          newestTs = Math.max(newestTs, s.ts);
          sum += st.delta;
        }
        const newest = samples[samples.length - 1]!;
        expect(sum).toBe(newest.v - samples[order[0]!]!.v);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('counterStep: glitches with maxRatePerSecond', () => {
  type Block =
    | { kind: 'normal'; dt: number; inc: number }
    | { kind: 'spike'; count: 1 | 2; dts: number[]; mags: number[]; then: { dt: number; inc: number } }
    | { kind: 'preset'; jump: number; after: { dt: number; inc: number }[] };

  const RATE = 50; // parts per second
  // Normal samples: dt >= 1 s and inc < RATE * dt, so any run of them stays plausible as a whole.
  // Strictly below the limit: the exact limit is its own test below (it trips on float rounding).
  const normal = fc.integer({ min: 1000, max: 10_000 }).chain((dt) => fc.record({ dt: fc.constant(dt), inc: fc.integer({ min: 0, max: Math.ceil((RATE * dt) / 1000) - 1 }) }));
  // A spike reads far above anything plausible (RATE * total elapsed time < 1e8 here).
  const spikeMag = fc.integer({ min: 1e12, max: 2e12 });
  const block: fc.Arbitrary<Block> = fc.oneof(
    { weight: 6, arbitrary: normal.map((n) => ({ kind: 'normal' as const, ...n })) },
    {
      weight: 2,
      arbitrary: fc.constantFrom<1 | 2>(1, 2).chain((count) =>
        fc.record({
          kind: fc.constant('spike' as const),
          count: fc.constant(count),
          dts: fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: count, maxLength: count }),
          mags: fc.array(spikeMag, { minLength: count, maxLength: count }),
          then: normal,
        }),
      ),
    },
    {
      weight: 1,
      // The counter is preset by hand to a much higher value and counts on from there.
      arbitrary: fc.record({ kind: fc.constant('preset' as const), jump: fc.integer({ min: 1e9, max: 1e10 }), after: fc.array(normal, { minLength: REBASELINE_AFTER, maxLength: 8 }) }),
    },
  );

  it('spikes are IMPLAUSIBLE and not applied; the 3rd implausible in a row is REBASELINED; sum == (last - first) - sum of (rebaselined value - last accepted before it)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.array(block, { minLength: 1, maxLength: 40 }), (start, blocks) => {
        const limits: CounterLimits = { maxRatePerSecond: RATE };
        const st = newCounterState();
        let ts = T0;
        let trueValue = start;
        let lastAccepted = start;
        let sum = 0;
        let notCounted = 0;
        let implausible = 0;
        let rebaselined = 0;
        const feed = (value: number, expected: CounterStep) => {
          const before = snapshotOf(st);
          const step = counterStep(st, value, ts, limits);
          expect(step).toBe(expected);
          if (step === STEP_IMPLAUSIBLE) {
            implausible++;
            expect(st.delta).toBe(0);
            expect({ ...snapshotOf(st), streak: before.streak }).toEqual(before);
          }
          if (step === STEP_REBASELINED) {
            rebaselined++;
            expect(st.delta).toBe(0);
            expect(st.last).toBe(value);
            notCounted += value - lastAccepted;
          }
          if (isAccepted(step)) lastAccepted = value;
          sum += st.delta;
        };
        counterStep(st, start, ts, limits);
        let expectedImplausible = 0;
        let expectedRebaselined = 0;
        for (const b of blocks) {
          if (b.kind === 'normal') {
            ts += b.dt;
            trueValue += b.inc;
            feed(trueValue, STEP_APPLIED);
          } else if (b.kind === 'spike') {
            for (let i = 0; i < b.count; i++) {
              ts += b.dts[i]!;
              feed(trueValue + b.mags[i]!, STEP_IMPLAUSIBLE);
              expectedImplausible++;
            }
            ts += b.then.dt;
            trueValue += b.then.inc;
            feed(trueValue, STEP_APPLIED);
          } else {
            trueValue += b.jump;
            b.after.forEach(({ dt, inc }, i) => {
              ts += dt;
              trueValue += inc;
              const expected = i < REBASELINE_AFTER - 1 ? STEP_IMPLAUSIBLE : i === REBASELINE_AFTER - 1 ? STEP_REBASELINED : STEP_APPLIED;
              if (expected === STEP_IMPLAUSIBLE) expectedImplausible++;
              if (expected === STEP_REBASELINED) expectedRebaselined++;
              feed(trueValue, expected);
            });
          }
        }
        expect(implausible).toBe(expectedImplausible);
        expect(rebaselined).toBe(expectedRebaselined);
        // Every block ends with an accepted sample, so the last true value is the last accepted one.
        expect(lastAccepted).toBe(trueValue);
        expect(sum).toBe(trueValue - start - notCounted);
        // Stated independently of the code's bookkeeping: each preset loses exactly its jump plus
        // the increments of the first REBASELINE_AFTER samples after it.
        let lost = 0;
        for (const b of blocks) if (b.kind === 'preset') lost += b.jump + b.after.slice(0, REBASELINE_AFTER).reduce((a, x) => a + x.inc, 0);
        expect(notCounted).toBe(lost);
      }),
      { numRuns: RUNS },
    );
  });

  it('rate limit boundary: delta == rate x elapsed is applied, one more is implausible; elapsed below 1 s counts as 1 s', () => {
    const lim = { maxRatePerSecond: 10 };
    const a = newCounterState();
    counterStep(a, 100, T0, lim);
    expect(counterStep(a, 125, T0 + 2500, lim)).toBe(STEP_APPLIED);
    expect(a.delta).toBe(25);
    expect(counterStep(a, 151, T0 + 5000, lim)).toBe(STEP_IMPLAUSIBLE);
    expect(a.last).toBe(125);
    // 200 ms later: the limit is 10 x max(0.2, 1) = 10.
    const b = newCounterState();
    counterStep(b, 0, T0, lim);
    expect(counterStep(b, 10, T0 + 200, lim)).toBe(STEP_APPLIED);
    expect(counterStep(b, 21, T0 + 400, lim)).toBe(STEP_IMPLAUSIBLE);
  });

  // counter rule 5 of agent/src/kpi/README.md: implausible is a delta *above* rate x elapsed. 456 = 50 x 9.12 exactly,
  // but (9120 / 1000) * 50 is 455.99999999999994 in floating point, so the code calls it
  // implausible. Comparing in integer milliseconds (delta * 1000 > rate * max(ms, 1000)) is exact.
  it('a delta exactly at the limit is applied even when elapsed seconds are not exact in binary (50/s x 9.12 s = 456)', () => {
    const lim = { maxRatePerSecond: 50 };
    const st = newCounterState();
    counterStep(st, 0, T0, lim);
    expect(counterStep(st, 456, T0 + 9120, lim)).toBe(STEP_APPLIED);
    const st2 = newCounterState();
    counterStep(st2, 1000, T0, lim);
    expect(counterStep(st2, 1114, T0 + 2280, lim)).toBe(STEP_APPLIED); // 50 x 2.28 = 114
  });

  it('two implausible then a plausible sample reset the streak: no rebaseline at the next implausible one', () => {
    const lim = { maxRatePerSecond: 10 };
    const st = newCounterState();
    counterStep(st, 0, T0, lim);
    expect(counterStep(st, 1e9, T0 + 1000, lim)).toBe(STEP_IMPLAUSIBLE);
    expect(counterStep(st, 1e9, T0 + 2000, lim)).toBe(STEP_IMPLAUSIBLE);
    expect(counterStep(st, 5, T0 + 3000, lim)).toBe(STEP_APPLIED);
    expect(counterStep(st, 1e9, T0 + 4000, lim)).toBe(STEP_IMPLAUSIBLE);
    expect(counterStep(st, 1e9, T0 + 5000, lim)).toBe(STEP_IMPLAUSIBLE);
    expect(counterStep(st, 1e9, T0 + 6000, lim)).toBe(STEP_REBASELINED);
    expect(st.last).toBe(1e9);
    expect(counterStep(st, 1e9 + 7, T0 + 7000, lim)).toBe(STEP_APPLIED);
    expect(st.delta).toBe(7);
  });
});

describe('counterStep: signed 16-bit PLC counters', () => {
  it('32767 -> -32768 with rollover 65536 is a wrap of +1', () => {
    const st = newCounterState();
    counterStep(st, 32767, T0, { rollover: U16 });
    expect(counterStep(st, -32768, T0 + 1000, { rollover: U16 })).toBe(STEP_ROLLOVER);
    expect(st.delta).toBe(1);
    expect(counterStep(st, -32760, T0 + 2000, { rollover: U16 })).toBe(STEP_APPLIED);
    expect(st.delta).toBe(8);
    // Through zero from the negative side is a plain increase.
    expect(counterStep(st, -1, T0 + 3000, { rollover: U16 })).toBe(STEP_APPLIED);
    expect(counterStep(st, 3, T0 + 4000, { rollover: U16 })).toBe(STEP_APPLIED);
    expect(st.delta).toBe(4);
  });

  it('32760 -> -32760 is a wrap of 16', () => {
    const st = newCounterState();
    counterStep(st, 32760, T0, { rollover: U16 });
    expect(counterStep(st, -32760, T0 + 1000, { rollover: U16 })).toBe(STEP_ROLLOVER);
    expect(st.delta).toBe(16);
  });
});

describe('seenSeq', () => {
  it('a sequence number is a duplicate exactly when it is among the last SEQ_MEMORY recorded ones; a never-seen one never is', () => {
    const seqs = fc.array(
      fc.oneof(fc.integer({ min: 0, max: 300 }), fc.integer({ min: -5, max: 5 }), fc.integer({ min: 0, max: 1e9 })),
      { maxLength: 700 },
    );
    fc.assert(
      fc.property(seqs, (list) => {
        const s = newSeqState();
        const recorded: number[] = [];
        const ever = new Set<number>();
        for (const q of list) {
          const expected = recorded.slice(-SEQ_MEMORY).includes(q);
          const dup = seenSeq(s, q);
          expect(dup).toBe(expected);
          if (!ever.has(q)) expect(dup).toBe(false);
          ever.add(q);
          if (!dup) recorded.push(q);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('QoS 1 redelivery: the same seq twice in a row is a duplicate, a later new seq is not', () => {
    const s = newSeqState();
    expect(seenSeq(s, 7)).toBe(false);
    expect(seenSeq(s, 7)).toBe(true);
    expect(seenSeq(s, 8)).toBe(false);
    expect(seenSeq(s, 6)).toBe(false);
    expect(seenSeq(s, 6)).toBe(true);
    expect(seenSeq(s, 8)).toBe(true);
  });
});
