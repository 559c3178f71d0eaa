import type { Sample } from '../core/sample.js';
import { UNKNOWN_MACHINE, type CounterRateLimit, type IngestStats, type RateLimitSource } from '../core/stats.js';
import { SIGNAL_INDEX, SUMMED_SIGNALS, isSummedSignal, type SignalKind, type SummedSignal } from '../core/signals.js';
import {
  counterStep,
  effectiveRate,
  isAccepted,
  isLearned,
  newCounterState,
  newSeqState,
  seenSeq,
  STEP_IMPLAUSIBLE,
  STEP_REBASELINED,
  STEP_RESET,
  STEP_ROLLOVER,
  STEP_STALE,
  type CounterLimits,
  type CounterState,
  type SeqState,
} from './counter-delta.js';
import { classifyEventTime, EVENT_TIME_SKEWED, EVENT_TIME_TOO_LATE, type EventTimeLimits } from './event-time.js';
import { Q_DUP, Q_IMPLAUSIBLE, Q_REBASELINED, Q_REJECTED, Q_SKEWED, Q_STALE, Q_TOO_LATE } from './quality.js';
import { addToBreakdowns, mergeBreakdowns } from './breakdowns.js';
import { MANUAL_DESTINATION_DIMENSION, MANUAL_REASON_DIMENSION } from './derive.js';
import { SNAPSHOT_VERSION, type EngineSnapshot, type SignalSnapshot } from './snapshot.js';
import { newWindow, windowStart, type WindowAcc } from './windows.js';

/** What the engine needs to know of one machine. */
export interface EngineMachine {
  path: string;
  signals: Partial<Record<SummedSignal, { kind: SignalKind } & CounterLimits>>;
  product?: string | undefined;
  material?: string | undefined;
  partMassKg?: number | undefined;
  /** The scrap reason codes of the machine's site; undefined: any code is taken as it comes. */
  scrapReasons?: ReadonlySet<string> | undefined;
}

export type { EngineSnapshot };

/** The dimension scrap reasons are recorded under in a window's breakdowns. */
export const REASON_DIMENSION = 'reason';

export interface EngineOptions extends EventTimeLimits {
  windowMs: number;
  latenessMs: number;
  machines: readonly EngineMachine[];
  /** Resolves a product name to its part mass, material and ideal cycle; undefined for an unknown product. */
  product?: (name: string) => ProductInfo | undefined;
  /** Hard ceiling (counts/s) on every counter's rate (`kpi.counterRateCeiling`); undefined: none. */
  counterRateCeiling?: number | undefined;
  /** Learn each counter's peak rate and hold counters without a fixed limit to it once learned. */
  learnCounterRates?: boolean | undefined;
}

/** What the engine needs of a product. */
export interface ProductInfo {
  partMassKg: number;
  material: string;
  /** Ideal cycle time in ms; with it, part counters get a fixed rate limit (agent/src/kpi/README.md, "Counter to delta"). */
  cycleTimeMs?: number | undefined;
  /** Parts one cycle makes (a multi-cavity mould); default 1. */
  partsPerCycle?: number | undefined;
}

/**
 * A part counter's limit from the product's ideal cycle time is this many times the ideal rate.
 * The ideal cycle is the fastest the machine runs (ISO 22400), so the rate never truly exceeds it;
 * the factor absorbs what lies between the machine and the agent: readings whose timestamps are
 * taken late then early (elapsed looks shorter than it was), and counters that count a part at
 * another point of the cycle than the ideal time assumes. A jump from another counter's value is
 * far beyond twice.
 */
export const CYCLE_TIME_TOLERANCE = 2;

/** The rate limit (counts/s) of a part counter from a product's ideal cycle, or undefined when the product has none. */
export function cycleTimeRate(p: ProductInfo | undefined): number | undefined {
  if (p?.cycleTimeMs === undefined || !(p.cycleTimeMs > 0)) return undefined;
  return (((p.partsPerCycle ?? 1) * 1000) / p.cycleTimeMs) * CYCLE_TIME_TOLERANCE;
}

const PART_COUNTERS: ReadonlySet<string> = new Set(['parts_total', 'parts_good', 'parts_scrap', 'parts_rework']);


