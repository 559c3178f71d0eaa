import { QUALITY_COUNTS, type Aggregate, type Breakdowns, type QualityCounts } from '../../core/aggregate.js';
import type { AlertEventKind, AlertJson, AlertRuleHitJson, Severity } from '../../core/alert.js';
import { parseDuration } from '../../core/duration.js';
import type { InfluxSeries } from './query.js';
import { rowsOf } from './query.js';

/*
 * What the `influxdb` sink writes (agent/src/sinks/influxdb/README.md, "Schema"), read back: a
 * window point per machine and window (tags: the machine's levels, agent, material, product,
 * window; fields: every KPI, `dq_*`, `revision`, `method`), one more point per scrap reason and
 * destination in `<measurement>_by_<dimension>`, and one alert point per change.
 */

const NOT_KPI = new Set(['time', 'revision', 'method', 'count']);

/** The machine path of a point's tags (`site/area/line/machine` or `site/line/machine`). */
export function pathOf(tags: Record<string, string>): string | undefined {
  const { site, area, line, machine } = tags;
  if (!site || !line || !machine) return undefined;
  return area ? `${site}/${area}/${line}/${machine}` : `${site}/${line}/${machine}`;
}

/** Tags of one machine path, for a WHERE clause (an absent area is the empty tag). */
export function tagsOf(path: string): Record<string, string> | undefined {
  const p = path.split('/');
  if (p.length === 3) return { site: p[0]!, area: '', line: p[1]!, machine: p[2]! };
  if (p.length === 4) return { site: p[0]!, area: p[1]!, line: p[2]!, machine: p[3]! };
  return undefined;
}

/** Key of one point of one machine and window (or hour): the split's and the ratios' points join their window on it. */
export function pointKey(tags: Record<string, string>, time: number): string {
  return `${pathOf(tags)}|${tags.agent ?? ''}|${tags.material ?? ''}|${tags.product ?? ''}|${time}`;
}

/**
 * The scrap split of each window (or hour of sums) from the `_by_reason` and `_by_destination`
 * series, by point key. `prefix`: the column prefix of summed fields (`sum_`), empty for raw points.
 */
export function splitsOf(byDimension: Readonly<Record<string, readonly InfluxSeries[]>>, prefix = ''): Map<string, Breakdowns> {
  const out = new Map<string, Breakdowns>();
  for (const [dimension, series] of Object.entries(byDimension)) {
    for (const { tags, row } of rowsOf(series)) {
      const key = tags[dimension];
      if (key === undefined) continue;
      const measures: Record<string, number> = {};
      for (const [k, v] of Object.entries(row)) {
        if (!k.startsWith(prefix) || typeof v !== 'number') continue;
        const name = k.slice(prefix.length);
        if (!NOT_KPI.has(name)) measures[name] = v;
      }
      const id = pointKey(tags, row.time as number);
      const split = out.get(id) ?? {};
      (split[dimension] ??= {})[key] = measures;
      out.set(id, split);
    }
  }
  return out;
}

/** A window point (or an hour of summed points, `prefix` `sum_`) as the KPI core's aggregate; undefined without a machine path. */
export function aggregateOf(tags: Record<string, string>, row: Record<string, number | string | null>, splits: ReadonlyMap<string, Breakdowns>, spanMs: number | undefined, prefix = ''): Aggregate | undefined {
  const machine = pathOf(tags);
  if (machine === undefined) return undefined;
  const time = row.time as number;
  const kpis: Record<string, number> = {};
  const quality = Object.fromEntries(QUALITY_COUNTS.map((k) => [k, 0])) as QualityCounts;
  for (const [k, v] of Object.entries(row)) {
    if (!k.startsWith(prefix) || typeof v !== 'number') continue;
    const name = k.slice(prefix.length);
    if (NOT_KPI.has(name)) continue;
    if (name.startsWith('dq_')) {
      const q = name.slice(3);
      if (q in quality) quality[q as keyof QualityCounts] = v;
    } else kpis[name] = v;
  }
  const windowMs = windowMsOf(tags);
  // A window that measures scrap has a split, empty when it made none (the sink writes no point for an empty split).
  const split = splits.get(pointKey(tags, time)) ?? ('parts_scrap' in kpis ? { reason: {}, destination: {} } : undefined);
  return {
    machine,
    windowStart: time,
    windowEnd: time + (spanMs ?? windowMs ?? 0),
    revision: typeof row.revision === 'number' ? row.revision : 0,
    product: tags.product || undefined,
    material: tags.material || undefined,
    partMassKg: undefined,
    components: {},
    ...(split !== undefined ? { split } : {}),
    quality,
    kpis,
    method: typeof row.method === 'string' ? row.method : 'unknown',
    emittedAt: time,
  };
}

