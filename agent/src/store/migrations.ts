import type Database from 'better-sqlite3';

/**
 * One migration: SQL, or a function for a step SQL cannot make safe to run again (SQLite has no
 * `ADD COLUMN IF NOT EXISTS`). A migration may run again over its own result (a hand-made downgrade
 * that sets `user_version` back, as the tests of older stores do), so each must be idempotent.
 */
export type Migration = string | ((db: Database.Database) => void);

/** Adds the columns a table lacks; `columns` maps a name to its definition. */
const addColumns =
  (table: string, columns: Record<string, string>): Migration =>
  (db) => {
    const have = new Set((db.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name));
    for (const [name, definition] of Object.entries(columns)) if (!have.has(name)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${name} ${definition}`);
  };

/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
 * Never edit a released migration: add a new one.
 */
export const MIGRATIONS: readonly Migration[] = [
  `
  CREATE TABLE aggregates (
    machine TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    window_end INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    product TEXT,
    material TEXT,
    part_mass_kg REAL,
    components TEXT NOT NULL,
    quality TEXT NOT NULL,
    kpis TEXT NOT NULL,
    method TEXT NOT NULL,
    first_emitted_at INTEGER NOT NULL,
    emitted_at INTEGER NOT NULL,
    PRIMARY KEY (machine, window_start)
  ) WITHOUT ROWID;
  CREATE INDEX aggregates_by_start ON aggregates (window_start);
  CREATE TABLE checkpoint (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    saved_at INTEGER NOT NULL,
    state TEXT NOT NULL
  );
  CREATE TABLE rejections (
    hour INTEGER NOT NULL,
    reason TEXT NOT NULL,
    count INTEGER NOT NULL,
    PRIMARY KEY (hour, reason)
  ) WITHOUT ROWID;
  `,
  `
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    bytes INTEGER NOT NULL
  );
  CREATE INDEX outbox_by_sink ON outbox (sink, id);
  CREATE TABLE sink_state (
    sink TEXT PRIMARY KEY,
    pending_records INTEGER NOT NULL DEFAULT 0,
    pending_bytes INTEGER NOT NULL DEFAULT 0,
    delivered INTEGER NOT NULL DEFAULT 0,
    dropped INTEGER NOT NULL DEFAULT 0,
    dropped_bytes INTEGER NOT NULL DEFAULT 0,
    dead_lettered INTEGER NOT NULL DEFAULT 0,
    last_success_at INTEGER
  ) WITHOUT ROWID;
  CREATE TABLE dead_letters (
    id INTEGER PRIMARY KEY,
    sink TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    failed_at INTEGER NOT NULL,
    key TEXT NOT NULL,
    payload TEXT NOT NULL,
    error TEXT NOT NULL
  );
  CREATE INDEX dead_letters_by_sink ON dead_letters (sink, id);
  `,
  `
  ALTER TABLE sink_state ADD COLUMN lost INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE store_recoveries (
    at INTEGER NOT NULL,
    damaged_file TEXT NOT NULL,
    problem TEXT NOT NULL,
    report TEXT NOT NULL
  );
  `,
  `
  CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    machine TEXT NOT NULL,
    line TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    state TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    resolved_at INTEGER,
    updated_at INTEGER NOT NULL,
    data TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX alerts_one_open ON alerts (machine, rule) WHERE state != 'resolved';
  CREATE INDEX alerts_by_start ON alerts (started_at);
  CREATE TABLE alert_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    at INTEGER NOT NULL,
    by TEXT NOT NULL,
    machine TEXT NOT NULL,
    data TEXT NOT NULL
  );
  CREATE INDEX alert_events_by_alert ON alert_events (alert_id, seq);
  CREATE INDEX alert_events_by_machine ON alert_events (machine, at);
  `,
  `
  ALTER TABLE aggregates ADD COLUMN breakdowns TEXT;
  `,
  `
  ALTER TABLE aggregates ADD COLUMN split TEXT;
  `,
  `
  CREATE TABLE rollup_hours (
    machine TEXT NOT NULL,
    hour_start INTEGER NOT NULL,
    material TEXT NOT NULL,
    product TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (machine, hour_start, material, product)
  ) WITHOUT ROWID;
  CREATE INDEX rollup_hours_by_start ON rollup_hours (hour_start);
  CREATE TABLE store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO store_meta (key, value)
    SELECT 'rollup_hours_from', COALESCE((MAX(window_start) / 3600000 + 1) * 3600000, -8640000000000000) FROM aggregates;
  `,
  `
  CREATE TABLE rollup_days (
    machine TEXT NOT NULL,
    day_start INTEGER NOT NULL,
    day_end INTEGER NOT NULL,
    material TEXT NOT NULL,
    product TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (machine, day_start, material, product)
  ) WITHOUT ROWID;
  CREATE INDEX rollup_days_by_start ON rollup_days (day_start);
  INSERT INTO store_meta (key, value)
    SELECT 'rollup_days_from', COALESCE((MAX(window_start) / 86400000 + 2) * 86400000, -8640000000000000) FROM aggregates;
  `,
  `
  CREATE TABLE rollup_shifts (
    machine TEXT NOT NULL,
    shift_start INTEGER NOT NULL,
    shift_end INTEGER NOT NULL,
    material TEXT NOT NULL,
    product TEXT NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (machine, shift_start, material, product)
  ) WITHOUT ROWID;
  CREATE INDEX rollup_shifts_by_start ON rollup_shifts (shift_start);
  `,
  `
  CREATE TABLE manual_entries (
    id TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    current INTEGER NOT NULL,
    machine TEXT NOT NULL,
    ts INTEGER NOT NULL,
    parts REAL,
    kg REAL,
    reason TEXT,
    destination TEXT,
    comment TEXT,
    by TEXT NOT NULL,
    at INTEGER NOT NULL,
    why TEXT,
    PRIMARY KEY (id, version)
  ) WITHOUT ROWID;
  CREATE INDEX manual_entries_current ON manual_entries (machine, ts) WHERE current = 1;
  `,
  `
  ALTER TABLE alert_events ADD COLUMN rule TEXT;
  UPDATE alert_events SET rule = json_extract(data, '$.rule') WHERE kind != 'acknowledged';
  `,
  `
  CREATE TABLE machine_windows (machine TEXT PRIMARY KEY, windows INTEGER NOT NULL) WITHOUT ROWID;
  INSERT INTO machine_windows (machine, windows) SELECT machine, COUNT(*) FROM aggregates GROUP BY machine;
  CREATE TRIGGER machine_windows_insert AFTER INSERT ON aggregates BEGIN
    INSERT INTO machine_windows (machine, windows) VALUES (new.machine, 1) ON CONFLICT (machine) DO UPDATE SET windows = windows + 1;
  END;
  CREATE TRIGGER machine_windows_delete AFTER DELETE ON aggregates BEGIN
    UPDATE machine_windows SET windows = windows - 1 WHERE machine = old.machine;
  END;
  `,
  `
  CREATE TABLE IF NOT EXISTS report_runs (
    schedule TEXT NOT NULL,
    period TEXT NOT NULL,
    period_start INTEGER NOT NULL,
    period_end INTEGER NOT NULL,
    occurrence INTEGER NOT NULL,
    made_at INTEGER NOT NULL,
    files TEXT NOT NULL,
    pruned_at INTEGER,
    PRIMARY KEY (schedule, period)
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS report_runs_unpruned ON report_runs (made_at) WHERE pruned_at IS NULL;
  `,
  // Failed scheduled reports are recorded too, with their error and attempts, and tried again.
  addColumns('report_runs', { status: "TEXT NOT NULL DEFAULT 'made'", attempts: 'INTEGER NOT NULL DEFAULT 1', error: 'TEXT' }),
  // What a source must know after a crash, committed with the state it describes (the MQTT
  // source's packet ids applied but perhaps not acknowledged: core/commit-gate.ts).
  `
  CREATE TABLE IF NOT EXISTS source_state (key TEXT PRIMARY KEY, saved_at INTEGER NOT NULL, state TEXT NOT NULL) WITHOUT ROWID;
  `,
  // The checkpoint cut into one part per machine (kpi/snapshot.ts): a commit rewrites only the machines that changed.
  `
  CREATE TABLE IF NOT EXISTS checkpoint_parts (key TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID;
  `,
];