/** Reasons the engine itself rejects a sample for (counted per sample; sources count per message). */
export const ENGINE_REJECT_REASONS = [
  'unknown_machine',
  'invalid_timestamp',
  'unmapped_signal',
  'not_a_number',
  'out_of_range',
  'negative_delta',
  'negative_value',
  'not_a_string',
  'unknown_product',
  'unknown_reason',
  'too_many_reasons',
] as const;

/**
 * Data-quality flags that keep a value (or a timestamp) out of the KPIs and are reported like
 * rejections, per machine: a jump above the rate limit, a timestamp too far ahead or too old.
 */
export const ENGINE_FLAG_REASONS = ['implausible', 'skewed', 'too_late'] as const;

/**
 * The largest magnitude a signal value or a recorded amount may have (parts or kg; agent/src/kpi/README.md,
 * "Counter to delta"). `1e308` is a finite number, and one such value made a window's sum overflow to
 * Infinity. No machine counts 10^12 parts or kg (100 parts a second for 300 years), so a value
 * beyond is a broken encoder or a hostile message; and as each increment is then at most 2 × 10^12,
 * a window's sum stays finite (and exact below 2^53) however many arrive.
 */
export const MAX_SIGNAL_VALUE = 1e12;

const SCRAP = SIGNAL_INDEX.parts_scrap;
/** Reason counters one machine may have: codes that come and go must not grow memory without bound. */
const MAX_REASON_COUNTERS = 256;

const KIND_COUNTER = 0;
const KIND_DELTA = 1;
const KIND_GAUGE = 2;

interface SignalRuntime {
  kind: 0 | 1 | 2;
  /** Shared by a machine's scrap reason counters with its `parts_scrap`; updated in place when the product changes. */
  limits: CounterLimits;
  /** The hand-set `maxRatePerSecond`, which wins over one from the product's cycle time. */
  handSet: number | undefined;
  /** A part counter: its limit follows the product's cycle time. */
  parts: boolean;
  counter: CounterState;
  seq: SeqState | undefined;
}

interface MachineRuntime {
  path: string;
  signals: (SignalRuntime | undefined)[];
  /** Indexes (into SUMMED_SIGNALS) of the signals this machine measures, ascending. */
  measured: number[];
  product: string | undefined;
  material: string | undefined;
  partMassKg: number | undefined;
  windows: Map<number, WindowAcc>;
  /** The window the last sample landed in: most samples land in the same one. */
  last: WindowAcc | undefined;
  /** Told every accepted increment (the fast alert rule); undefined for most machines. */
  observer: IncrementObserver | undefined;
  /** The reason in force: the last `scrap_reason` value; scrap that has no reason of its own is attributed to it. */
  reason: string | undefined;
  /** Counter state of each reason whose scrap comes as its own counter or events (samples with a `reason`). */
  reasonCounters: Map<string, SignalRuntime> | undefined;
  scrapReasons: ReadonlySet<string> | undefined;
  /** Rejections and data-quality flags by reason (the same map as in `stats.byMachine`). */
  guards: Map<string, number>;
}

/** Receives one machine's accepted increments as they are applied (synchronous, no I/O). */
export interface IncrementObserver {
  add(signalIndex: number, delta: number, t: number): void;
}

/** An amount recorded by dimension beside a machine's signals (agent/src/kpi/README.md, "Dimensions"). */
export interface BreakdownEntry {
  machine: string;
  /** Event time, epoch ms; undefined: the time of arrival. */
  ts: number | undefined;
  /** What the window is broken down by: `reason`, `destination`, … */
  dimension: string;
  /** The key within the dimension: a reason code, a destination, … */
  key: string;
  /** What is summed: `parts_scrap`, `scrap_kg`, `seconds`, … */
  measure: string;
  amount: number;
}

/** Counters since start, for metrics and replay stats (core/stats.ts). */
export type EngineStats = IngestStats;

/** A window handed out for emission, with what its machine measures. */
export interface DueWindow {
  window: WindowAcc;
  measured: readonly number[];
}

const KINDS: Record<SignalKind, 0 | 1 | 2> = { counter: KIND_COUNTER, delta: KIND_DELTA, gauge: KIND_GAUGE };

/**
 * The synchronous KPI core: event time, counter to delta and windows (agent/src/kpi/README.md).
 * No I/O and no timers: the caller passes the agent's time and commits what `takeDue` hands out.
 */
