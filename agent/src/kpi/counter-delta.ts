/**
 * Counter to delta, exactly as agent/src/kpi/README.md "Counter to delta" states it. One `CounterState`
 * per (machine, signal); `counterStep` updates it in place and returns what happened, with
 * the increment in `state.delta`. No I/O, no allocation: this runs once per sample.
 */
export interface CounterState {
  /** False until the first value (or a persisted one) gave a baseline. */
  has: boolean;
  last: number;
  lastTs: number;
  /** Implausible samples in a row. */
  streak: number;
  /** Increment of the last accepted step (0 for a baseline). */
  delta: number;
  /** Highest rate (counts/s) seen over a measuring span of at least 1 s of accepted steps; 0 until one. */
  peak: number;
  /** Measuring spans with production seen (the learning period counts them). */
  spans: number;
  /** Event time the first span with production started; 0 until one. */
  learnFrom: number;
  /** Event time the current measuring span started, and the accepted increments since. */
  spanTs: number;
  spanSum: number;
}

export interface CounterLimits {
  rollover?: number | undefined;
  /** The fixed limit: hand-set, or derived from the product's cycle time; undefined: the learned limit applies once learned. */
  maxRatePerSecond?: number | undefined;
  /** Counts one step may add beyond `maxRatePerSecond × max(elapsed, 1 s)`: the parts of one cycle, which can land in any step. */
  slack?: number | undefined;
  /** Hard ceiling (counts/s) every step is held to, whatever the other limits say; undefined: none. */
  ceiling?: number | undefined;
  /** Learn the counter's peak rate and, without a fixed limit, hold it to `peak × LEARNED_FACTOR` once learned. */
  learn?: boolean | undefined;
}

export const STEP_BASELINE = 0;
export const STEP_APPLIED = 1;
export const STEP_RESET = 2;
export const STEP_ROLLOVER = 3;
export const STEP_STALE = 4;
export const STEP_IMPLAUSIBLE = 5;
export const STEP_REBASELINED = 6;
export type CounterStep = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** After this many implausible samples in a row the latest one becomes a new baseline. */
export const REBASELINE_AFTER = 3;

/**
 * The learned limit is the peak rate times this: a machine's rate swings (a faster product, a
 * batch counted at once), and a jump from another counter's value (a replayed session, a swapped
 * PLC) is thousands of times the rate, not ten.
 */
export const LEARNED_FACTOR = 10;
/** Shortest span a rate is measured over: the rate check itself never divides by less (max(elapsed, 1 s)). */
export const LEARN_SPAN_MS = 1000;
/** The learned limit applies only after this many measuring spans with production … */
export const LEARN_MIN_SPANS = 30;
/** … spread over at least this long, so that a start-up burst or a few quick readings do not set it. */
export const LEARN_MIN_MS = 600_000;

export function newCounterState(): CounterState {
  return { has: false, last: 0, lastTs: 0, streak: 0, delta: 0, peak: 0, spans: 0, learnFrom: 0, spanTs: 0, spanSum: 0 };
}

/** True once the counter has seen enough production for its learned limit to apply. */
export function isLearned(state: CounterState): boolean {
  return state.spans >= LEARN_MIN_SPANS && state.lastTs - state.learnFrom >= LEARN_MIN_MS && state.peak > 0;
}

/**
 * The rate limit (counts/s) a step of this counter is held to now: the fixed one, else the learned
 * one, each under the ceiling; Infinity when there is none.
 */
export function effectiveRate(state: CounterState, limits: CounterLimits): number {
  let rate = limits.maxRatePerSecond ?? (limits.learn === true && isLearned(state) ? state.peak * LEARNED_FACTOR : Infinity);
  if (limits.ceiling !== undefined && limits.ceiling < rate) rate = limits.ceiling;
  return rate;
}

