import Database from 'better-sqlite3';
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Aggregate, AggregateKpis } from '../core/aggregate.js';
import { YieldwatchError } from '../core/errors.js';
import { MIGRATIONS } from './migrations.js';
import { AlertTable } from './alerts.js';
import { EntryTable } from './entries.js';
import { ReportRunTable } from './report-runs.js';
import { whereOf } from './where.js';
import { Outbox } from './outbox.js';
import { createPrivateFile, makePrivateDir } from './private-files.js';
import { integrityProblem, salvage, type RecoveryReport } from './recover.js';

export interface StoreOptions {
  /** File path, or `:memory:` for replay and tests. */
  path: string;
  synchronous?: 'full' | 'normal';
  /**
   * Open the store of an agent that may be running, as a second process (`yieldwatch backfill`):
   * the file must exist, its schema must be this version's (it is not migrated under the agent),
   * and the start-up check and salvage are left to the agent that owns the file.
   */
  secondary?: boolean;
  /**
   * Open as a second process that only reads (`yieldwatch report`): as `secondary`, and SQLite
   * refuses every write, so a reader beside the agent can never change its store.
   */
  readOnly?: boolean;
}

export interface AggregateQuery {
  machine?: string | undefined;
  /** Inclusive lower bound on window start, epoch ms. */
  from?: number | undefined;
  /** Exclusive upper bound on window start, epoch ms. */
  to?: number | undefined;
  limit?: number | undefined;
}

interface AggregateRow {
  machine: string;
  window_start: number;
  window_end: number;
  revision: number;
  product: string | null;
  material: string | null;
  part_mass_kg: number | null;
  components: string;
  /** JSON of the window's breakdowns; NULL when it has none (and for every window stored before they existed). */
  breakdowns: string | null;
  /** JSON of the scrap split derived at emission; NULL when the window measures no scrap (and for windows stored before it existed). */
  split: string | null;
  quality: string;
  kpis: string;
  method: string;
  first_emitted_at: number;
  emitted_at: number;
}


/** The levels of stored sums for rollups: UTC hours, days of the machine's site, and its site's shifts. */
export type RollupLevel = 'hour' | 'day' | 'shift';

const LEVEL_TABLES: Record<RollupLevel, { table: string; start: string; end: string; from: string }> = {
  hour: { table: 'rollup_hours', start: 'hour_start', end: 'hour_start + 3600000', from: 'rollup_hours_from' },
  day: { table: 'rollup_days', start: 'day_start', end: 'day_end', from: 'rollup_days_from' },
  shift: { table: 'rollup_shifts', start: 'shift_start', end: 'shift_end', from: 'rollup_shifts_from' },
};

/** One stored sum of a machine's windows over an hour or a site day; `data` is the KPI core's (kpi/partials.ts). */
export interface StoredSums {
  machine: string;
  start: number;
  end: number;
  material: string | undefined;
  product: string | undefined;
  data: string;
}

/** The SELECT of a window query, in window start then machine order. */
function aggregateSql(q: Omit<AggregateQuery, 'limit'>, columns = '*'): { sql: string; args: (string | number)[] } {
  const w = whereOf({ equal: { machine: q.machine }, time: { column: 'window_start', from: q.from, to: q.to } });
  return { sql: `SELECT ${columns} FROM aggregates ${w.sql} ORDER BY window_start, machine`, args: w.args };
}

/** The columns of `AggregateKpis`: what sums of windows read. */
const KPI_COLUMNS = 'machine, window_start, window_end, material, product, kpis, quality, split';
type AggregateKpisRow = Pick<AggregateRow, 'machine' | 'window_start' | 'window_end' | 'material' | 'product' | 'kpis' | 'quality' | 'split'>;