/** The window length of a point's `window` tag (`1m`, `30s`, …). */
export function windowMsOf(tags: Record<string, string>): number | undefined {
  return tags.window === undefined ? undefined : parseDuration(tags.window);
}

/** One alert point: an event of one alert. */
export interface AlertPoint {
  id: string;
  machine: string;
  line: string;
  event: AlertEventKind;
  at: number;
  by: string;
  rule: string;
  ruleType: AlertJson['rule_type'];
  severity: Severity;
  state: AlertJson['state'];
  value: number;
  threshold: number;
  parts: number;
  startedAt: number;
  message: string | null;
  comment: string | null;
  /** The rules inside the incident after this change (JSON of the API's form), when the point has them. */
  rules: AlertRuleHitJson[] | null;
}

export function alertPointsOf(series: readonly InfluxSeries[]): AlertPoint[] {
  const out: AlertPoint[] = [];
  for (const { tags, row } of rowsOf(series)) {
    const machine = pathOf(tags);
    if (machine === undefined || typeof row.alert_id !== 'string') continue;
    out.push({
      id: row.alert_id,
      machine,
      line: machine.slice(0, machine.lastIndexOf('/')),
      event: (tags.event ?? 'fired') as AlertEventKind,
      at: row.time as number,
      by: typeof row.by === 'string' ? row.by : 'rule',
      rule: tags.rule ?? '',
      ruleType: (typeof row.rule_type === 'string' ? row.rule_type : 'threshold') as AlertJson['rule_type'],
      severity: (tags.severity ?? 'warning') as Severity,
      state: (typeof row.state === 'string' ? row.state : 'firing') as AlertJson['state'],
      value: typeof row.value === 'number' ? row.value : 0,
      threshold: typeof row.threshold === 'number' ? row.threshold : 0,
      parts: typeof row.parts === 'number' ? row.parts : 0,
      startedAt: typeof row.started_at === 'number' ? row.started_at : (row.time as number),
      message: typeof row.message === 'string' ? row.message : null,
      comment: typeof row.comment === 'string' ? row.comment : null,
      rules: typeof row.rules === 'string' ? parseRules(row.rules) : null,
    });
  }
  return out;
}

function parseRules(text: string): AlertRuleHitJson[] | null {
  try {
    const v = JSON.parse(text) as unknown;
    return Array.isArray(v) ? (v as AlertRuleHitJson[]) : null;
  } catch {
    return null;
  }
}

/** The rule an event is about, as the audit trail names it: none for an acknowledgement. */
export function ruleOfEvent(e: AlertPoint): string | null {
  return e.event === 'acknowledged' ? null : e.rule;
}

const EVENT_ORDER: Record<string, number> = { fired: 0, rule_fired: 1, acknowledged: 2, rule_resolved: 3, resolved: 4 };

/** Events of one alert oldest first; events committed together (one timestamp) in lifecycle order. */
export function byTime(a: AlertPoint, b: AlertPoint): number {
  return a.at - b.at || (EVENT_ORDER[a.event] ?? 2) - (EVENT_ORDER[b.event] ?? 2);
}

/** An alert as its events leave it (oldest first, at least one). */
export function alertOf(events: readonly AlertPoint[]): AlertJson {
  const last = events.at(-1)!;
  const first = events[0]!;
  const ack = events.find((e) => e.event === 'acknowledged');
  const resolved = events.find((e) => e.event === 'resolved');
  return {
    id: last.id,
    machine: last.machine,
    line: last.line,
    rule: first.rule,
    rule_type: first.ruleType,
    severity: last.severity,
    state: last.state,
    value: last.value,
    threshold: last.threshold,
    parts: last.parts,
    started_at: last.startedAt,
    window_start: null,
    acknowledged_at: ack?.at ?? null,
    acknowledged_by: ack?.by ?? null,
    comment: ack?.comment ?? null,
    resolved_at: resolved?.at ?? null,
    updated_at: last.at,
    message: [...events].reverse().find((e) => e.message !== null)?.message ?? `${(last.value * 100).toFixed(1)} % scrap on ${last.machine} (rule ${first.rule})`,
    // Points written before they carried the rules name the rule of each event.
    rules: [...events].reverse().find((e) => e.rules !== null)?.rules ?? [...new Set(events.map((e) => e.rule))].map((rule) => ({ rule, rule_type: first.ruleType, severity: last.severity, value: last.value, threshold: last.threshold, parts: last.parts, fired_at: last.startedAt, resolved_at: resolved?.at ?? null })),
  };
}