/** True when the step's sample was accepted (it creates its window even with a zero delta). */
export function isAccepted(step: CounterStep): boolean {
  return step <= STEP_ROLLOVER || step === STEP_REBASELINED;
}

export function counterStep(state: CounterState, value: number, ts: number, limits: CounterLimits): CounterStep {
  state.delta = 0;
  if (!state.has) {
    state.has = true;
    state.last = value;
    state.lastTs = ts;
    state.streak = 0;
    state.spanTs = ts;
    state.spanSum = 0;
    return STEP_BASELINE;
  }
  if (ts < state.lastTs) return STEP_STALE;

  const prev = state.last;
  let delta: number;
  let step: CounterStep = STEP_APPLIED;
  if (value >= prev) {
    delta = value - prev;
  } else if (limits.rollover !== undefined && prev - value > limits.rollover / 2) {
    delta = limits.rollover - prev + value;
    step = STEP_ROLLOVER;
  } else {
    // A signed counter reset to a negative value made no parts since: a negative increment would take parts off the sums.
    delta = value > 0 ? value : 0;
    step = STEP_RESET;
  }

  const rate = effectiveRate(state, limits);
  if (rate !== Infinity) {
    // Compared in milliseconds: 50/s over 9.12 s is exactly 456, which (9120 / 1000) × 50 misses by a rounding error.
    const elapsedMs = ts - state.lastTs;
    const slack = rate === limits.maxRatePerSecond && limits.slack !== undefined ? limits.slack * 1000 : 0;
    if (delta * 1000 > rate * (elapsedMs > 1000 ? elapsedMs : 1000) + slack) {
      state.streak++;
      if (state.streak < REBASELINE_AFTER) return STEP_IMPLAUSIBLE;
      state.last = value;
      state.lastTs = ts;
      state.streak = 0;
      // A new baseline: the span measured so far ends at a value that no longer counts.
      state.spanTs = ts;
      state.spanSum = 0;
      return STEP_REBASELINED;
    }
  }
  state.last = value;
  state.lastTs = ts;
  state.streak = 0;
  state.delta = delta;
  if (limits.learn === true) learnRate(state, delta, ts);
  return step;
}

/**
 * Adds an accepted increment to the current measuring span and, once the span is 1 s or longer,
 * takes its rate into the peak. Spans rather than steps: a publisher that reads ten times a second
 * still gives its true rate, and one step's rate is never taken over less than the check divides by.
 */
function learnRate(state: CounterState, delta: number, ts: number): void {
  state.spanSum += delta;
  const spanMs = ts - state.spanTs;
  if (spanMs < LEARN_SPAN_MS) return;
  if (state.spanSum > 0) {
    const r = (state.spanSum * 1000) / spanMs;
    if (r > state.peak) state.peak = r;
    if (state.spans === 0) state.learnFrom = state.spanTs;
    state.spans++;
  }
  state.spanTs = ts;
  state.spanSum = 0;
}

/**
 * Recent sequence numbers of a `delta` signal, to drop redeliveries (QoS 1) as duplicates.
 * Sequence numbers above every one seen are new without a search; others are looked up in
 * a ring of the last `SEQ_MEMORY` numbers.
 */
export interface SeqState {
  max: number;
  ring: Float64Array;
  next: number;
  size: number;
}

export const SEQ_MEMORY = 256;

export function newSeqState(): SeqState {
  return { max: -Infinity, ring: new Float64Array(SEQ_MEMORY), next: 0, size: 0 };
}

/** Records `seq` and returns true when it was seen among the recent ones (a duplicate). */
export function seenSeq(s: SeqState, seq: number): boolean {
  if (seq <= s.max) {
    for (let i = 0; i < s.size; i++) if (s.ring[i] === seq) return true;
  } else {
    s.max = seq;
  }
  s.ring[s.next] = seq;
  s.next = (s.next + 1) % SEQ_MEMORY;
  if (s.size < SEQ_MEMORY) s.size++;
  return false;
}
