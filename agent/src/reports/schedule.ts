import { Cron } from 'croner';
import type { Config, ReportScheduleConfig } from '../config/schema.js';
import { lastComplete, RELATIVE_PERIODS, type PeriodContext, type ReportPeriod, type ReportPeriodKind } from './period.js';
import { filePart } from './render.js';
import { parseScope } from './scope.js';
import { scopeSite } from './service.js';

/**
 * Scheduled reports, the pure part (README.md, "Schedules"): in which time zone a schedule's cron
 * runs, which of its occurrences is due at an instant, which period that occurrence reports, which
 * missed or failed periods are made again, and whether a check at that instant has anything to
 * make. Time comes in as an argument (the agent's injected clock); the timer loop, the files and
 * the store are in `wiring/report-scheduler.ts`.
 */

/** The period kind of each relative period a schedule may report. */
const PERIOD_KINDS: Readonly<Record<ReportScheduleConfig['period'], Exclude<ReportPeriodKind, 'custom'>>> = RELATIVE_PERIODS;

/**
 * Longest wait between two checks of the schedules. A timer that fires after a laptop slept or
 * the clock jumped is not trusted to be the only look: every check asks the clock what is due.
 */
export const MAX_CHECK_INTERVAL_MS = 60_000;

/** A report that failed is tried again this long after, doubling with each failure up to RETRY_MAX_MS. */
export const RETRY_MIN_MS = 60_000;
/** A report that keeps failing is tried again once an hour: a problem a person fixes is picked up soon, one that stays costs a log line an hour. */
export const RETRY_MAX_MS = 3_600_000;

/** How long after its `failures`-th failure a report is tried again. */
export function retryDelay(failures: number): number {
  return Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** Math.max(0, failures - 1));
}

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
    readonly config: Pick<ReportScheduleConfig, 'id' | 'cron' | 'period' | 'catchUp'>,
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

  /**
   * The periods a look at `t` considers, oldest first: the latest due occurrence's and, for a
   * schedule that has run before (`since`: the start of the first period it recorded, made or
   * failed), up to `catchUp` periods before it that its occurrences report and that start at or
   * after `since`. Each comes with the latest occurrence that reports it. A schedule that never ran
   * considers only its latest period, so a new schedule does not make a backlog of reports.
   */
  dueSince(t: number, since: number | undefined): DueReport[] {
    const out: DueReport[] = [];
    let due = this.dueAt(t);
    while (due !== undefined) {
      out.push(due);
      if (due.period === undefined || since === undefined || out.length > this.config.catchUp) break;
      // The latest occurrence before this period ended reports the one before it (a period no occurrence reports, like Saturday of a weekday cron, is skipped).
      const before = this.latestAt(due.period.end - 1);
      due = before === undefined ? undefined : this.dueAt(before);
      if (due?.period === undefined || due.period.start < since) break;
    }
    return out.reverse();
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

/** What is known of a schedule's report of one period: the store's record, and the failures of this run of the agent. */
export interface RunState {
  /** It was made (recorded with its files): never made again. */
  made: boolean;
  /** Attempts that failed, in every run of the agent. */
  failures: number;
  /** When it last failed in this run of the agent; undefined when it failed only before a restart, which tries it again at once. */
  failedAt: number | undefined;
  /** Why it last failed. */
  error: string | undefined;
}

/** A period whose report failed and is tried again. */
export interface FailingReport {
  period: string;
  error: string | undefined;
  failures: number;
  /** When it is tried again. */
  retryAt: number;
}

/** What a look at a schedule found. */
export interface Look {
  /** Reports to make now, oldest period first. */
  make: DueReport[];
  /** A due report whose period's last windows are not in the store yet: made at its `readyAt`, not before. */
  waiting: DueReport | undefined;
  /** When something this look left for later can be made: a period that becomes ready, a failed one's retry. */
  wakeAt: number | undefined;
  /** Periods considered whose report failed and is tried again, oldest first. */
  failing: FailingReport[];
  /** The labels of every period considered (the latest and the catch-up), oldest first. */
  periods: string[];
}

/** What a look at a schedule needs to know besides the time. */
export interface LookContext {
  /** The schedule's report of a period, as far as it is known; undefined when it was never attempted. */
  runOf(period: string): RunState | undefined;
  /** Start of the first period the schedule recorded (made or failed); undefined for a schedule that never ran. */
  since: number | undefined;
  /** The latest occurrence tried whose period could not be told (a bad scope, no shift calendar): tried again at the next occurrence, not at every look. */
  lastProblem: number | undefined;
}

/**
 * What one look at a schedule at `now` makes, oldest period first: of the periods it considers
 * (`dueSince`: the latest due one, and up to `catchUp` before it since the schedule first ran),
 * each one not made yet whose last windows are in the store (`readyAt`) and that did not fail too
 * recently (`retryDelay`: 1 min doubling to 1 h; a failure from before a restart is tried at once).
 * So a period missed while the agent was down, or whose report failed (a store that could not be
 * read, a full disk), is made at a later look, once; a period made before (an hourly cron of a
 * daily report) makes nothing; a report that keeps failing is tried about once an hour, not at
 * every look, until it falls out of the `catchUp` periods. An occurrence that comes before its
 * period's last windows are in the store (00:05 for `yesterday` with 15-minute windows) waits for
 * them: its report is made at the period's `readyAt`.
 */
export function reportsToMake(s: ReportSchedule, now: number, c: LookContext): Look {
  const look: Look = { make: [], waiting: undefined, wakeAt: undefined, failing: [], periods: [] };
  const wake = (t: number) => (look.wakeAt = Math.min(look.wakeAt ?? Infinity, t));
  for (const due of s.dueSince(now, c.since)) {
    if (due.period === undefined) {
      if (due.occurrence !== c.lastProblem) look.make.push(due);
      continue;
    }
    look.periods.push(due.period.label);
    const run = c.runOf(due.period.label);
    if (run?.made === true) continue;
    const retryAt = run === undefined || run.failures === 0 ? undefined : run.failedAt === undefined ? now : run.failedAt + retryDelay(run.failures);
    if (run !== undefined && retryAt !== undefined) look.failing.push({ period: due.period.label, error: run.error, failures: run.failures, retryAt });
    const readyAt = due.readyAt ?? now;
    if (readyAt > now) {
      look.waiting ??= due;
      wake(readyAt);
    } else if (retryAt !== undefined && retryAt > now) {
      wake(retryAt);
    } else {
      look.make.push(due);
    }
  }
  return look;
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
