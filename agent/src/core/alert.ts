/** `site/line` or `site/area/line` of a machine path: what alerts and channels filter on. */
export function lineOf(machinePath: string): string {
  return machinePath.slice(0, machinePath.lastIndexOf('/'));
}

/** Severity of an alert; channels filter on it. */
export type Severity = 'info' | 'warning' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

export type AlertState = 'firing' | 'acknowledged' | 'resolved';

/** One alert of one rule on one machine (agent/ARCHITECTURE.md, "Contracts"). At most one per (machine, rule) is open. */
export interface Alert {
  /** `<machine>|<rule>|<startedAt>`: stable across restarts and channels. */
  id: string;
  machine: string;
  /** `<site>/<line>` or `<site>/<area>/<line>`: channels filter on it. */
  line: string;
  rule: string;
  ruleType: 'threshold' | 'pChart' | 'sustained' | 'fast';
  severity: Severity;
  state: AlertState;
  /** Scrap rate that made it fire, and the latest one seen while open. */
  value: number;
  /** The limit the value was compared with when it fired (the p-chart's upper control limit, …). */
  threshold: number;
  /** Parts the value was measured over when it fired. */
  parts: number;
  /** Event time it started: the end of the first bad window, or the sample that tipped the fast rule. */
  startedAt: number;
  /** Window start of the window that fired it (undefined for the fast rule). */
  windowStart: number | undefined;
  acknowledgedAt: number | undefined;
  acknowledgedBy: string | undefined;
  comment: string | undefined;
  resolvedAt: number | undefined;
  /** Agent time of the last change. */
  updatedAt: number;
  message: string;
}

/** What happened to an alert; every change is persisted, audited and offered to the channels. */
export type AlertEventKind = 'fired' | 'acknowledged' | 'resolved' | 'late_breach';

export interface AlertChange {
  kind: AlertEventKind;
  /** The alert after the change (for `late_breach`: what would have fired, never opened). */
  alert: Alert;
  /** Agent time of the change. */
  at: number;
  /** Who acted (acknowledge), or `rule`. */
  by: string;
  /** Only `fired`, `acknowledged` and `resolved` are notified; `late_breach` is recorded only. */
  notify: boolean;
}

/** The JSON form of an alert in the API, the live stream and the MQTT and webhook channels: snake_case, times in epoch ms. */
export interface AlertJson {
  id: string;
  machine: string;
  line: string;
  rule: string;
  rule_type: Alert['ruleType'];
  severity: Severity;
  state: AlertState;
  value: number;
  threshold: number;
  parts: number;
  started_at: number;
  window_start: number | null;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  comment: string | null;
  resolved_at: number | null;
  updated_at: number;
  message: string;
}

/** An alert change as the channels send it. */
export interface AlertChangeJson {
  event: AlertEventKind;
  at: number;
  by: string;
  alert: AlertJson;
}

/** The JSON form of an alert (see `AlertJson`). */
export function alertToJson(a: Alert): AlertJson {
  return {
    id: a.id,
    machine: a.machine,
    line: a.line,
    rule: a.rule,
    rule_type: a.ruleType,
    severity: a.severity,
    state: a.state,
    value: a.value,
    threshold: a.threshold,
    parts: a.parts,
    started_at: a.startedAt,
    window_start: a.windowStart ?? null,
    acknowledged_at: a.acknowledgedAt ?? null,
    acknowledged_by: a.acknowledgedBy ?? null,
    comment: a.comment ?? null,
    resolved_at: a.resolvedAt ?? null,
    updated_at: a.updatedAt,
    message: a.message,
  };
}

/** An alert change as the channels send it. */
export function alertChangeToJson(c: AlertChange): AlertChangeJson {
  return { event: c.kind, at: c.at, by: c.by, alert: alertToJson(c.alert) };
}
