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
}

export interface CounterLimits {
  rollover?: number | undefined;
  maxRatePerSecond?: number | undefined;
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

export function newCounterState(): CounterState {
  return { has: false, last: 0, lastTs: 0, streak: 0, delta: 0 };
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
    delta = value;
    step = STEP_RESET;
  }

  if (limits.maxRatePerSecond !== undefined) {
    // Compared in milliseconds: 50/s over 9.12 s is exactly 456, which (9120 / 1000) × 50 misses by a rounding error.
    const elapsedMs = ts - state.lastTs;
    if (delta * 1000 > limits.maxRatePerSecond * (elapsedMs > 1000 ? elapsedMs : 1000)) {
      state.streak++;
      if (state.streak < REBASELINE_AFTER) return STEP_IMPLAUSIBLE;
      state.last = value;
      state.lastTs = ts;
      state.streak = 0;
      return STEP_REBASELINED;
    }
  }
  state.last = value;
  state.lastTs = ts;
  state.streak = 0;
  state.delta = delta;
  return step;
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