export class KpiEngine {
  readonly stats: EngineStats = {
    samples: 0,
    accepted: 0,
    baselines: 0,
    resets: 0,
    rollovers: 0,
    stale: 0,
    implausible: 0,
    rebaselined: 0,
    dup: 0,
    skewed: 0,
    too_late: 0,
    rejected: new Map(),
    byMachine: new Map(),
  };
  /** Machines whose counters were re-baselined since the last call of `drainRebaselined`. */
  private rebaselinedMachines: string[] = [];
  private readonly machines = new Map<string, MachineRuntime>();
  private readonly windowMs: number;
  private readonly latenessMs: number;
  private readonly limits: EventTimeLimits;
  /** Earliest time any open window becomes due; lets `takeDue` return at once most of the time. */
  private nextDue = Infinity;

  constructor(private readonly opts: EngineOptions) {
    this.windowMs = opts.windowMs;
    this.latenessMs = opts.latenessMs;
    this.limits = { maxFutureSkewMs: opts.maxFutureSkewMs, correctionHorizonMs: opts.correctionHorizonMs };
    for (const m of opts.machines) this.machines.set(m.path, this.runtimeFor(m));
  }

  private runtimeFor(m: EngineMachine): MachineRuntime {
    const signals: (SignalRuntime | undefined)[] = new Array(SUMMED_SIGNALS.length).fill(undefined);
    const measured: number[] = [];
    SUMMED_SIGNALS.forEach((name, i) => {
      const s = m.signals[name];
      if (!s) return;
      const kind = KINDS[s.kind];
      signals[i] = {
        kind,
        limits: { rollover: s.rollover, maxRatePerSecond: s.maxRatePerSecond, ceiling: this.opts.counterRateCeiling, learn: this.opts.learnCounterRates },
        handSet: s.maxRatePerSecond,
        parts: PART_COUNTERS.has(name),
        counter: newCounterState(),
        seq: kind === KIND_DELTA ? newSeqState() : undefined,
      };
      if (kind !== KIND_GAUGE) measured.push(i);
    });
    let { partMassKg, material } = m;
    let product: ProductInfo | undefined;
    if (m.product !== undefined) {
      product = this.opts.product?.(m.product);
      if (product) ({ partMassKg, material } = product);
    }
    setCycleLimits(signals, product);
    const guards = new Map<string, number>();
    this.stats.byMachine.set(m.path, guards);
    return {
      path: m.path,
      signals,
      measured,
      product: m.product,
      material,
      partMassKg,
      windows: new Map(),
      last: undefined,
      observer: undefined,
      reason: undefined,
      reasonCounters: undefined,
      scrapReasons: m.scrapReasons,
      guards,
    };
  }

  /** Counts a rejection or a data-quality flag for the machine (or the `unknown` bucket). */
  private guard(m: MachineRuntime | undefined, reason: string): void {
    let map = m?.guards;
    if (map === undefined) {
      map = this.stats.byMachine.get(UNKNOWN_MACHINE);
      if (map === undefined) this.stats.byMachine.set(UNKNOWN_MACHINE, (map = new Map()));
    }
    map.set(reason, (map.get(reason) ?? 0) + 1);
  }

  /**
   * Where each counter's rate limit comes from now, by machine and signal: for the status, off the
   * hot path. Scrap reason counters are not listed: they share the fixed limit of their
   * `parts_scrap` and each learns its own rate.
   */
  rateLimits(): CounterRateLimit[] {
    const out: CounterRateLimit[] = [];
    for (const m of this.machines.values()) {
      m.signals.forEach((sig, i) => {
        if (sig === undefined || sig.kind !== KIND_COUNTER) return;
        const rate = effectiveRate(sig.counter, sig.limits);
        const ceiling = sig.limits.ceiling;
        const fixed = sig.limits.maxRatePerSecond;
        let source: RateLimitSource;
        if (fixed !== undefined) source = ceiling !== undefined && ceiling < fixed ? 'ceiling' : sig.handSet !== undefined ? 'configured' : 'cycle_time';
        else if (sig.limits.learn !== true) source = ceiling !== undefined ? 'ceiling' : 'none';
        // While learning, the ceiling alone holds the counter (perSecond says which).
        else if (!isLearned(sig.counter)) source = 'learning';
        else source = ceiling !== undefined && rate === ceiling ? 'ceiling' : 'learned';
        out.push({ machine: m.path, signal: SUMMED_SIGNALS[i]!, source, perSecond: rate === Infinity ? null : rate, peak: sig.counter.peak });
      });
    }
    return out;
  }

