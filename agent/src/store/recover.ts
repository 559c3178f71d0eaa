import Database from 'better-sqlite3';
import { existsSync, renameSync } from 'node:fs';
import { createPrivateFile } from './private-files.js';

/**
 * Salvage of a damaged store file. SQLite itself drops a torn WAL tail (frames whose checksum
 * does not match) on open; this handles what it cannot: pages of the database file that no
 * longer read (a failing SD card, a bad sector, a copy cut short). The damaged file is kept
 * beside the new one; every table's rows are copied in key order up to the first unreadable
 * one (the intact prefix), and what is lost is counted.
 */

/** The tables copied, each with the key order its rows are read in. */
const TABLES: readonly { name: string; order: string }[] = [
  { name: 'aggregates', order: 'machine, window_start' },
  { name: 'checkpoint', order: 'id' },
  { name: 'rejections', order: 'hour, reason' },
  { name: 'sink_state', order: 'sink' },
  { name: 'outbox', order: 'id' },
  { name: 'dead_letters', order: 'id' },
  { name: 'alerts', order: 'id' },
  { name: 'alert_events', order: 'seq' },
  { name: 'rollup_hours', order: 'machine, hour_start, material, product' },
  { name: 'rollup_days', order: 'machine, day_start, material, product' },
  { name: 'rollup_shifts', order: 'machine, shift_start, material, product' },
  { name: 'manual_entries', order: 'id, version' },
  { name: 'store_meta', order: 'key' },
  { name: 'report_runs', order: 'schedule, period' },
];

export interface TableSalvage {
  table: string;
  /** Rows copied to the new file. */
  recovered: number;
  /** Rows the damaged file said it had, when it could still count them. */
  expected: number | undefined;
  /** Why the copy stopped early, if it did. */
  error: string | undefined;
}

export interface RecoveryReport {
  /** Where the damaged file was moved. */
  damagedFile: string;
  /** What `PRAGMA quick_check` (or opening the file) said. */
  problem: string;
  tables: TableSalvage[];
  /** Outbox records lost per sink: the pending count the damaged file kept minus what was salvaged. */
  lostRecords: Record<string, number>;
}

/** Problems `quick_check` finds, or undefined when the file is sound. Throws when the file cannot be read as a database at all. */
export function integrityProblem(db: Database.Database): string | undefined {
  const rows = db.pragma('quick_check(20)') as { quick_check: string }[];
  const text = rows.map((r) => r.quick_check).join('\n');
  return text === 'ok' ? undefined : text;
}

function count(db: Database.Database, table: string): number | undefined {
  try {
    return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
  } catch {
    return undefined;
  }
}

/**
 * Moves the damaged file (with its WAL) aside, creates a fresh store at `path` with `prepare`
 * (migrations), and copies the intact prefix of every table into it.
 */
export function salvage(path: string, problem: string, prepare: (db: Database.Database) => void, now = Date.now()): RecoveryReport {
  const damagedFile = `${path}.damaged-${new Date(now).toISOString().replace(/[:.]/g, '-')}`;
  renameSync(path, damagedFile);
  for (const ext of ['-wal', '-shm']) if (existsSync(`${path}${ext}`)) renameSync(`${path}${ext}`, `${damagedFile}${ext}`);

  createPrivateFile(path);
  const fresh = new Database(path);
  const tables: TableSalvage[] = [];
  const lostRecords: Record<string, number> = {};
  try {
    fresh.pragma('journal_mode = WAL');
    prepare(fresh);
    let old: Database.Database | undefined;
    try {
      old = new Database(damagedFile, { readonly: true, fileMustExist: true });
    } catch (err) {
      for (const t of TABLES) tables.push({ table: t.name, recovered: 0, expected: undefined, error: (err as Error).message });
    }
    if (old !== undefined) {
      try {
        for (const t of TABLES) tables.push(copyPrefix(old, fresh, t.name, t.order));
        // Pending counts follow the salvaged outbox; the difference to what the damaged file counted is the loss.
        const oldPending = new Map<string, number>();
        try {
          for (const r of old.prepare('SELECT sink, pending_records FROM sink_state').iterate() as Iterable<{ sink: string; pending_records: number }>) oldPending.set(r.sink, r.pending_records);
        } catch {
          // The counts themselves are unreadable: the loss is unknown and reported as such (no entry).
        }
        fresh.transaction(() => {
          fresh.exec(`UPDATE sink_state SET
            pending_records = (SELECT COUNT(*) FROM outbox WHERE outbox.sink = sink_state.sink),
            pending_bytes = (SELECT COALESCE(SUM(bytes), 0) FROM outbox WHERE outbox.sink = sink_state.sink)`);
          for (const [sink, before] of oldPending) {
            const now2 = (fresh.prepare('SELECT pending_records AS n FROM sink_state WHERE sink = ?').get(sink) as { n: number } | undefined)?.n ?? 0;
            const lost = Math.max(0, before - now2);
            lostRecords[sink] = lost;
            if (lost > 0) fresh.prepare('UPDATE sink_state SET lost = lost + ? WHERE sink = ?').run(lost, sink);
          }
        })();
      } finally {
        old.close();
      }
    }
    fresh
      .prepare('INSERT INTO store_recoveries (at, damaged_file, problem, report) VALUES (?, ?, ?, ?)')
      .run(now, damagedFile, problem.slice(0, 2000), JSON.stringify({ tables, lostRecords }));
  } finally {
    fresh.close();
  }
  return { damagedFile, problem, tables, lostRecords };
}

/** Copies `table` row by row in key order until the first row that cannot be read. */
function copyPrefix(from: Database.Database, to: Database.Database, table: string, order: string): TableSalvage {
  const expected = count(from, table);
  let recovered = 0;
  let error: string | undefined;
  let columns: string[];
  try {
    columns = (from.pragma(`table_info(${table})`) as { name: string }[]).map((c) => c.name);
  } catch (err) {
    return { table, recovered, expected, error: (err as Error).message };
  }
  if (columns.length === 0) return { table, recovered, expected, error: 'table missing in the damaged file' };
  const insert = to.prepare(`INSERT OR REPLACE INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`);
  const rows = from.prepare(`SELECT ${columns.join(', ')} FROM ${table} ORDER BY ${order}`).raw(true);
  to.transaction(() => {
    try {
      for (const row of rows.iterate() as Iterable<unknown[]>) {
        insert.run(...row);
        recovered++;
      }
    } catch (err) {
      error = (err as Error).message;
    }
  })();
  return { table, recovered, expected, error };
}
