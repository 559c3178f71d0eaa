import { createRequire } from 'node:module';
import type { Aggregate } from '../../core/aggregate.js';
import { alertToJson, type AlertChange } from '../../core/alert.js';
import { QUALITY_COUNTS } from '../../core/aggregate.js';
import { parseMachinePath } from '../../core/sample.js';

type Escapes = (typeof import('influx'))['escape'];
let escapes: Escapes | undefined;
/**
 * The `influx` package's line-protocol escaping, loaded on first use: the package costs ~9 MB of
 * memory at import, which an agent without an InfluxDB sink must not pay.
 */
function esc(): Escapes {
  return (escapes ??= (createRequire(import.meta.url)('influx') as typeof import('influx')).escape);
}

/** `60s`, `5m`, `1h`, `500ms`: the `window` tag of a window's length. */
export function windowTag(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/** `measurement,tag=value,…` with the machine's ISA-95 levels and `extra` tags, sorted; empty values left out. */
function seriesKey(measurement: string, machinePath: string, extra: readonly [string, string | undefined][]): string {
  const escape = esc();
  // Every path here was validated by the config schema; an unparsable one keeps only its measurement and extra tags.
  const { site, area, line, machine } = parseMachinePath(machinePath) ?? { site: undefined, area: undefined, line: undefined, machine: undefined };
  const tags: [string, string | undefined][] = [['area', area], ['line', line], ['machine', machine], ['site', site], ...extra];
  tags.sort((a, b) => (a[0] < b[0] ? -1 : 1));
  let out = escape.measurement(measurement);
  for (const [k, v] of tags) if (v !== undefined && v !== '') out += `,${k}=${escape.tag(v)}`;
  return out;
}

/**
 * One window as one line of InfluxDB line protocol, timestamp = window start in ms
 * (README.md, "Schema"). Tags and fields are sorted, so the same aggregate always gives the
 * same bytes; a revision gives the same series and timestamp, so it overwrites the point.
 */
export function windowLine(measurement: string, a: Aggregate, agentId: string): string {
  const tags: [string, string | undefined][] = [
    ['agent', agentId],
    ['material', a.material],
    ['product', a.product],
    ['window', windowTag(a.windowEnd - a.windowStart)],
  ];
  const fields = floatFields(a.kpis);
  for (const k of QUALITY_COUNTS) fields.push(`dq_${k}=${a.quality[k] ?? 0}i`);
  // The method's version, so that a reader of the points (the central dashboard, a report) can name it.
  fields.push(`method=${esc().quoted(a.method)}`, `revision=${a.revision}i`);
  let out = `${seriesKey(measurement, a.machine, tags)} ${fields.join(',')} ${a.windowStart}`;
  // One more point per key of the scrap split (by reason, by destination), in `<measurement>_by_<dimension>` with the key as a
  // tag named after the dimension: series stay bounded by machines × keys, and a revision overwrites each point like the window's.
  const b = a.split;
  if (b !== undefined) {
    for (const dimension of Object.keys(b).sort()) {
      const keys = b[dimension]!;
      for (const key of Object.keys(keys).sort()) {
        const series = seriesKey(`${measurement}_by_${dimension}`, a.machine, [...tags, [dimension, key]]);
        out += `\n${series} ${[...floatFields(keys[key]!), `revision=${a.revision}i`].join(',')} ${a.windowStart}`;
      }
    }
  }
  return out;
}

/** Finite values as float fields, sorted by name. */
function floatFields(values: Readonly<Record<string, number>>): string[] {
  const escape = esc();
  const fields: string[] = [];
  for (const k of Object.keys(values).sort()) {
    const v = values[k]!;
    // Always floats: a field whose first value happened to be whole must not turn into an integer field.
    if (Number.isFinite(v)) fields.push(`${escape.tag(k)}=${Number.isInteger(v) && Math.abs(v) < 1e21 ? `${v}.0` : String(v)}`);
  }
  return fields;
}

/**
 * One alert change as a point at the time of the change: tags locate the machine, the rule and
 * the event (fired, rule_fired, acknowledged, resolved), fields carry the incident's values.
 */
export function alertLine(measurement: string, c: AlertChange, agentId: string): string {
  const a = c.alert;
  const escape = esc();
  // The event is a tag: fired, acknowledged and resolved of one alert committed together share a timestamp and must not overwrite each other.
  // So is the rule a rule_fired is about: two rules joining one incident in one commit are two points.
  const out = seriesKey(measurement, a.machine, [
    ['agent', agentId],
    ['event', c.kind],
    ['rule', (c.kind === 'rule_fired' || c.kind === 'rule_resolved') && c.rule !== undefined ? c.rule : a.rule],
    ['severity', a.severity],
  ]);
  const fields = [
    `alert_id=${escape.quoted(a.id)}`,
    `by=${escape.quoted(c.by)}`,
    ...(c.kind === 'acknowledged' && a.comment !== undefined ? [`comment=${escape.quoted(a.comment)}`] : []),
    `message=${escape.quoted(a.message)}`,
    `parts=${a.parts}i`,
    `rule_type=${escape.quoted(a.ruleType)}`,
    // The rules inside the incident, as the API shows them: the central dashboard reads them back.
    `rules=${escape.quoted(JSON.stringify(alertToJson(a).rules))}`,
    `started_at=${a.startedAt}i`,
    `state=${escape.quoted(a.state)}`,
    `threshold=${a.threshold}`,
    `value=${a.value}`,
  ];
  // A late breach is at its window's start: two of one rule committed together (an entry revising several windows) must not overwrite each other.
  return `${out} ${fields.join(',')} ${c.kind === 'late_breach' && a.windowStart !== undefined ? a.windowStart : c.at}`;
}