  /**
   * The counter of one scrap reason, made on its first sample with the kind and limits of the
   * machine's `parts_scrap`; undefined when the machine already has as many as it may.
   */
  private reasonCounter(m: MachineRuntime, scrap: SignalRuntime, reason: string): SignalRuntime | undefined {
    const counters = (m.reasonCounters ??= new Map());
    let sig = counters.get(reason);
    if (sig === undefined) {
      if (counters.size >= MAX_REASON_COUNTERS) return undefined;
      sig = { kind: scrap.kind, limits: scrap.limits, handSet: scrap.handSet, parts: true, counter: newCounterState(), seq: scrap.kind === KIND_DELTA ? newSeqState() : undefined };
      counters.set(reason, sig);
    }
    return sig;
  }

  /** The reason scrap is attributed to, or undefined (unassigned) when there is none or the site does not know it (counted). */
  private knownReason(m: MachineRuntime, reason: string | undefined): string | undefined {
    if (reason === undefined || m.scrapReasons === undefined || m.scrapReasons.has(reason)) return reason;
    this.stats.rejected.set('unknown_reason', (this.stats.rejected.get('unknown_reason') ?? 0) + 1);
    return undefined;
  }

  /** True when `path` is a configured machine. */
  hasMachine(path: string): boolean {
    return this.machines.has(path);
  }

  /** Tells `observer` every increment accepted for `path` from now on. */
  observe(path: string, observer: IncrementObserver): void {
    const m = this.machines.get(path);
    if (m !== undefined) m.observer = observer;
  }

  /** Counts a rejected input (a payload that could not become samples) by reason, and in the machine's window when known. */
  reject(reason: string, machine: string | undefined, now: number): void {
    this.stats.rejected.set(reason, (this.stats.rejected.get(reason) ?? 0) + 1);
    const m = machine === undefined ? undefined : this.machines.get(machine);
    this.guard(m, reason);
    if (m) this.windowFor(m, now).quality[Q_REJECTED]!++;
  }

  /**
   * Ingests a batch of samples that arrived at `now` (the agent clock). Samples of one
   * message share machine and timestamp; the event-time verdict is counted once for them.
   */
  ingest(samples: readonly Sample[], now: number): void {
    // Machine lookup and event time are worked out once per message (a run of samples with the
    // same machine and timestamp), not once per sample.
    let prevMachine: string | undefined;
    let prevTs: number | undefined = NaN;
    let m: MachineRuntime | undefined;
    let t = 0;
    let ok = false;
    for (let i = 0; i < samples.length; i++) {
      const s = samples[i]!;
      this.stats.samples++;
      if (s.machine !== prevMachine || s.ts !== prevTs) {
        prevMachine = s.machine;
        prevTs = s.ts;
        ok = false;
        m = this.machines.get(s.machine);
        if (m === undefined) {
          this.reject('unknown_machine', undefined, now);
          continue;
        }
        if (s.ts !== undefined && !Number.isFinite(s.ts)) {
          // A NaN or infinite time would open a window that never becomes due.
          this.reject('invalid_timestamp', m.path, now);
          continue;
        }
        t = this.eventTime(m, s.ts, now);
        ok = true;
      } else if (!ok) {
        // The rest of a rejected message: each of its samples is counted like the first.
        this.reject(m === undefined ? 'unknown_machine' : 'invalid_timestamp', m?.path, now);
        continue;
      }
      this.apply(m!, s, t, now);
    }
  }

  /**
   * The time a message counts at: its own, or its arrival time when it has none or is too far in
   * the future or past (counted in the window it lands in, once per message).
   */
  private eventTime(m: MachineRuntime, ts: number | undefined, now: number): number {
    const verdict = classifyEventTime(ts, now, this.limits);
    const t = verdict === 0 ? (ts as number) : now;
    if (verdict === EVENT_TIME_SKEWED) {
      this.stats.skewed++;
      this.guard(m, 'skewed');
      this.windowFor(m, t).quality[Q_SKEWED]!++;
    } else if (verdict === EVENT_TIME_TOO_LATE) {
      this.stats.too_late++;
      this.guard(m, 'too_late');
      this.windowFor(m, t).quality[Q_TOO_LATE]!++;
    }
    return t;
  }

