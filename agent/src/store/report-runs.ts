import type Database from 'better-sqlite3';

/** One scheduled report that was made: its schedule, the period it reports, and the files it wrote. */
export interface ReportRun {
  schedule: string;
  /** The period's label (`2026-11-03`, `2026-W45`, `2026-11-03 early`). */
  period: string;
  periodStart: number;
  periodEnd: number;
  /** The schedule's occurrence (epoch ms) it was made for. */
  occurrence: number;
  /** Agent time it was recorded. */
  madeAt: number;
  /** File names in `reports.folder`. */
  files: string[];
  /** When its files were deleted (`store.retention`); undefined while they are kept. */
  prunedAt?: number | undefined;
}

interface RunRow {
  schedule: string;
  period: string;
  period_start: number;
  period_end: number;
  occurrence: number;
  made_at: number;
  files: string;
  pruned_at: number | null;
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
});

/**
 * The scheduled reports made, one row per schedule and period: what makes a schedule's report
 * exactly once per period. `record` runs inside the caller's transaction, with the report's
 * outbox records, so a report is either recorded with its deliveries or not at all.
 */
export class ReportRunTable {
  private readonly insert: Database.Statement;
  private readonly getOne: Database.Statement<[string, string], RunRow>;
  private readonly bySchedule: Database.Statement<[string], RunRow>;
  private readonly all: Database.Statement<[], RunRow>;
  private readonly selectUnpruned: Database.Statement<[number], RunRow>;
  private readonly setPruned: Database.Statement;

  constructor(db: Database.Database) {
    this.insert = db.prepare(
      'INSERT OR IGNORE INTO report_runs (schedule, period, period_start, period_end, occurrence, made_at, files) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.getOne = db.prepare('SELECT * FROM report_runs WHERE schedule = ? AND period = ?');
    this.bySchedule = db.prepare('SELECT * FROM report_runs WHERE schedule = ? ORDER BY period_start, period');
    this.all = db.prepare('SELECT * FROM report_runs ORDER BY schedule, period_start, period');
    this.selectUnpruned = db.prepare('SELECT * FROM report_runs WHERE pruned_at IS NULL AND made_at < ? ORDER BY made_at');
    this.setPruned = db.prepare('UPDATE report_runs SET pruned_at = ? WHERE schedule = ? AND period = ?');
  }

  /** Whether the schedule's report of the period was made. */
  has(schedule: string, period: string): boolean {
    return this.getOne.get(schedule, period) !== undefined;
  }

  get(schedule: string, period: string): ReportRun | undefined {
    const r = this.getOne.get(schedule, period);
    return r === undefined ? undefined : fromRow(r);
  }

  /** Records a run; false when that schedule and period was already recorded (nothing is written then). Inside the caller's transaction. */
  record(run: ReportRun): boolean {
    return this.insert.run(run.schedule, run.period, run.periodStart, run.periodEnd, run.occurrence, run.madeAt, JSON.stringify(run.files)).changes > 0;
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
