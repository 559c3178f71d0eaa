import { Cron } from 'croner';
import type { Config, ReportScheduleConfig } from '../config/schema.js';
import { lastComplete, RELATIVE_PERIODS, type PeriodContext, type ReportPeriod, type ReportPeriodKind } from './period.js';
import { filePart } from './render.js';
import { parseScope } from './scope.js';
import { scopeSite } from './service.js';

/**
 * Scheduled reports, the pure part (README.md, "Schedules"): in which time zone a schedule's cron
 * runs, which of its occurrences is due at an instant, which period that occurrence reports, and
 * whether a check at that instant has anything to make. Time comes in as an argument (the
 * agent's injected clock); the timer loop, the files and the store are in
 * `wiring/report-scheduler.ts`.
 */

/** The period kind of each relative period a schedule may report. */
const PERIOD_KINDS: Readonly<Record<ReportScheduleConfig['period'], Exclude<ReportPeriodKind, 'custom'>>> = RELATIVE_PERIODS;

/**
 * Longest wait between two checks of the schedules. A timer that fires after a laptop slept or
 * the clock jumped is not trusted to be the only look: every check asks the clock what is due.
 */
export const MAX_CHECK_INTERVAL_MS = 60_000;

/** The site time a schedule runs in, and what keeps it from being told (then its reports fail with that reason). */
export interface ScheduleSite {
  ctx: PeriodContext;
  problem: string | undefined;
}

/**
 * The time zone (and shift calendar) of a schedule's scope: `scopeSite`, which `makeReport` asks
 * too, of the configured machines it names. A scope that names nothing or spans sites in different
 * zones runs in UTC and has a problem.
 */
export function scheduleSite(cfg: Config, scope: string): ScheduleSite {
  const utc: PeriodContext = { timeZone: 'UTC', calendar: undefined };
  const parsed = parseScope(scope, { machines: cfg.machines.map((m) => m.path), materials: Object.keys(cfg.materials), products: Object.keys(cfg.products) });
  if (typeof parsed === 'string') return { ctx: utc, problem: parsed };
  const where = scopeSite(cfg, parsed.machines);
  return typeof where === 'string' ? { ctx: utc, problem: where } : { ctx: where.ctx, problem: undefined };
}

/** An occurrence of a schedule and the period it reports, or why it has none. */
export interface DueReport {
  schedule: string;
  /** The occurrence (epoch ms). */
  occurrence: number;
  /** The last whole period before the occurrence, in the site's time. */
  period: ReportPeriod | undefined;
  /**
   * When the period's last windows are in the store: its end, plus the length of the window that
   * holds its last instant (windows are aligned to UTC, periods to the site's time) and the lateness
   * that window waits for. A report made before would miss them. Undefined without a period.
   */
  readyAt: number | undefined;
  /** Why this occurrence cannot make its report (a bad scope, no shift calendar); undefined when it can. */
  problem: string | undefined;
}

/** One configured schedule: its cron in the site's time zone and the relative period it reports. */
export class ReportSchedule {
  readonly id: string;
  readonly kind: Exclude<ReportPeriodKind, 'custom'>;
  private readonly cron: Cron;

  /**
   * `settleMs`: how long after a period's end its last windows are in the store,
   * `kpi.windowSize + kpi.allowedLateness` and the ticker's delay (`periodSettleMs`).
   */
  constructor(
    readonly config: Pick<ReportScheduleConfig, 'id' | 'cron' | 'period'>,
    readonly site: ScheduleSite,
    readonly settleMs: number,
  ) {
    this.id = config.id;
    this.kind = PERIOD_KINDS[config.period];
    // Paused and without a function: croner only computes times here, it runs no timer.
    this.cron = new Cron(config.cron, { timezone: site.ctx.timeZone, paused: true });
  }

  /** The latest occurrence at or before `t` (epoch ms), or undefined when there is none. */
  latestAt(t: number): number | undefined {
    // previousRuns counts a run earlier in the reference's second, not one exactly at it.
    return this.cron.previousRuns(1, new Date(t + 1))[0]?.getTime();
  }

