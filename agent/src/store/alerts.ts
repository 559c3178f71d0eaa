import type Database from 'better-sqlite3';
import { hitOf, type Alert, type AlertChange, type AlertEventKind, type AlertState, type Severity } from '../core/alert.js';
import { whereOf } from './where.js';

export interface AlertQuery {
  state?: AlertState | 'open' | undefined;
  machine?: string | undefined;
  line?: string | undefined;
  severity?: Severity | undefined;
  /** Alerts that started at or after (epoch ms). */
  from?: number | undefined;
  to?: number | undefined;
  limit?: number | undefined;
}

export interface AlertEvent {
  seq: number;
  alertId: string;
  kind: AlertEventKind;
  at: number;
  by: string;
  machine: string;
  /** The rule the event is about; undefined for an acknowledgement. */
  rule: string | undefined;
  alert: Alert;
}

/** An alert as stored: one written before incidents has no `rules` and reads as an incident of its one rule. */
function read(data: string): Alert {
  const a = JSON.parse(data) as Omit<Alert, 'rules'> & { rules?: Alert['rules'] };
  return Array.isArray(a.rules) ? (a as Alert) : { ...a, rules: [hitOf(a)] };
}

/** Alerts and their audit trail in the store; writes run inside the caller's transaction. */
export class AlertTable {
  private readonly upsert: Database.Statement;
  private readonly addEvent: Database.Statement;

  constructor(private readonly db: Database.Database) {
    this.upsert = db.prepare(`
      INSERT INTO alerts (id, machine, line, rule, severity, state, started_at, resolved_at, updated_at, data)
      VALUES (@id, @machine, @line, @rule, @severity, @state, @started_at, @resolved_at, @updated_at, @data)
      ON CONFLICT (id) DO UPDATE SET severity = excluded.severity, state = excluded.state, resolved_at = excluded.resolved_at, updated_at = excluded.updated_at, data = excluded.data`);
    this.addEvent = db.prepare('INSERT INTO alert_events (alert_id, kind, at, by, machine, rule, data) VALUES (?, ?, ?, ?, ?, ?, ?)');
  }

  /** Records one change: the alert's new state (not for a late breach, which opens nothing) and an audit event. */
  record(c: AlertChange): void {
    const a = c.alert;
    if (c.kind !== 'late_breach') {
      this.upsert.run({
        id: a.id,
        machine: a.machine,
        line: a.line,
        rule: a.rule,
        severity: a.severity,
        state: a.state,
        started_at: a.startedAt,
        resolved_at: a.resolvedAt ?? null,
        updated_at: a.updatedAt,
        data: JSON.stringify(a),
      });
    }
    this.addEvent.run(a.id, c.kind, c.at, c.by, a.machine, c.rule ?? null, JSON.stringify(a));
  }

  get(id: string): Alert | undefined {
    const r = this.db.prepare('SELECT data FROM alerts WHERE id = ?').get(id) as { data: string } | undefined;
    return r ? read(r.data) : undefined;
  }

  query(q: AlertQuery = {}): Alert[] {
    const state = q.state === 'open' ? undefined : q.state;
    const w = whereOf({ equal: { state, machine: q.machine, line: q.line, severity: q.severity }, time: { column: 'started_at', from: q.from, to: q.to } }, q.state === 'open' ? ["state != 'resolved'"] : []);
    const rows = this.db.prepare(`SELECT data FROM alerts ${w.sql} ORDER BY started_at DESC, id LIMIT ?`).all(...w.args, q.limit ?? -1) as { data: string }[];
    return rows.map((r) => read(r.data));
  }

  /** The audit trail of one alert, or of one machine (every alert and late breach), oldest first. */
  events(by: { alertId: string } | { machine: string; from?: number | undefined; to?: number | undefined; limit?: number | undefined }): AlertEvent[] {
    let rows: { seq: number; alert_id: string; kind: string; at: number; by: string; machine: string; rule: string | null; data: string }[];
    if ('alertId' in by) {
      rows = this.db.prepare('SELECT * FROM alert_events WHERE alert_id = ? ORDER BY seq').all(by.alertId) as typeof rows;
    } else {
      rows = this.db
        .prepare('SELECT * FROM alert_events WHERE machine = ? AND at >= ? AND at < ? ORDER BY seq LIMIT ?')
        .all(by.machine, by.from ?? -8.64e15, by.to ?? 8.64e15, by.limit ?? -1) as typeof rows;
    }
    return rows.map((r) => ({ seq: r.seq, alertId: r.alert_id, kind: r.kind as AlertEventKind, at: r.at, by: r.by, machine: r.machine, rule: r.rule ?? undefined, alert: read(r.data) }));
  }

  /**
   * When each (machine, rule) pair last resolved, keyed `machine|rule` (for the cooldown after a
   * restart): from the rules inside the machine's incidents, open ones included (a rule may have
   * cleared inside an incident that is still open). `horizonMs`, the longest cooldown: only the
   * incidents that resolved that long before the machine's last resolve, or later, are read; an
   * older one cannot hold a cooldown that still runs.
   */
  lastResolved(horizonMs = Infinity): Map<string, number> {
    const rows = this.db
      .prepare(
        `WITH latest AS (SELECT machine, MAX(resolved_at) AS at FROM alerts WHERE state = 'resolved' GROUP BY machine)
         SELECT a.data FROM alerts a LEFT JOIN latest l ON l.machine = a.machine
         WHERE a.state != 'resolved' OR ? OR a.resolved_at >= l.at - ?`,
      )
      .all(Number.isFinite(horizonMs) ? 0 : 1, Number.isFinite(horizonMs) ? horizonMs : 0) as { data: string }[];
    const out = new Map<string, number>();
    for (const r of rows) {
      const a = read(r.data);
      for (const h of a.rules) {
        if (h.resolvedAt === undefined) continue;
        const key = `${a.machine}|${h.rule}`;
        if (h.resolvedAt > (out.get(key) ?? -Infinity)) out.set(key, h.resolvedAt);
      }
    }
    return out;
  }
}