  /**
   * Adds an amount by dimension to the window its event time falls in, under the event-time rules
   * of samples, and counts it as an accepted input. A machine that is not configured, a time or an
   * amount that is not a finite number, an amount above `MAX_SIGNAL_VALUE`, or a negative amount is a
   * counted rejection (false).
   */
  recordBreakdown(e: BreakdownEntry, now: number): boolean {
    // Scrap by reason is the engine's own, kept equal to the scrap it counts; recorded amounts go under another dimension.
    if (e.dimension === REASON_DIMENSION) throw new Error(`the "${REASON_DIMENSION}" dimension is recorded from scrap samples only`);
    if (e.dimension === MANUAL_REASON_DIMENSION || e.dimension === MANUAL_DESTINATION_DIMENSION) throw new Error(`the "${e.dimension}" dimension holds manual entries, summed at emission`);
    this.stats.samples++;
    const m = this.machines.get(e.machine);
    if (m === undefined) {
      this.reject('unknown_machine', undefined, now);
      return false;
    }
    if (e.ts !== undefined && !Number.isFinite(e.ts)) {
      this.reject('invalid_timestamp', m.path, now);
      return false;
    }
    if (typeof e.amount !== 'number' || !Number.isFinite(e.amount)) {
      this.reject('not_a_number', m.path, now);
      return false;
    }
    if (e.amount > MAX_SIGNAL_VALUE) {
      this.reject('out_of_range', m.path, now);
      return false;
    }
    if (e.amount < 0) {
      this.reject('negative_delta', m.path, now);
      return false;
    }
    const w = this.windowFor(m, this.eventTime(m, e.ts, now));
    w.breakdowns = addToBreakdowns(w.breakdowns, e.dimension, e.key, e.measure, e.amount);
    w.accepted++;
    this.stats.accepted++;
    return true;
  }