function fromRow(r: AggregateRow): Aggregate {
  return {
    machine: r.machine,
    windowStart: r.window_start,
    windowEnd: r.window_end,
    revision: r.revision,
    product: r.product ?? undefined,
    material: r.material ?? undefined,
    partMassKg: r.part_mass_kg ?? undefined,
    components: JSON.parse(r.components),
    ...(r.breakdowns !== null ? { breakdowns: JSON.parse(r.breakdowns) } : {}),
    ...(r.split !== null ? { split: JSON.parse(r.split) } : {}),
    quality: JSON.parse(r.quality),
    kpis: JSON.parse(r.kpis),
    method: r.method,
    emittedAt: r.emitted_at,
  };
}

/** Applies the migrations this version knows; refuses a store written by a newer one. */
function migrate(db: Database.Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new YieldwatchError(
      'YW_ERR_STORE_VERSION',
      `The local store at ${path} has schema version ${version}, newer than this yieldwatch knows (${MIGRATIONS.length}); upgrade yieldwatch or use another data folder.`,
    );
  }
  for (let v = version; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      const m = MIGRATIONS[v]!;
      if (typeof m === 'string') db.exec(m);
      else m(db);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

/** A store opened as a second process must already have this version's schema: migrating it under a running agent is not safe. */
function sameVersion(db: Database.Database, path: string): void {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > MIGRATIONS.length) {
    throw new YieldwatchError('YW_ERR_STORE_VERSION', `The local store at ${path} has schema version ${version}, newer than this yieldwatch knows (${MIGRATIONS.length}); use the yieldwatch the agent runs.`);
  }
  if (version < MIGRATIONS.length) {
    throw new YieldwatchError(
      'YW_ERR_STORE_OPEN',
      `The local store at ${path} has schema version ${version}, older than this yieldwatch's (${MIGRATIONS.length}); start the agent of this version once (it migrates the store), or use the yieldwatch the agent runs.`,
    );
  }
}

/**
 * What is wrong with the store file at `path`, or undefined when it is sound or does not exist
 * yet. Opening runs SQLite's own WAL recovery first (a torn tail is dropped there), then a
 * quick_check reads every page once.
 */
function damage(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    return integrityProblem(db);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    // Only damage is salvaged; a locked or unreadable file is an error for a person to look at.
    if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') return (err as Error).message;
    throw err;
  } finally {
    db?.close();
  }
}

/**
 * The agent's local store (SQLite, WAL): aggregates with revisions, the engine checkpoint,
 * rejection counts and the outbox of every sink. It is the only writer of the database; every write is synchronous, so a
 * caller's "commit" is one transaction.
 */
export class Store {
  private readonly db: Database.Database;
  private readonly getAgg: Database.Statement<[string, number], AggregateRow>;
  private readonly upsertAgg: Database.Statement;
  private readonly getHolding: Database.Statement;
  private readonly putCheckpoint: Database.Statement;
  private readonly putSourceState: Database.Statement;
  private readonly putPart: Database.Statement;
  private readonly dropPart: Database.Statement;
  private readonly rollupStatements: Record<RollupLevel, { get: Database.Statement; put: Database.Statement }>;
  private readonly addRejection: Database.Statement;
  readonly path: string;
  /** Records waiting for each sink; appended inside the same transactions as the aggregates. */
  readonly outbox: Outbox;
  /** Alerts and their audit trail; written inside the same transactions as the windows. */
  readonly alerts: AlertTable;
  /** Manual scrap entries with every version; written inside the same transactions as the windows they revise. */
  readonly entries: EntryTable;
  /** Scheduled reports made, one per schedule and period; recorded in the same transactions as their outbox records. */
  readonly reportRuns: ReportRunTable;

  /** Set when the file was damaged at open and a fresh one was made from its intact prefix. */
  readonly recovery: RecoveryReport | undefined;

