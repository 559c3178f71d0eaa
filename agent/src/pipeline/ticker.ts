import type { Scheduler, TimerHandle } from '../core/clock.js';
import type { Pipeline } from './pipeline.js';

/** What the ticker reports; the wording is the agent log's (observe/agent-log.ts). */
export interface TickerEvents {
  rebaselined(machine: string): void;
  /** Samples of a machine (`unknown`: not configured) the KPI core rejected or flagged for a reason: `count` since the last report, `total` since start. */
  coreRejections(machine: string, reason: string, count: number, total: number): void;
  pruned(removed: number): void;
  tickFailed(err: unknown): void;
}

export interface TickerOptions {
  pipeline: Pipeline;
  /** Removes windows that started before the given time; returns how many. */
  prune(before: number): number;
  clock: Scheduler;
  /** How long emitted windows are kept (`store.retention`). */
  retentionMs: number;
  /** The reasons the KPI core rejects (or flags) samples for that are reported as they grow, per machine. */
  rejectReasons: readonly string[];
  events: TickerEvents;
}

/** How often due windows are looked for; a window is emitted at most this late after `end + allowedLateness`. */
export const TICK_MS = 250;
const PRUNE_EVERY_MS = 3_600_000;
/** Rejections found by the KPI core (not by a source, which reports its own) are reported at most this often per machine and reason. */
const REJECT_REPORT_EVERY_MS = 60_000;

/**
 * The agent's heartbeat: emits due windows (the pipeline's commit), prunes old windows hourly and
 * reports re-baselined counters and core rejections, off the hot path. It keeps the process alive.
 */
export class Ticker {
  private timer: TimerHandle | undefined;
  private lastPrune = 0;
  private lastRejectReport = -Infinity;
  private readonly reported = new Map<string, number>();

  constructor(private readonly o: TickerOptions) {}

  start(): void {
    this.timer ??= this.o.clock.setInterval(() => this.tick(), TICK_MS, { keepAlive: true });
  }

  stop(): void {
    this.o.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Emits due windows and prunes old ones; never throws (a failed commit is retried next tick). */
  tick(): void {
    const { pipeline, events } = this.o;
    try {
      pipeline.tick();
      for (const m of pipeline.drainRebaselined()) events.rebaselined(m);
      const now = this.o.clock.now();
      if (now - this.lastRejectReport >= REJECT_REPORT_EVERY_MS) {
        this.lastRejectReport = now;
        this.reportRejections();
      }
      if (now - this.lastPrune >= PRUNE_EVERY_MS) {
        this.lastPrune = now;
        const removed = this.o.prune(now - this.o.retentionMs);
        if (removed > 0) events.pruned(removed);
      }
    } catch (err) {
      events.tickFailed(err);
    }
  }

  /** One line per machine and reason that grew since the last report: a flood of bad samples is a line a minute, with its count. */
  private reportRejections(): void {
    for (const [machine, reasons] of this.o.pipeline.stats().ingest.byMachine) {
      for (const reason of this.o.rejectReasons) {
        const n = reasons.get(reason) ?? 0;
        // Bounded: configured machines (and `unknown`) times the fixed reasons.
        const key = `${machine} ${reason}`;
        const since = n - (this.reported.get(key) ?? 0);
        if (since <= 0) continue;
        this.reported.set(key, n);
        this.o.events.coreRejections(machine, reason, since, n);
      }
    }
  }
}
