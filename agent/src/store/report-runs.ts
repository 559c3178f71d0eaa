import type Database from 'better-sqlite3';

/** One scheduled report, made or failed: its schedule, the period it reports, and the files it wrote. */
export interface ReportRun {
  schedule: string;
  /** The period's label (`2026-11-03`, `2026-W45`, `2026-11-03 early`). */
  period: string;
  periodStart: number;
  periodEnd: number;
  /** The schedule's occurrence (epoch ms) it was made for. */
  occurrence: number;
  /** Agent time it was made; for one that failed, when it last failed. */
  madeAt: number;
  /** File names in `reports.folder`; for one that failed, those it could not remove again (normally none), so that pruning deletes them. */
  files: string[];
  /** When its files were deleted (`store.retention`); undefined while they are kept. */
  prunedAt?: number | undefined;
  /** `made`, or `failed` while no attempt has made it (it is tried again while within the schedule's `catchUp`). */
  status: 'made' | 'failed';
  /** Attempts so far: those that failed, and the one that made it. */
  attempts: number;
  /** Why the last attempt failed, while it is `failed`. */
  error?: string | undefined;
}

/** What an attempt records: the run without what the table keeps itself. */
export type ReportAttempt = Omit<ReportRun, 'prunedAt' | 'status' | 'attempts' | 'error'>;

interface RunRow {
  schedule: string;
  period: string;
  period_start: number;
  period_end: number;
  occurrence: number;
  made_at: number;
  files: string;
  pruned_at: number | null;
  status: string;
  attempts: number;
  error: string | null;
}

const fromRow = (r: RunRow): ReportRun => ({
  schedule: r.schedule,
  period: r.period,
  periodStart: r.period_start,
  periodEnd: r.period_end,
  occurrence: r.occurrence,
  madeAt: r.made_at,
  files: JSON.parse(r.files) as string[],
  prunedAt: r.pruned_at ?? undefined,
  status: r.status === 'failed' ? 'failed' : 'made',
  attempts: r.attempts,
  error: r.error ?? undefined,
});

/** The files of an attempt and those an earlier failed one left, once each. */
const allFiles = (earlier: ReportRun | undefined, files: readonly string[]): string => JSON.stringify([...new Set([...(earlier?.files ?? []), ...files])]);

/**
 * The scheduled reports, one row per schedule and period: made (what makes a schedule's report
 * exactly once per period) or failed (what the scheduler tries again, with the error and the
 * number of attempts). `record` runs inside the caller's transaction, with the report's outbox
 * records, so a report is either recorded with its deliveries or not at all. A failed row becomes
 * made when an attempt succeeds; a made row never changes but for its pruning.
 */
export class ReportRunTable {
  private readonly insert: Database.Statement;
  private readonly insertFailure: Database.Statement;
  private readonly firstStart: Database.Statement<[string], { t: number | null }>;
  private readonly getOne: Database.Statement<[string, string], RunRow>;
  private readonly bySchedule: Database.Statement<[string], RunRow>;
  private readonly all: Database.Statement<[], RunRow>;
  private readonly selectUnpruned: Database.Statement<[number], RunRow>;
  private readonly setPruned: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare(`
      INSERT INTO report_runs (schedule, period, period_start, period_end, occurrence, made_at, files, status, attempts, error) VALUES (?, ?, ?, ?, ?, ?, ?, 'made', 1, NULL)
      ON CONFLICT (schedule, period) DO UPDATE SET
        period_start = excluded.period_start, period_end = excluded.period_end, occurrence = excluded.occurrence, made_at = excluded.made_at,
        files = excluded.files, status = 'made', attempts = report_runs.attempts + 1, error = NULL, pruned_at = NULL
      WHERE report_runs.status = 'failed'`);
    this.insertFailure = db.prepare(`
      INSERT INTO report_runs (schedule, period, period_start, period_end, occurrence, made_at, files, status, attempts, error) VALUES (?, ?, ?, ?, ?, ?, ?, 'failed', 1, ?)
      ON CONFLICT (schedule, period) DO UPDATE SET
        occurrence = excluded.occurrence, made_at = excluded.made_at, files = excluded.files, attempts = report_runs.attempts + 1, error = excluded.error, pruned_at = NULL
      WHERE report_runs.status = 'failed'`);
    this.firstStart = db.prepare('SELECT MIN(period_start) AS t FROM report_runs WHERE schedule = ?');
    this.getOne = db.prepare('SELECT * FROM report_runs WHERE schedule = ? AND period = ?');
    this.bySchedule = db.prepare('SELECT * FROM report_runs WHERE schedule = ? ORDER BY period_start, period');
    this.all = db.prepare('SELECT * FROM report_runs ORDER BY schedule, period_start, period');
    this.selectUnpruned = db.prepare('SELECT * FROM report_runs WHERE pruned_at IS NULL AND made_at < ? ORDER BY made_at');
    this.setPruned = db.prepare('UPDATE report_runs SET pruned_at = ? WHERE schedule = ? AND period = ?');
  }

  /** Whether the schedule's report of the period was made. */
  has(schedule: string, period: string): boolean {
    return this.getOne.get(schedule, period)?.status === 'made';
  }

  get(schedule: string, period: string): ReportRun | undefined {
    const r = this.getOne.get(schedule, period);
    return r === undefined ? undefined : fromRow(r);
  }

  /** Records a report made; false when that schedule and period was already made (nothing is written then). Inside the caller's transaction. */
  record(run: ReportAttempt): boolean {
    const earlier = this.get(run.schedule, run.period);
    return this.insert.run(run.schedule, run.period, run.periodStart, run.periodEnd, run.occurrence, run.madeAt, allFiles(earlier, run.files)).changes > 0;
  }

  /** Records a failed attempt with its error and the files it left (`madeAt`: when it failed); nothing when the period was made meanwhile. */
  recordFailure(run: ReportAttempt & { error: string }): void {
    const earlier = this.get(run.schedule, run.period);
    this.insertFailure.run(run.schedule, run.period, run.periodStart, run.periodEnd, run.occurrence, run.madeAt, allFiles(earlier, run.files), run.error);
  }

  /** Start of the first period the schedule recorded, made or failed: how far back it catches up. */
  firstPeriodStart(schedule: string): number | undefined {
    return this.firstStart.get(schedule)?.t ?? undefined;
  }

  /** Runs made before `before` whose files are still kept. */
  unpruned(before: number): ReportRun[] {
    return this.selectUnpruned.all(before).map(fromRow);
  }

  /** Notes that a run's files were deleted; the run stays recorded, so its period is not made again. */
  markPruned(schedule: string, period: string, at: number): void {
    this.setPruned.run(at, schedule, period);
  }

  /** The runs of one schedule (or of all), oldest period first. */
  list(schedule?: string): ReportRun[] {
    return (schedule === undefined ? this.all.all() : this.bySchedule.all(schedule)).map(fromRow);
  }
}