  /** The first occurrence after `t`, or undefined when there is none. */
  nextAfter(t: number): number | undefined {
    return this.cron.nextRun(new Date(t))?.getTime() ?? undefined;
  }

  /** The period an occurrence reports: the last whole one of the schedule's kind that ended at or before it. */
  periodAt(occurrence: number): ReportPeriod | undefined {
    return lastComplete(this.kind, this.site.ctx, occurrence);
  }

  /** The occurrence due at `t` (the latest at or before it) and its period; undefined before the first occurrence. */
  dueAt(t: number): DueReport | undefined {
    const occurrence = this.latestAt(t);
    if (occurrence === undefined) return undefined;
    const period = this.site.problem === undefined ? this.periodAt(occurrence) : undefined;
    const problem = this.site.problem ?? (period === undefined ? `there is no ${this.kind} that ended before ${new Date(occurrence).toISOString()} (sites.<site>.shiftCalendar)` : undefined);
    return { schedule: this.id, occurrence, period, readyAt: period === undefined ? undefined : period.end + this.settleMs, problem };
  }
}

/**
 * How long after a period's end its last windows are in the store: the window holding the
 * period's last instant ends at most `windowSize` after it, is emitted `allowedLateness` after its
 * end, at the ticker's next tick (`tickMs`).
 */
export function periodSettleMs(kpi: Pick<Config['kpi'], 'windowSize' | 'allowedLateness'>, tickMs: number): number {
  return kpi.windowSize + kpi.allowedLateness + tickMs;
}

/** What a check of a schedule makes now, or when it should look again because a period is not ready. */
export interface Look {
  /** The report to make now. */
  make: DueReport | undefined;
  /** A due report whose period's last windows are not in the store yet: made at its `readyAt`, not before. */
  waiting: DueReport | undefined;
}

/**
 * What one check of a schedule at `now` makes: the report of its latest due occurrence, unless that
 * occurrence was already attempted in this run of the agent (`lastAttempt`: a failed one waits for
 * the next occurrence) or its period was already made (`made`, the store's record). So a check
 * after any pause, a restart included, makes only the latest missed occurrence, once; an occurrence
 * whose period was made before (an hourly cron of a daily report) makes nothing. An occurrence that
 * comes before its period's last windows are in the store (00:05 for `yesterday` with 15-minute
 * windows) waits for them: its report is made at the period's `readyAt`.
 */
export function reportToMake(s: ReportSchedule, now: number, made: (schedule: string, period: string) => boolean, lastAttempt: number | undefined): Look {
  const due = s.dueAt(now);
  const none: Look = { make: undefined, waiting: undefined };
  if (due === undefined || due.occurrence === lastAttempt) return none;
  if (due.period !== undefined && made(s.id, due.period.label)) return none;
  if (due.readyAt !== undefined && due.readyAt > now) return { make: undefined, waiting: due };
  return { make: due, waiting: undefined };
}

/**
 * How long until the schedules should be looked at again: their next occurrence, or `until` (a
 * period that becomes ready), at most MAX_CHECK_INTERVAL_MS away.
 */
export function nextCheckIn(schedules: readonly ReportSchedule[], now: number, until?: number): number {
  let wait = until === undefined ? MAX_CHECK_INTERVAL_MS : Math.min(MAX_CHECK_INTERVAL_MS, Math.max(0, until - now));
  for (const s of schedules) {
    const next = s.nextAfter(now);
    if (next !== undefined) wait = Math.min(wait, Math.max(0, next - now));
  }
  return wait;
}

const part = filePart;

/** The file of a scheduled report: `yieldwatch-<schedule>-<scope>-<period>.<format>`, e.g. `yieldwatch-daily-site_demo-2026-11-03.pdf`. */
export function scheduledReportFile(schedule: string, scope: string, period: string, format: string): string {
  return `yieldwatch-${part(schedule)}-${part(scope)}-${part(period)}.${format}`;
}
