import type Database from 'better-sqlite3';
import type { Entry, EntryVersion } from '../core/entries.js';
import { whereOf } from './where.js';

interface EntryRow {
  id: string;
  version: number;
  kind: EntryVersion['kind'];
  machine: string;
  ts: number;
  parts: number | null;
  kg: number | null;
  reason: string | null;
  destination: string | null;
  comment: string | null;
  by: string;
  at: number;
  why: string | null;
}

function fromRow(r: EntryRow): EntryVersion {
  return {
    id: r.id,
    version: r.version,
    kind: r.kind,
    machine: r.machine,
    ts: r.ts,
    parts: r.parts ?? undefined,
    kg: r.kg ?? undefined,
    reason: r.reason ?? undefined,
    destination: r.destination ?? undefined,
    comment: r.comment ?? undefined,
    by: r.by,
    at: r.at,
    why: r.why ?? undefined,
  };
}

export interface EntryQuery {
  machine?: string | undefined;
  /** Entries whose current time is at or after (epoch ms). */
  from?: number | undefined;
  /** … and before (epoch ms). */
  to?: number | undefined;
  limit?: number | undefined;
}

/**
 * Manual scrap entries, every version kept (core/entries.ts): a change adds a version and marks it
 * current. Writes run inside the caller's transaction, with the revision of the windows they change.
 */
export class EntryTable {
  private readonly retire: Database.Statement;
  private readonly insert: Database.Statement;
  private readonly inWindowStmt: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.retire = db.prepare('UPDATE manual_entries SET current = 0 WHERE id = ? AND current = 1');
    this.insert = db.prepare(`
      INSERT INTO manual_entries (id, version, kind, current, machine, ts, parts, kg, reason, destination, comment, by, at, why)
      VALUES (@id, @version, @kind, 1, @machine, @ts, @parts, @kg, @reason, @destination, @comment, @by, @at, @why)`);
    // An entry belongs to the stored window that holds its time; one saved with another window size may hold it instead of this one.
    this.inWindowStmt = db.prepare(`
      SELECT * FROM manual_entries e
      WHERE current = 1 AND machine = ? AND ts >= ? AND ts < ? AND kind != 'deleted'
        AND COALESCE((SELECT a.window_end > e.ts AND a.window_start != ? FROM aggregates a WHERE a.machine = e.machine AND a.window_start <= e.ts ORDER BY a.window_start DESC LIMIT 1), 0) = 0
      ORDER BY id`);
  }

  /** Adds a version and makes it the entry's current one. */
  append(v: EntryVersion): void {
    this.retire.run(v.id);
    this.insert.run({
      id: v.id,
      version: v.version,
      kind: v.kind,
      machine: v.machine,
      ts: v.ts,
      parts: v.parts ?? null,
      kg: v.kg ?? null,
      reason: v.reason ?? null,
      destination: v.destination ?? null,
      comment: v.comment ?? null,
      by: v.by,
      at: v.at,
      why: v.why ?? null,
    });
  }

  /** One entry with its history, or undefined. */
  get(id: string): Entry | undefined {
    const versions = (this.db.prepare('SELECT * FROM manual_entries WHERE id = ? ORDER BY version').all(id) as EntryRow[]).map(fromRow);
    return versions.length === 0 ? undefined : { current: versions[versions.length - 1]!, history: versions };
  }

  /**
   * The current versions of a machine's entries (deleted ones left out) whose time is in the window
   * [from, to), leaving out those another stored window holds: what the window sums.
   */
  inWindow(machine: string, from: number, to: number): EntryVersion[] {
    return (this.inWindowStmt.all(machine, from, to, from) as EntryRow[]).map(fromRow);
  }

  /** Entries whose current version matches, deleted ones included, by time then id, each with its history. */
  query(q: EntryQuery = {}): Entry[] {
    const w = whereOf({ equal: { machine: q.machine }, time: { column: 'ts', from: q.from, to: q.to } }, ['current = 1']);
    const ids = this.db.prepare(`SELECT id FROM manual_entries ${w.sql} ORDER BY ts, id LIMIT ?`).all(...w.args, q.limit ?? -1) as { id: string }[];
    return ids.map((r) => this.get(r.id)!);
  }

  /** Deletes every version of the entries whose current time is before `before` (retention). */
  prune(before: number): void {
    this.db.prepare('DELETE FROM manual_entries WHERE id IN (SELECT id FROM manual_entries WHERE current = 1 AND ts < ?)').run(before);
  }
}
