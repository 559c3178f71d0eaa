import type { SimulatedMachineConfig } from './config.js';
import type { Rng } from './random.js';

/**
 * One simulated machine, as a pure function of its config, a seeded PRNG and the times it is
 * advanced to: no timers, no I/O, so a test can run eight hours in a few milliseconds and a
 * seed repeats a run exactly. See README.md in this folder for what is modelled and why.
 */

/** What the machine's PLC shows: part counters (wrapped at `rollover`, reset every `resetEvery`) and input mass. */
export interface MachineCounters {
  good: number;
  scrap: number;
  rework: number;
  /** Cumulative material input in kg since the last reset; never wraps. */
  material_in_kg: number;
  /** Scrap counter per reason code (wrapped and reset like the others); only with `scrapReasons`. */
  scrapByReason?: Record<string, number>;
  /** The reason of the latest scrap part since the last reset; only with `scrapReasons`. */
  reason?: string | undefined;
}

/** What was really produced since the simulation started, untouched by resets and rollovers: the yardstick for the agent. */
export interface MachineTruth {
  parts_good: number;
  parts_scrap: number;
  parts_rework: number;
  material_in_kg: number;
  /** Counter resets applied so far. */
  resets: number;
  /** Scrap parts per reason code; only with `scrapReasons`. */
  scrap_by_reason?: Record<string, number>;
}

/**
 * Standard deviation of the per-part material use, relative to its mean: real parts vary a
 * little (sprue, trim, bar ends), and exact masses would hide rounding bugs in the agent.
 */
export const MATERIAL_NOISE_SD = 0.01;

/**
 * Longest stretch of time produced in one `advance`; a larger jump (a suspended laptop, a virtual
 * clock set from 0 to now) counts as idle time before it, so a jump never loops over billions of parts.
 */
export const MAX_CATCH_UP_MS = 24 * 3_600_000;

/** True when `t` (epoch ms) lies in a scrap spike: spikes start at every multiple of `spike.every` since the UTC epoch, like KPI windows. */
export function spikeActive(cfg: SimulatedMachineConfig, t: number): boolean {
  if (cfg.spike === undefined) return false;
  const { every, length } = cfg.spike;
  return ((t % every) + every) % every < length;
}

/** Scrap and rework probabilities of a part made at `t`; rework is capped so that the two never exceed 1. */
export function partRates(cfg: SimulatedMachineConfig, t: number): { scrap: number; rework: number } {
  const scrap = spikeActive(cfg, t) ? cfg.spike!.scrapRate : cfg.scrapRate;
  return { scrap, rework: Math.min(cfg.reworkRate, 1 - scrap) };
}

/**
 * The machine model: parts arrive as a Poisson process at `partsPerMinute`; each part is
 * scrap, rework or good with the probabilities in force at its own time (so a spike boundary
 * inside a step is honoured); each consumes `materialPerPartKg × (1 + processLoss)` with a
 * little noise. Advance it once per publication: a reset takes effect at the start of the first
 * step that crosses a `resetEvery` boundary, so the published value after a reset holds exactly
 * the parts made since the previous publication and an agent applying the reset rule of agent/src/kpi/README.md
 * (delta = new value) loses nothing — that keeps truth comparisons exact.
 */
export class SimulatedMachine {
  /** Machine path, `site/line/machine` or `site/area/line/machine`. */
  readonly path: string;
  private t: number;
  private nextPartAt: number;
  private readonly ratePerMs: number;
  private readonly kgPerPart: number;
  // Part counters since the last reset, unwrapped; `offset` is `startAt` until the first reset.
  private offset: number;
  private good = 0;
  private scrap = 0;
  private rework = 0;
  private kg = 0;
  private readonly total: MachineTruth = { parts_good: 0, parts_scrap: 0, parts_rework: 0, material_in_kg: 0, resets: 0 };
  /** Reason codes and their cumulative weights, for drawing the reason of a scrap part. */
  private readonly reasons: { code: string; upTo: number }[] = [];
  private readonly byReason = new Map<string, number>();
  private lastReason: string | undefined;

