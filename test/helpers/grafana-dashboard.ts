import { readFileSync } from 'node:fs';

/** One InfluxQL query of a Grafana dashboard: a panel's target or a template variable's. */
export interface DashboardQuery {
  /** `panel "<title>" <refId>` or `variable $<name>`. */
  where: string;
  query: string;
}

interface Dashboard {
  panels?: { title: string; targets?: { refId: string; query?: string; rawQuery?: boolean }[] }[];
  templating?: { list?: { name: string; type: string; query?: string }[] };
}

/** Every panel target of a dashboard JSON file (raw InfluxQL; a builder target fails, it has no text to check). */
export function panelQueries(file: string): DashboardQuery[] {
  const d = JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
  return (d.panels ?? []).flatMap((p) =>
    (p.targets ?? []).map((t) => {
      if (t.rawQuery !== true || typeof t.query !== 'string') throw new Error(`panel "${p.title}" ${t.refId}: expected a raw InfluxQL query`);
      return { where: `panel "${p.title}" ${t.refId}`, query: t.query };
    }),
  );
}

/** The query variables of a dashboard, in their order (a later one may use an earlier one). */
export function variableQueries(file: string): (DashboardQuery & { name: string })[] {
  const d = JSON.parse(readFileSync(file, 'utf8')) as Dashboard;
  return (d.templating?.list ?? []).filter((v) => v.type === 'query').map((v) => ({ name: v.name, where: `variable $${v.name}`, query: v.query ?? '' }));
}

/** What an InfluxQL query names: its measurement, the identifiers it reads, the regexes it selects fields with. */
export interface QueryNames {
  measurement: string | undefined;
  /** Double-quoted identifiers other than the measurement and `AS` aliases: fields and tags. */
  identifiers: string[];
  /** Regexes in a function's argument: `sum(/^crm_loss_kg_/)` selects fields by name. */
  fieldRegexes: RegExp[];
  /** Bare words that are not InfluxQL keywords or functions: a field or tag written without quotes. */
  unquoted: string[];
}

const KEYWORDS = new Set(
  ['select', 'from', 'where', 'and', 'or', 'group', 'by', 'time', 'fill', 'none', 'null', 'previous', 'as', 'show', 'tag', 'values', 'with', 'key', 'order', 'desc', 'asc', 'limit',
    'sum', 'mean', 'last', 'first', 'count', 'max', 'min', 'median', 'spread', 'ms', 'timefilter', '__interval'],
);

/**
 * The names an InfluxQL query of the dashboard uses. Tag values (`=~ /…/`, `'…'`), Grafana's macros
 * and numbers are not names; every field and tag must be double-quoted, so that a bare word left
 * over is reported rather than guessed at.
 */
export function queryNames(query: string): QueryNames {
  let q = query.replace(/'(?:[^'\\]|\\.)*'/g, ' ');
  q = q.replace(/(=~|!~)\s*\/(?:[^/\\]|\\.)*\//g, ' ');
  const fieldRegexes = [...q.matchAll(/\(\s*\/((?:[^/\\]|\\.)*)\/\s*\)/g)].map((m) => new RegExp(m[1]!));
  q = q.replace(/\/(?:[^/\\]|\\.)*\//g, ' ');
  q = q.replace(/\bAS\s+"[^"]*"/gi, ' ');
  const measurement = /\bFROM\s+"([^"]+)"/i.exec(q)?.[1];
  q = q.replace(/\bFROM\s+"[^"]+"/i, ' ');
  const identifiers = [...q.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
  q = q.replace(/"[^"]*"/g, ' ').replace(/\$\w+/g, ' ');
  const unquoted = [...q.matchAll(/[A-Za-z_]\w*/g)].map((m) => m[0]).filter((w) => !KEYWORDS.has(w.toLowerCase()));
  return { measurement, identifiers, fieldRegexes, unquoted };
}

/** What Grafana puts in place of `$timeFilter`, `$__interval` and the template variables. */
export interface GrafanaScope {
  from: number;
  to: number;
  /** `$__interval`, e.g. `10s`. */
  interval: string;
  /** Variable name → its selected values (all of them, as Grafana's "All" is). */
  variables: ReadonlyMap<string, readonly string[]>;
}

const regexEscape = (s: string): string => s.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');

/**
 * A dashboard query as Grafana sends it to InfluxDB: `$timeFilter` becomes `time >= …ms and time
 * <= …ms`, `$__interval` the interval, and a multi-value variable inside a regex `(a|b|c)` with
 * each value escaped, as Grafana's InfluxDB data source formats it. An unknown `$name` throws.
 */
export function expandGrafanaMacros(query: string, scope: GrafanaScope): string {
  return query.replace(/\$(\w+)/g, (m, name: string) => {
    if (name === 'timeFilter') return `time >= ${scope.from}ms and time <= ${scope.to}ms`;
    if (name === '__interval') return scope.interval;
    const values = scope.variables.get(name);
    if (values === undefined) throw new Error(`${m} in "${query}" is neither a Grafana macro nor a variable of the dashboard`);
    return `(${values.map(regexEscape).join('|')})`;
  });
}