  private apply(m: MachineRuntime, s: Sample, t: number, now: number): void {
    const name = s.signal;
    if (!isSummedSignal(name)) {
      this.applyContext(m, name, s.value, now);
      return;
    }
    const idx = SIGNAL_INDEX[name];
    let sig = m.signals[idx];
    if (sig === undefined) {
      this.reject('unmapped_signal', m.path, now);
      return;
    }
    const v = s.value;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.reject('not_a_number', m.path, now);
      return;
    }
    // Before any state changes: an absurd reading must not become a counter's baseline either.
    if (v > MAX_SIGNAL_VALUE || v < -MAX_SIGNAL_VALUE) {
      this.reject('out_of_range', m.path, now);
      return;
    }
    // Scrap goes to its own reason (each reason its own counter), else to the reason in force, else it is unassigned.
    let reason: string | undefined;
    if (idx === SCRAP) {
      if (s.reason !== undefined) {
        const own = this.reasonCounter(m, sig, s.reason);
        if (own === undefined) {
          this.reject('too_many_reasons', m.path, now);
          return;
        }
        sig = own;
      }
      reason = s.reason ?? m.reason;
    }
    if (sig.kind === KIND_COUNTER) {
      // Only a signed PLC counter (one with a rollover) reads below 0; for any other a negative reading is a broken encoder, not a reset.
      if (v < 0 && sig.limits.rollover === undefined) {
        this.reject('negative_value', m.path, now);
        return;
      }
      const step = counterStep(sig.counter, v, t, sig.limits);
      const w = this.windowFor(m, t);
      if (isAccepted(step)) {
        this.stats.accepted++;
        w.accepted++;
        const delta = sig.counter.delta;
        w.sums[idx]! += delta;
        if (delta > 0) {
          if (m.observer !== undefined) m.observer.add(idx, delta, t);
          if (reason !== undefined) this.attribute(m, w, reason, delta);
        }
        if (step === STEP_RESET) this.stats.resets++;
        else if (step === STEP_ROLLOVER) this.stats.rollovers++;
        else if (step === STEP_REBASELINED) {
          this.stats.rebaselined++;
          this.guard(m, 'rebaselined');
          w.quality[Q_REBASELINED]!++;
          this.rebaselinedMachines.push(m.path);
        } else if (step === 0) this.stats.baselines++;
      } else if (step === STEP_STALE) {
        this.stats.stale++;
        this.guard(m, 'stale');
        w.quality[Q_STALE]!++;
      } else if (step === STEP_IMPLAUSIBLE) {
        this.stats.implausible++;
        this.guard(m, 'implausible');
        w.quality[Q_IMPLAUSIBLE]!++;
      }
      return;
    }
    const w = this.windowFor(m, t);
    if (sig.kind === KIND_DELTA) {
      if (v < 0) {
        this.reject('negative_delta', m.path, now);
        return;
      }
      if (s.seq !== undefined && seenSeq(sig.seq!, s.seq)) {
        this.stats.dup++;
        this.guard(m, 'dup');
        w.quality[Q_DUP]!++;
        return;
      }
      w.sums[idx]! += v;
      if (v > 0) {
        if (m.observer !== undefined) m.observer.add(idx, v, t);
        if (reason !== undefined) this.attribute(m, w, reason, v);
      }
    }
    this.stats.accepted++;
    w.accepted++;
  }

  /** Records scrap parts under their reason; scrap of a reason the site does not know stays unassigned. */
  private attribute(m: MachineRuntime, w: WindowAcc, reason: string, parts: number): void {
    const known = this.knownReason(m, reason);
    if (known !== undefined) w.breakdowns = addToBreakdowns(w.breakdowns, REASON_DIMENSION, known, 'parts_scrap', parts);
  }

  private applyContext(m: MachineRuntime, name: string, value: number | string, now: number): void {
    if (name === 'scrap_reason') {
      // PLCs often write reason codes as numbers, and an empty reason (or none) when no reason is in force.
      if (typeof value === 'number' ? !Number.isFinite(value) : typeof value !== 'string') {
        this.reject('not_a_string', m.path, now);
        return;
      }
      m.reason = value === '' ? undefined : String(value);
      this.stats.accepted++;
      return;
    }
    if (typeof value !== 'string' || value.length === 0) {
      this.reject('not_a_string', m.path, now);
      return;
    }
    if (name === 'product') {
      const p = this.opts.product?.(value);
      if (!p) {
        this.reject('unknown_product', m.path, now);
        return;
      }
      m.product = value;
      m.partMassKg = p.partMassKg;
      m.material = p.material;
      setCycleLimits(m.signals, p);
    } else if (name === 'material') {
      m.material = value;
    }
    this.stats.accepted++;
  }

  private windowFor(m: MachineRuntime, t: number): WindowAcc {
    const last = m.last;
    if (last !== undefined && t >= last.start && t < last.end) return last;
    const start = windowStart(t, this.windowMs);
    let w = m.windows.get(start);
    if (w === undefined) {
      w = newWindow(m.path, start, start + this.windowMs, m);
      m.windows.set(start, w);
      const due = w.end + this.latenessMs;
      if (due < this.nextDue) this.nextDue = due;
    }
    m.last = w;
    return w;
  }

  /** Start of the window that holds event time `t`. */
  windowStartOf(t: number): number {
    return windowStart(t, this.windowMs);
  }

  /**
   * True when a window of the machine that holds instant `t` is open here, or is not due yet and
   * is opened now (empty): its first emission is still to come. False when that window was
   * already handed out (emitted, or due) and for a machine that is not configured.
   */
  holdOpen(machine: string, t: number, now: number): boolean {
    const m = this.machines.get(machine);
    if (m === undefined) return false;
    // A window restored from a checkpoint written with another window size keeps its own bounds.
    for (const w of m.windows.values()) if (t >= w.start && t < w.end) return true;
    const start = windowStart(t, this.windowMs);
    if (start + this.windowMs + this.latenessMs <= now) return false;
    m.windows.set(start, newWindow(m.path, start, start + this.windowMs, m));
    this.nextDue = Math.min(this.nextDue, start + this.windowMs + this.latenessMs);
    return true;
  }

  /**
   * A window of a machine with nothing in it, outside the engine, with the machine's current
   * product, material and part mass; `end` defaults to the configured window size. `signals`: with the machine's signals at 0 (a window that
   * holds only manual scrap: the machine counted nothing in it); without, the revision of a stored
   * window adds no machine count, not even a 0 for a signal the stored window did not have.
   * Undefined for a machine that is not configured.
   */
  emptyWindow(machine: string, start: number, end: number | undefined, signals: boolean): DueWindow | undefined {
    const m = this.machines.get(machine);
    if (m === undefined) return undefined;
    return { window: newWindow(m.path, start, end ?? start + this.windowMs, m), measured: signals ? m.measured : [] };
  }

  /** Removes and returns the windows due for emission at `now` (end + allowed lateness reached). */
  takeDue(now: number): DueWindow[] {
    if (now < this.nextDue) return [];
    return this.take((w) => w.end + this.latenessMs <= now);
  }

  /** Removes and returns every open window (shutdown, end of replay). */
  takeAll(): DueWindow[] {
    return this.take(() => true);
  }

  private take(pred: (w: WindowAcc) => boolean): DueWindow[] {
    const out: DueWindow[] = [];
    let next = Infinity;
    for (const m of this.machines.values()) {
      for (const [start, w] of m.windows) {
        if (!pred(w)) {
          next = Math.min(next, w.end + this.latenessMs);
          continue;
        }
        m.windows.delete(start);
        if (m.last === w) m.last = undefined;
        out.push({ window: w, measured: m.measured });
      }
    }
    this.nextDue = next;
    return out;
  }

  /** Puts windows back after their commit failed, merging with what arrived meanwhile. */
  putBack(due: readonly DueWindow[]): void {
    for (const { window: w } of due) {
      const m = this.machines.get(w.machine);
      if (!m) continue;
      const cur = m.windows.get(w.start);
      this.nextDue = Math.min(this.nextDue, w.end + this.latenessMs);
      if (!cur) {
        m.windows.set(w.start, w);
        continue;
      }
      for (let i = 0; i < w.sums.length; i++) cur.sums[i]! += w.sums[i]!;
      for (let i = 0; i < w.quality.length; i++) cur.quality[i]! += w.quality[i]!;
      cur.breakdowns = mergeBreakdowns(cur.breakdowns, w.breakdowns);
      cur.accepted += w.accepted;
    }
  }

  /** Machines re-baselined since the last call (for a log line per event, off the hot path). */
  drainRebaselined(): string[] {
    const out = this.rebaselinedMachines;
    this.rebaselinedMachines = [];
    return out;
  }

  snapshot(): EngineSnapshot {
    const snap: EngineSnapshot = { version: SNAPSHOT_VERSION, windowMs: this.windowMs, machines: {}, windows: [] };
    for (const m of this.machines.values()) {
      const signals: Record<string, SignalSnapshot> = {};
      m.signals.forEach((sig, i) => {
        if (sig) signals[SUMMED_SIGNALS[i]!] = signalSnapshot(sig);
      });
      snap.machines[m.path] = {
        product: m.product,
        material: m.material,
        partMassKg: m.partMassKg,
        signals,
        ...(m.reason !== undefined ? { reason: m.reason } : {}),
        ...(m.reasonCounters !== undefined ? { reasonCounters: Object.fromEntries([...m.reasonCounters].map(([code, sig]) => [code, signalSnapshot(sig)])) } : {}),
      };
      for (const w of m.windows.values()) {
        snap.windows.push({
          machine: w.machine,
          start: w.start,
          end: w.end,
          sums: Array.from(w.sums),
          ...(w.breakdowns !== undefined ? { breakdowns: w.breakdowns } : {}),
          quality: Array.from(w.quality),
          accepted: w.accepted,
          product: w.product,
          material: w.material,
          partMassKg: w.partMassKg,
        });
      }
    }
    return snap;
  }

  /** Restores a snapshot; state of machines or signals no longer configured (or of another kind) is dropped. */
  restore(snap: EngineSnapshot): void {
    if (snap.version !== SNAPSHOT_VERSION) return;
    for (const [path, ms] of Object.entries(snap.machines)) {
      const m = this.machines.get(path);
      if (!m) continue;
      const product = ms.product === undefined ? undefined : this.opts.product?.(ms.product);
      if (product) {
        // Part mass and material come from today's config: a corrected part mass applies at once.
        m.product = ms.product;
        m.partMassKg = product.partMassKg;
        m.material = product.material;
        setCycleLimits(m.signals, product);
      } else if (ms.material !== undefined) {
        // Set by a `material` signal: the machine keeps running on it after a restart.
        m.material = ms.material;
      }
      for (const [name, st] of Object.entries(ms.signals)) {
        if (!isSummedSignal(name)) continue;
        const sig = m.signals[SIGNAL_INDEX[name]];
        if (sig) restoreSignal(sig, st);
      }
      m.reason = ms.reason ?? undefined;
      const scrap = m.signals[SCRAP];
      if (scrap !== undefined && ms.reasonCounters !== undefined) {
        for (const [code, st] of Object.entries(ms.reasonCounters)) {
          const sig = this.reasonCounter(m, scrap, code);
          if (sig !== undefined) restoreSignal(sig, st);
        }
      }
    }
    for (const sw of snap.windows) {
      const m = this.machines.get(sw.machine);
      if (!m || !Number.isFinite(sw.start)) continue;
      const end = Number.isFinite(sw.end) ? sw.end! : sw.start + (snap.windowMs ?? this.windowMs);
      const w = newWindow(sw.machine, sw.start, end, { product: sw.product, material: sw.material, partMassKg: sw.partMassKg });
      w.sums.set(sw.sums.slice(0, w.sums.length));
      w.quality.set(sw.quality.slice(0, w.quality.length));
      w.breakdowns = mergeBreakdowns(undefined, sw.breakdowns);
      w.accepted = sw.accepted;
      m.windows.set(w.start, w);
      this.nextDue = Math.min(this.nextDue, w.end + this.latenessMs);
    }
  }

  /** Number of open windows (for metrics). */
  openWindows(): number {
    let n = 0;
    for (const m of this.machines.values()) n += m.windows.size;
    return n;
  }
}