  constructor(
    private readonly cfg: SimulatedMachineConfig,
    private readonly rng: Rng,
    start: number,
  ) {
    this.path = cfg.path;
    this.t = start;
    this.ratePerMs = cfg.partsPerMinute / 60_000;
    this.kgPerPart = cfg.materialPerPartKg * (1 + cfg.processLoss);
    this.offset = cfg.startAt;
    this.nextPartAt = start + rng.exponential(this.ratePerMs);
    if (cfg.scrapReasons !== undefined) {
      const sum = Object.values(cfg.scrapReasons).reduce((a, b) => a + b, 0);
      let upTo = 0;
      for (const [code, w] of Object.entries(cfg.scrapReasons)) {
        upTo += w / sum;
        this.reasons.push({ code, upTo });
        this.byReason.set(code, 0);
      }
      this.total.scrap_by_reason = Object.fromEntries([...this.byReason.keys()].map((c) => [c, 0]));
    }
  }

  /** Simulated time (epoch ms) the machine has been advanced to. */
  get time(): number {
    return this.t;
  }

  /** Produces every part due in (time, to]; a `to` not after `time` changes nothing (a clock stepping back never undoes parts). */
  advance(to: number): void {
    if (!(to > this.t)) return;
    const every = this.cfg.resetEvery;
    if (every !== undefined && Math.floor(to / every) > Math.floor(this.t / every)) {
      this.offset = 0;
      this.good = this.scrap = this.rework = 0;
      this.kg = 0;
      for (const code of this.byReason.keys()) this.byReason.set(code, 0);
      this.lastReason = undefined;
      this.total.resets++;
    }
    if (to - this.t > MAX_CATCH_UP_MS) {
      this.t = to - MAX_CATCH_UP_MS;
      this.nextPartAt = this.t + this.rng.exponential(this.ratePerMs);
    }
    while (this.nextPartAt <= to) {
      this.makePart(this.nextPartAt);
      this.nextPartAt += this.rng.exponential(this.ratePerMs);
    }
    this.t = to;
  }

  private makePart(at: number): void {
    const { scrap, rework } = partRates(this.cfg, at);
    const u = this.rng.next();
    if (u < scrap) {
      this.scrap++;
      this.total.parts_scrap++;
      if (this.reasons.length > 0) this.scrapReason();
    } else if (u < scrap + rework) {
      this.rework++;
      this.total.parts_rework++;
    } else {
      this.good++;
      this.total.parts_good++;
    }
    // Truncated at 3 sd so a part never consumes a negative or absurd mass.
    const z = Math.max(-3, Math.min(3, this.rng.normal()));
    const kg = this.kgPerPart * (1 + MATERIAL_NOISE_SD * z);
    this.kg += kg;
    this.total.material_in_kg += kg;
  }

  /** Draws the reason of a scrap part by the configured weights. */
  private scrapReason(): void {
    const u = this.rng.next();
    const r = this.reasons.find((x) => u < x.upTo) ?? this.reasons[this.reasons.length - 1]!;
    this.byReason.set(r.code, this.byReason.get(r.code)! + 1);
    this.total.scrap_by_reason![r.code]!++;
    this.lastReason = r.code;
  }

  /** The counter values the PLC shows now. */
  counters(): MachineCounters {
    const c: MachineCounters = {
      good: this.wrap(this.offset + this.good),
      scrap: this.wrap(this.offset + this.scrap),
      rework: this.wrap(this.offset + this.rework),
      material_in_kg: this.kg,
    };
    if (this.reasons.length > 0) {
      c.scrapByReason = Object.fromEntries([...this.byReason].map(([code, n]) => [code, this.wrap(n)]));
      c.reason = this.lastReason;
    }
    return c;
  }

  private wrap(v: number): number {
    const r = this.cfg.rollover;
    return r === undefined ? v : v % r;
  }

  /** A copy of the true totals since the simulation started. */
  truth(): MachineTruth {
    return { ...this.total, ...(this.total.scrap_by_reason ? { scrap_by_reason: { ...this.total.scrap_by_reason } } : {}) };
  }
}
