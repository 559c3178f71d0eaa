/** `site/line` or `site/area/line` of a machine path: what alerts and channels filter on. */
export function lineOf(machinePath: string): string {
  return machinePath.slice(0, machinePath.lastIndexOf('/'));
}

/** Severity of an alert; channels filter on it. */
export type Severity = 'info' | 'warning' | 'critical';
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

export type AlertState = 'firing' | 'acknowledged' | 'resolved';

/** The rank of a severity: an incident takes the highest of its rules. */
export function severityRank(s: Severity): number {
  return SEVERITIES.indexOf(s);
}

/** One rule that fired inside an incident, with the values it fired on. */
export interface AlertRuleHit {
  rule: string;
  ruleType: 'threshold' | 'pChart' | 'sustained' | 'fast';
  severity: Severity;
  /** Scrap rate that made the rule fire. */
  value: number;
  /** The limit the value was compared with when it fired. */
  threshold: number;
  /** Parts the value was measured over. */
  parts: number;
  /** Event time the rule's breach started. */
  firedAt: number;
  /** Event time the rule cleared (undefined while it still sees the breach). */
  resolvedAt: number | undefined;
}

/**
 * One incident of one machine (agent/ARCHITECTURE.md, "Contracts"; agent/src/alerts/README.md,
 * "Lifecycle"): every rule that fires while it is open joins it (`rules`), so one cause takes one
 * acknowledgement. At most one per machine is open. The top-level rule, values and message are
 * those of the rule that opened it; its severity is the highest of its rules.
 */
export interface Alert {
  /** `<machine>|<rule>|<startedAt>` of the rule that opened it: stable across restarts and channels. */
  id: string;
  machine: string;
  /** `<site>/<line>` or `<site>/<area>/<line>`: channels filter on it. */
  line: string;
  rule: string;
  ruleType: AlertRuleHit['ruleType'];
  /** The highest severity of its rules. */
  severity: Severity;
  state: AlertState;
  /** Scrap rate that made it fire. */
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
  /** Every rule that fired inside the incident, in the order they fired (the opening rule first). */
  rules: AlertRuleHit[];
}

/**
 * What happened to an incident; every change is persisted and audited, the notified ones are
 * offered to the channels. `rule_fired`: another rule fired inside an open incident;
 * `rule_resolved`: one of its rules cleared while others still see the breach.
 */
export type AlertEventKind = 'fired' | 'rule_fired' | 'rule_resolved' | 'acknowledged' | 'resolved' | 'late_breach';

export interface AlertChange {
  kind: AlertEventKind;
  /** The alert after the change (for `late_breach`: what would have fired, never opened). */
  alert: Alert;
  /** Agent time of the change. */
  at: number;
  /** Who acted (acknowledge), `rule`, or `config` (its rule was removed from the config). */
  by: string;
  /**
   * Notified: `fired`, `acknowledged`, `resolved`, and a `rule_fired` that raised the incident's
   * severity; the rest is recorded only.
   */
  notify: boolean;
  /** The rule the change is about (the one that fired, joined, cleared or would have fired); absent for an acknowledgement. */
  rule?: string | undefined;
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
  /** Every rule that fired inside the incident, the opening rule first. */
  rules: AlertRuleHitJson[];
}

/** The JSON form of one rule inside an incident (see `AlertRuleHit`). */
export interface AlertRuleHitJson {
  rule: string;
  rule_type: AlertRuleHit['ruleType'];
  severity: Severity;
  value: number;
  threshold: number;
  parts: number;
  fired_at: number;
  resolved_at: number | null;
}

/** An alert change as the channels send it. */
export interface AlertChangeJson {
  event: AlertEventKind;
  at: number;
  by: string;
  /** The rule the change is about; null for an acknowledgement. */
  rule: string | null;
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
    rules: a.rules.map((h) => ({
      rule: h.rule,
      rule_type: h.ruleType,
      severity: h.severity,
      value: h.value,
      threshold: h.threshold,
      parts: h.parts,
      fired_at: h.firedAt,
      resolved_at: h.resolvedAt ?? null,
    })),
  };
}

/** The hit of an alert's own rule: what an alert stored before incidents (one rule each) holds. */
export function hitOf(a: Omit<Alert, 'rules'>): AlertRuleHit {
  return { rule: a.rule, ruleType: a.ruleType, severity: a.severity, value: a.value, threshold: a.threshold, parts: a.parts, firedAt: a.startedAt, resolvedAt: a.resolvedAt };
}

/** An alert change as the channels send it. */
export function alertChangeToJson(c: AlertChange): AlertChangeJson {
  return { event: c.kind, at: c.at, by: c.by, rule: c.rule ?? null, alert: alertToJson(c.alert) };
}
