/**
 * Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
 * Never edit a released migration: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
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
];