  constructor(opts: StoreOptions) {
    this.path = opts.path;
    const secondary = opts.secondary === true || opts.readOnly === true;
    try {
      if (secondary) {
        this.db = new Database(opts.path, { fileMustExist: true, readonly: opts.readOnly === true });
      } else {
        if (opts.path !== ':memory:') makePrivateDir(dirname(opts.path));
        const problem = opts.path === ':memory:' ? undefined : damage(opts.path);
        if (problem !== undefined) {
          this.recovery = salvage(opts.path, problem, (db) => migrate(db, opts.path));
        }
        if (opts.path !== ':memory:') createPrivateFile(opts.path);
        this.db = new Database(opts.path);
      }
      // First: a second process waits for the other's write lock instead of failing at once.
      this.db.pragma('busy_timeout = 5000');
      // The journal mode is the file's, set by its owner; a reader could not set it anyway.
      if (opts.readOnly !== true) this.db.pragma('journal_mode = WAL');
      this.db.pragma(`synchronous = ${opts.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
      if (secondary) sameVersion(this.db, opts.path);
      else migrate(this.db, opts.path);
    } catch (err) {
      if (err instanceof YieldwatchError) throw err;
      throw new YieldwatchError('YW_ERR_STORE_OPEN', `Cannot open the local store at ${opts.path}: ${(err as Error).message}`, { cause: err });
    }
    this.outbox = new Outbox(this.db);
    this.alerts = new AlertTable(this.db);
    this.entries = new EntryTable(this.db);
    this.reportRuns = new ReportRunTable(this.db);
    this.getAgg = this.db.prepare('SELECT * FROM aggregates WHERE machine = ? AND window_start = ?');
    this.getHolding = this.db.prepare('SELECT * FROM aggregates WHERE machine = ? AND window_start <= ? ORDER BY window_start DESC LIMIT 1');
    this.upsertAgg = this.db.prepare(`
      INSERT INTO aggregates (machine, window_start, window_end, revision, product, material, part_mass_kg, components, breakdowns, split, quality, kpis, method, first_emitted_at, emitted_at)
      VALUES (@machine, @window_start, @window_end, @revision, @product, @material, @part_mass_kg, @components, @breakdowns, @split, @quality, @kpis, @method, @emitted_at, @emitted_at)
      ON CONFLICT (machine, window_start) DO UPDATE SET
        revision = excluded.revision, components = excluded.components, breakdowns = excluded.breakdowns, split = excluded.split, quality = excluded.quality,
        kpis = excluded.kpis, method = excluded.method, emitted_at = excluded.emitted_at`);
    this.putCheckpoint = this.db.prepare('INSERT OR REPLACE INTO checkpoint (id, saved_at, state) VALUES (1, ?, ?)');
    this.putSourceState = this.db.prepare('INSERT OR REPLACE INTO source_state (key, saved_at, state) VALUES (?, ?, ?)');
    this.putPart = this.db.prepare('INSERT OR REPLACE INTO checkpoint_parts (key, state) VALUES (?, ?)');
    this.dropPart = this.db.prepare('DELETE FROM checkpoint_parts WHERE key = ?');
    this.rollupStatements = {
      hour: {
        get: this.db.prepare('SELECT data FROM rollup_hours WHERE machine = ? AND hour_start = ? AND material = ? AND product = ?'),
        put: this.db.prepare('INSERT OR REPLACE INTO rollup_hours (machine, hour_start, material, product, data) VALUES (?, ?, ?, ?, ?)'),
      },
      day: {
        get: this.db.prepare('SELECT data FROM rollup_days WHERE machine = ? AND day_start = ? AND material = ? AND product = ?'),
        put: this.db.prepare('INSERT OR REPLACE INTO rollup_days (machine, day_start, day_end, material, product, data) VALUES (?, ?, ?, ?, ?, ?)'),
      },
      shift: {
        get: this.db.prepare('SELECT data FROM rollup_shifts WHERE machine = ? AND shift_start = ? AND material = ? AND product = ?'),
        put: this.db.prepare('INSERT OR REPLACE INTO rollup_shifts (machine, shift_start, shift_end, material, product, data) VALUES (?, ?, ?, ?, ?, ?)'),
      },
    };
    this.addRejection = this.db.prepare(
      'INSERT INTO rejections (hour, reason, count) VALUES (?, ?, ?) ON CONFLICT (hour, reason) DO UPDATE SET count = count + excluded.count',
    );
  }

  /**
   * Runs `fn` in one transaction: all of its writes commit together or not at all. It takes the
   * write lock first (BEGIN IMMEDIATE): a transaction that read first could not take it once
   * another process (`yieldwatch backfill`) wrote meanwhile, and would fail without waiting.
   */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }

  getAggregate(machine: string, windowStart: number): Aggregate | undefined {
    const r = this.getAgg.get(machine, windowStart);
    return r ? fromRow(r) : undefined;
  }

  /** The stored window of a machine that holds instant `t` (the latest that starts at or before it, if it has not ended), or undefined. */
  aggregateHolding(machine: string, t: number): Aggregate | undefined {
    const r = this.getHolding.get(machine, t) as AggregateRow | undefined;
    return r !== undefined && r.window_end > t ? fromRow(r) : undefined;
  }

  putAggregate(a: Aggregate): void {
    this.upsertAgg.run({
      machine: a.machine,
      window_start: a.windowStart,
      window_end: a.windowEnd,
      revision: a.revision,
      product: a.product ?? null,
      material: a.material ?? null,
      part_mass_kg: a.partMassKg ?? null,
      components: JSON.stringify(a.components),
      breakdowns: a.breakdowns === undefined ? null : JSON.stringify(a.breakdowns),
      split: a.split === undefined ? null : JSON.stringify(a.split),
      quality: JSON.stringify(a.quality),
      kpis: JSON.stringify(a.kpis),
      method: a.method,
      emitted_at: a.emittedAt,
    });
  }

  /** Saves the engine's checkpoint; its text is the KPI core's format (kpi/snapshot.ts), opaque here. Inside the commit's transaction. */
  saveCheckpoint(now: number, state: string): void {
    this.putCheckpoint.run(now, state);
  }

  /** Saves a source's state under `key` (core/commit-gate.ts); inside the commit's transaction. */
  saveSourceState(key: string, now: number, state: string): void {
    this.putSourceState.run(key, now, state);
  }

  /** Every source state as the last commit saved it, by key. */
  loadSourceStates(): Map<string, string> {
    const rows = this.db.prepare('SELECT key, state FROM source_state').all() as { key: string; state: string }[];
    return new Map(rows.map((r) => [r.key, r.state]));
  }

  /** Saves one part of the checkpoint (opaque here too); inside the commit's transaction. */
  putCheckpointPart(key: string, state: string): void {
    this.putPart.run(key, state);
  }

  /** Removes one part of the checkpoint; inside the commit's transaction. */
  dropCheckpointPart(key: string): void {
    this.dropPart.run(key);
  }

  /** Forgets the checkpoint: the next start takes every counter's first value as its baseline. */
  dropCheckpoint(): void {
    this.db.exec('DELETE FROM checkpoint; DELETE FROM checkpoint_parts');
  }

  /** The last checkpoint saved, as saved (its header and its parts by key), or undefined for a new store. */
  loadCheckpoint(): { savedAt: number; state: string; parts: Map<string, string> } | undefined {
    const r = this.db.prepare('SELECT saved_at, state FROM checkpoint WHERE id = 1').get() as { saved_at: number; state: string } | undefined;
    if (r === undefined) return undefined;
    const parts = this.db.prepare('SELECT key, state FROM checkpoint_parts').all() as { key: string; state: string }[];
    return { savedAt: r.saved_at, state: r.state, parts: new Map(parts.map((p) => [p.key, p.state])) };
  }

  addRejections(hour: number, counts: ReadonlyMap<string, number>): void {
    for (const [reason, n] of counts) if (n > 0) this.addRejection.run(hour, reason, n);
  }

  rejectionTotals(): Record<string, number> {
    const rows = this.db.prepare('SELECT reason, SUM(count) AS n FROM rejections GROUP BY reason').all() as { reason: string; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.reason, r.n]));
  }

  queryAggregates(q: AggregateQuery = {}): Aggregate[] {
    const { sql, args } = aggregateSql(q);
    return (this.db.prepare(`${sql} LIMIT ?`).all(...args, q.limit ?? -1) as AggregateRow[]).map(fromRow);
  }

  /** How many windows a query finds. */
  countAggregates(q: Omit<AggregateQuery, 'limit'> = {}): number {
    const w = whereOf({ equal: { machine: q.machine }, time: { column: 'window_start', from: q.from, to: q.to } });
    return (this.db.prepare(`SELECT COUNT(*) AS n FROM aggregates ${w.sql}`).get(...w.args) as { n: number }).n;
  }

  /** The revision of one stored window, or undefined when it is not stored. */
  aggregateRevision(machine: string, windowStart: number): number | undefined {
    this.revisionStatement ??= this.db.prepare('SELECT revision FROM aggregates WHERE machine = ? AND window_start = ?');
    return (this.revisionStatement.get(machine, windowStart) as { revision: number } | undefined)?.revision;
  }

  private revisionStatement: Database.Statement | undefined;

  /** The windows of a query one at a time, in the order of `queryAggregates`, without holding them all in memory. */
  *iterateAggregates(q: Omit<AggregateQuery, 'limit'> = {}): Generator<Aggregate> {
    const { sql, args } = aggregateSql(q);
    for (const r of this.db.prepare(sql).iterate(...args) as Iterable<AggregateRow>) yield fromRow(r);
  }

  /**
   * The windows of a query as sums of windows read them (rollups, charts), one at a time, in the
   * order of `queryAggregates`: only those columns are read and parsed, not the components,
   * breakdowns or revision (a month of one machine's 1-minute windows is 43,200 rows).
   */
  *iterateAggregateKpis(q: Omit<AggregateQuery, 'limit'> = {}): Generator<AggregateKpis> {
    const { sql, args } = aggregateSql(q, KPI_COLUMNS);
    for (const r of this.db.prepare(sql).iterate(...args) as Iterable<AggregateKpisRow>) {
      yield {
        machine: r.machine,
        windowStart: r.window_start,
        windowEnd: r.window_end,
        material: r.material ?? undefined,
        product: r.product ?? undefined,
        kpis: JSON.parse(r.kpis),
        quality: JSON.parse(r.quality),
        ...(r.split !== null ? { split: JSON.parse(r.split) } : {}),
      };
    }
  }

  /** The last `count` windows of one machine, oldest first. */
  recentAggregates(machine: string, count: number): Aggregate[] {
    // Prepared once: the overview asks for the newest window of every machine on each read.
    this.recentStatement ??= this.db.prepare('SELECT * FROM aggregates WHERE machine = ? ORDER BY window_start DESC LIMIT ?');
    const rows = this.recentStatement.all(machine, count) as AggregateRow[];
    return rows.reverse().map(fromRow);
  }

  private recentStatement: Database.Statement | undefined;

  /**
   * Per machine: number of stored windows and the latest window start. The counts are kept by
   * triggers on every insert and delete (migration 12), the latest start is one seek per machine:
   * counting 8.6 million windows on every status read took the whole table.
   */
  machineSummary(): { machine: string; windows: number; lastWindowStart: number }[] {
    return this.db
      .prepare('SELECT machine, windows, (SELECT MAX(window_start) FROM aggregates a WHERE a.machine = m.machine) AS lastWindowStart FROM machine_windows m WHERE windows > 0 ORDER BY machine')
      .all() as { machine: string; windows: number; lastWindowStart: number }[];
  }

  /** Deletes windows that started before `before`; returns how many. */
  prune(before: number): number {
    const res = this.db.prepare('DELETE FROM aggregates WHERE window_start < ?').run(before);
    this.db.prepare('DELETE FROM rejections WHERE hour < ?').run(before);
    this.db.prepare('DELETE FROM rollup_hours WHERE hour_start < ?').run(before);
    this.db.prepare('DELETE FROM rollup_days WHERE day_end <= ?').run(before);
    this.db.prepare('DELETE FROM rollup_shifts WHERE shift_end <= ?').run(before);
    this.entries.prune(before);
    return res.changes;
  }

  /**
   * The sums of one machine's windows of one hour or one site day, material and product, in the
   * KPI core's format (kpi/partials.ts), opaque here; kept inside the commit's transaction.
   */
  getRollupSums(level: RollupLevel, machine: string, start: number, material: string | undefined, product: string | undefined): string | undefined {
    const r = this.rollupStatements[level].get.get(machine, start, material ?? '', product ?? '') as { data: string } | undefined;
    return r?.data;
  }

  putRollupSums(level: RollupLevel, s: StoredSums): void {
    const st = this.rollupStatements[level];
    if (level === 'hour') st.put.run(s.machine, s.start, s.material ?? '', s.product ?? '', s.data);
    else st.put.run(s.machine, s.start, s.end, s.material ?? '', s.product ?? '', s.data);
  }

  /**
   * Records the fingerprint of the sites' shift calendars the stored shift sums follow. When it
   * differs from the one recorded (a first start, or a changed calendar), shift sums are complete
   * only for shifts from `now` on, and rollups read hours or windows before it. Inside the
   * commit's transaction.
   */
  noteShiftCalendars(fingerprint: number, now: number): void {
    const recorded = this.db.prepare("SELECT value FROM store_meta WHERE key = 'shift_calendars'").get() as { value: number } | undefined;
    if (recorded?.value === fingerprint) return;
    const meta = this.db.prepare('INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)');
    meta.run('shift_calendars', fingerprint);
    meta.run('rollup_shifts_from', now);
  }

  /** The stored sums of one level that start in [from, to), one at a time. */
  *iterateRollupSums(level: RollupLevel, from: number, to: number, machine?: string): Generator<StoredSums> {
    const { table, start, end } = LEVEL_TABLES[level];
    const sql = `SELECT machine, ${start} AS start, ${end} AS end, material, product, data FROM ${table} WHERE ${start} >= ? AND ${start} < ?${machine === undefined ? '' : ' AND machine = ?'}`;
    const args = machine === undefined ? [from, to] : [from, to, machine];
    for (const r of this.db.prepare(sql).iterate(...args) as Iterable<{ machine: string; start: number; end: number; material: string; product: string; data: string }>) {
      yield { machine: r.machine, start: r.start, end: r.end, material: r.material === '' ? undefined : r.material, product: r.product === '' ? undefined : r.product, data: r.data };
    }
  }

  /** Sums of a level from this instant on hold every window; earlier ones were stored before the level was kept (read their windows). */
  rollupSumsFrom(level: RollupLevel): number {
    const key = LEVEL_TABLES[level].from;
    return (this.db.prepare('SELECT value FROM store_meta WHERE key = ?').get(key) as { value: number } | undefined)?.value ?? Number.MAX_SAFE_INTEGER;
  }

  /** A number kept in the store under `key` (`store_meta`), or undefined. */
  meta(key: string): number | undefined {
    return (this.db.prepare('SELECT value FROM store_meta WHERE key = ?').get(key) as { value: number } | undefined)?.value;
  }

  /** Keeps a number under `key`; undefined removes it. Inside the caller's transaction when it has one. */
  setMeta(key: string, value: number | undefined): void {
    if (value === undefined) this.db.prepare('DELETE FROM store_meta WHERE key = ?').run(key);
    else this.db.prepare('INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)').run(key, value);
  }

  /** Bytes on disk of the database and its WAL (0 in memory). */
  sizeBytes(): number {
    if (this.path === ':memory:') return 0;
    let n = 0;
    for (const f of [this.path, `${this.path}-wal`]) {
      try {
        n += statSync(f).size;
      } catch {
        /* no WAL yet */
      }
    }
    return n;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
