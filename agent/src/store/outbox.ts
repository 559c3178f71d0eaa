import type Database from 'better-sqlite3';
import type { OutboxBound, OutboxRecord, OutboxStats } from '../core/sink.js';

export interface DeadLetter {
  id: number;
  sink: string;
  createdAt: number;
  failedAt: number;
  key: string;
  payload: string;
  error: string;
}

interface StateRow {
  pending_records: number;
  pending_bytes: number;
  delivered: number;
  dropped: number;
  dropped_bytes: number;
  dead_lettered: number;
  lost: number;
  last_success_at: number | null;
}

/** Oldest records examined per step while enforcing the byte bound. */
const DROP_STEP = 512;

/**
 * The outbox (agent/ARCHITECTURE.md, "Delivery"): records serialized once per sink,
 * appended in the commit's transaction, read oldest first, deleted only once the sink accepted
 * them. Every method is synchronous; `append` and `enforceBound` run inside the caller's
 * transaction, the others open their own.
 */
export class Outbox {
  private readonly insert: Database.Statement;
  private readonly ensureState: Database.Statement;
  private readonly addPending: Database.Statement;
  private readonly selectNext: Database.Statement<[string, number, number], { id: number; sink: string; created_at: number; key: string; payload: string }>;
  private readonly selectState: Database.Statement<[string], StateRow>;
  private readonly selectOldest: Database.Statement<[string], { created_at: number }>;
  private readonly sumOlder: Database.Statement<[string, number], { n: number; b: number }>;
  private readonly deleteOlder: Database.Statement;
  private readonly selectOldestBytes: Database.Statement<[string, number], { id: number; bytes: number }>;
  private readonly deleteUpTo: Database.Statement;
  private readonly countDropped: Database.Statement;
  private readonly deleteOne: Database.Statement<[number, string], { bytes: number }>;
  private readonly countDelivered: Database.Statement;
  private readonly insertDead: Database.Statement;
  private readonly countDead: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.insert = db.prepare('INSERT INTO outbox (sink, created_at, key, payload, bytes) VALUES (?, ?, ?, ?, ?)');
    this.ensureState = db.prepare('INSERT OR IGNORE INTO sink_state (sink) VALUES (?)');
    this.addPending = db.prepare('UPDATE sink_state SET pending_records = pending_records + ?, pending_bytes = pending_bytes + ? WHERE sink = ?');
    this.selectNext = db.prepare('SELECT id, sink, created_at, key, payload FROM outbox WHERE sink = ? AND id > ? ORDER BY id LIMIT ?');
    this.selectState = db.prepare('SELECT * FROM sink_state WHERE sink = ?');
    this.selectOldest = db.prepare('SELECT created_at FROM outbox WHERE sink = ? ORDER BY id LIMIT 1');
    this.sumOlder = db.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM outbox WHERE sink = ? AND created_at < ?');
    this.deleteOlder = db.prepare('DELETE FROM outbox WHERE sink = ? AND created_at < ?');
    this.selectOldestBytes = db.prepare('SELECT id, bytes FROM outbox WHERE sink = ? ORDER BY id LIMIT ?');
    this.deleteUpTo = db.prepare('DELETE FROM outbox WHERE sink = ? AND id <= ?');
    this.countDropped = db.prepare(
      'UPDATE sink_state SET pending_records = pending_records - ?, pending_bytes = pending_bytes - ?, dropped = dropped + ?, dropped_bytes = dropped_bytes + ? WHERE sink = ?',
    );
    this.deleteOne = db.prepare('DELETE FROM outbox WHERE id = ? AND sink = ? RETURNING bytes');
    this.countDelivered = db.prepare(
      'UPDATE sink_state SET pending_records = pending_records - ?, pending_bytes = pending_bytes - ?, delivered = delivered + ?, last_success_at = ? WHERE sink = ?',
    );
    this.insertDead = db.prepare('INSERT OR REPLACE INTO dead_letters (id, sink, created_at, failed_at, key, payload, error) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.countDead = db.prepare('UPDATE sink_state SET pending_records = pending_records - 1, pending_bytes = pending_bytes - ?, dead_lettered = dead_lettered + 1 WHERE sink = ?');
  }