/** Part counters without a hand-set limit take the one of the product's ideal cycle, or none (then the learned one applies). */
function setCycleLimits(signals: readonly (SignalRuntime | undefined)[], product: ProductInfo | undefined): void {
  const rate = cycleTimeRate(product);
  for (const sig of signals) {
    if (sig === undefined || !sig.parts || sig.handSet !== undefined) continue;
    sig.limits.maxRatePerSecond = rate;
    // One cycle's parts can land within any step, however short: a 10 s cycle's part read 1 s after the last one.
    sig.limits.slack = rate === undefined ? undefined : (product!.partsPerCycle ?? 1);
  }
}

function signalSnapshot(sig: SignalRuntime): SignalSnapshot {
  const c = sig.counter;
  return {
    kind: (['counter', 'delta', 'gauge'] as const)[sig.kind],
    has: c.has,
    last: c.last,
    lastTs: c.lastTs,
    streak: c.streak,
    ...(c.spans > 0 ? { rate: { peak: c.peak, spans: c.spans, from: c.learnFrom } } : {}),
    ...(sig.seq ? { seq: { max: sig.seq.max, ring: Array.from(sig.seq.ring.subarray(0, sig.seq.size)), next: sig.seq.next, size: sig.seq.size } } : {}),
  };
}

/** Takes a saved signal state, unless the signal changed kind since (then it starts afresh). */
function restoreSignal(sig: SignalRuntime, st: SignalSnapshot): void {
  if (KINDS[st.kind] !== sig.kind) return;
  // A checkpoint before version 4 has no learned rate: the counter learns afresh (the ceiling holds meanwhile).
  const r = st.rate;
  const ok = r !== undefined && Number.isFinite(r.peak) && r.peak >= 0 && Number.isFinite(r.spans) && Number.isFinite(r.from);
  Object.assign(sig.counter, {
    has: st.has,
    last: st.last,
    lastTs: st.lastTs,
    streak: st.streak,
    delta: 0,
    peak: ok ? r.peak : 0,
    spans: ok ? r.spans : 0,
    learnFrom: ok ? r.from : 0,
    spanTs: st.lastTs,
    spanSum: 0,
  });
  if (sig.seq && st.seq) {
    // -Infinity (nothing seen yet) is written as null by JSON.
    sig.seq.max = st.seq.max ?? -Infinity;
    sig.seq.ring.set(st.seq.ring);
    sig.seq.next = st.seq.next;
    sig.seq.size = st.seq.size;
  }
}