  /** Makes the sink known, so its stats exist before its first record. */
  register(sink: string): void {
    this.ensureState.run(sink);
  }

  /** Appends one record; call inside the commit's transaction. */
  append(sink: string, createdAt: number, key: string, payload: string): void {
    const bytes = Buffer.byteLength(payload);
    this.ensureState.run(sink);
    this.insert.run(sink, createdAt, key, payload, bytes);
    this.addPending.run(1, bytes, sink);
  }

  /**
   * Drops the oldest records of `sink` beyond the bound (age first, then bytes) and counts them;
   * call inside the commit's transaction. Returns what was dropped now.
   */
  enforceBound(sink: string, now: number, bound: OutboxBound): { records: number; bytes: number } {
    let records = 0;
    let bytes = 0;
    const cutoff = now - bound.maxAgeMs;
    const oldest = this.selectOldest.get(sink);
    if (oldest !== undefined && oldest.created_at < cutoff) {
      const r = this.sumOlder.get(sink, cutoff)!;
      this.deleteOlder.run(sink, cutoff);
      records += r.n;
      bytes += r.b;
    }
    const state = this.selectState.get(sink);
    let over = state === undefined ? 0 : state.pending_bytes - bytes - bound.maxBytes;
    while (over > 0) {
      const rows = this.selectOldestBytes.all(sink, DROP_STEP);
      if (rows.length === 0) break;
      let last = -1;
      for (const row of rows) {
        last = row.id;
        records++;
        bytes += row.bytes;
        over -= row.bytes;
        if (over <= 0) break;
      }
      this.deleteUpTo.run(sink, last);
    }
    if (records > 0) this.countDropped.run(records, bytes, records, bytes, sink);
    return { records, bytes };
  }

  /** Up to `max` waiting records of `sink` after `afterId`, oldest first. */
  next(sink: string, max: number, afterId = 0): OutboxRecord[] {
    return this.selectNext.all(sink, afterId, max).map((r) => ({ id: r.id, sink: r.sink, createdAt: r.created_at, key: r.key, payload: r.payload }));
  }

  /** The sink accepted `records`: they leave the outbox, in one transaction. */
  ack(sink: string, records: readonly OutboxRecord[], now: number): void {
    if (records.length === 0) return;
    this.db.transaction(() => {
      let n = 0;
      let bytes = 0;
      for (const r of records) {
        const row = this.deleteOne.get(r.id, sink);
        // Already gone when the bound dropped it meanwhile: it was counted there.
        if (row === undefined) continue;
        n++;
        bytes += row.bytes;
      }
      this.countDelivered.run(n, bytes, n, now, sink);
    })();
  }

  /** The sink refused `record` for good: it moves to `dead_letters` with the answer, in one transaction. */
  deadLetter(record: OutboxRecord, now: number, error: string): void {
    this.db.transaction(() => {
      const row = this.deleteOne.get(record.id, record.sink);
      if (row === undefined) return;
      this.insertDead.run(record.id, record.sink, record.createdAt, now, record.key, record.payload, error);
      this.countDead.run(row.bytes, record.sink);
    })();
  }

  deadLetters(sink: string): DeadLetter[] {
    const rows = this.db.prepare('SELECT * FROM dead_letters WHERE sink = ? ORDER BY id').all(sink) as {
      id: number;
      sink: string;
      created_at: number;
      failed_at: number;
      key: string;
      payload: string;
      error: string;
    }[];
    return rows.map((r) => ({ id: r.id, sink: r.sink, createdAt: r.created_at, failedAt: r.failed_at, key: r.key, payload: r.payload, error: r.error }));
  }

  stats(sink: string): OutboxStats {
    const s = this.selectState.get(sink);
    const oldest = s !== undefined && s.pending_records > 0 ? this.selectOldest.get(sink)?.created_at : undefined;
    return {
      pendingRecords: s?.pending_records ?? 0,
      pendingBytes: s?.pending_bytes ?? 0,
      oldestCreatedAt: oldest,
      delivered: s?.delivered ?? 0,
      dropped: s?.dropped ?? 0,
      droppedBytes: s?.dropped_bytes ?? 0,
      deadLettered: s?.dead_lettered ?? 0,
      lost: s?.lost ?? 0,
      lastSuccessAt: s?.last_success_at ?? undefined,
    };
  }
}
