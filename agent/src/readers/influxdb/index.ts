import type { AlertDetailJson, AlertHistoryItemJson, AlertJson, MachineInfo, MachineListItem, RollupQuery, WindowJson } from '../../api/contract.js';
import type { KpiReader } from '../../api/reader.js';
import type { CentralConfig, Config } from '../../config/schema.js';
import { siteCalendars } from '../../config/site-calendars.js';
import { aggregateToJson, type Aggregate } from '../../core/aggregate.js';
import type { Clock } from '../../core/clock.js';
import { HOUR_MS, onWholeHours, partialOf, RATIOS, type PartialSums } from '../../kpi/partials.js';
import { periodOf } from '../../kpi/periods.js';
import type { AlertQuery } from '../../store/alerts.js';
import { foundMachine, machineList } from '../machine-list.js';
import { overviewOf } from '../overview.js';
import { readEnd, rollupJson, sumLevelsFor } from '../rollup.js';
import { seriesJson } from '../series-json.js';
import { aggregateOf, alertOf, alertPointsOf, byTime, pathOf, pointKey, ruleOfEvent, splitsOf, tagsOf, windowMsOf, type AlertPoint } from './points.js';
import { ident, InfluxQuery, literal, rowsOf } from './query.js';

/** How long the machines found in InfluxDB are reused: every open overview asks for them every 15 s, and finding them reads the whole lookback. */
const FOUND_TTL_MS = 5 * 60_000;
/** How long the window counts of `GET /api/v1/machines` are reused (they count every window of the lookback). */
const COUNTS_TTL_MS = 60_000;
/** InfluxDB keeps times within ±2^63 ns: a time beyond is clamped rather than sent as a query InfluxDB cannot parse. */
const MAX_TIME_MS = 9_000_000_000_000;
/** How far back the overview looks for a machine's newest window. */
const NEWEST_LOOKBACK_MS = 7 * 86_400_000;

/**
 * The central dashboard's reader (api/reader.ts): what every agent's `influxdb` sink wrote, read
 * back with InfluxQL and summed by the same KPI core as the agent's store. Charts and window lists
 * read the windows; rollups over whole hours let InfluxDB sum each hour (`SUM()` per field,
 * `GROUP BY time(1h)`) and sum the hours here, like the store's hour sums; other rollups read the
 * windows. A report's coarse sums over whole site days are days (`GROUP BY time(1d)` with `tz()`),
 * like the store's day sums. Ratios always come from the sums.
 */
export function influxReader(cfg: Config, central: CentralConfig, clock: Clock, db: InfluxQuery): KpiReader {
  const m = ident(central.influxdb.measurement);
  const byReason = ident(`${central.influxdb.measurement}_by_reason`);
  const byDestination = ident(`${central.influxdb.measurement}_by_destination`);
  const alertsM = ident(central.influxdb.alertMeasurement);
  const calendars = siteCalendars(cfg);
  const configured = new Map(machineList(cfg).map((x) => [x.machine, x]));
  const clamp = (t: number) => Math.max(-MAX_TIME_MS, Math.min(MAX_TIME_MS, Math.trunc(t)));
  const span = (from: number | undefined, to: number | undefined) => [from !== undefined ? `time >= ${clamp(from)}ms` : undefined, to !== undefined ? `time < ${clamp(to)}ms` : undefined];
  const where = (...conds: (string | undefined)[]) => {
    const c = conds.filter((x) => x !== undefined);
    return c.length === 0 ? '' : `WHERE ${c.join(' AND ')}`;
  };
  const machineWhere = (path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    const tags = tagsOf(path);
    // A path that is no machine path (or holds a control character no tag can) matches nothing.
    if (tags === undefined || [...path].some((c) => c < ' ')) return 'false';
    return Object.entries(tags)
      .map(([k, v]) => `${ident(k)} = ${literal(v)}`)
      .join(' AND ');
  };

  const fresh = (at: number | undefined, ttl: number) => at !== undefined && clock.now() - at < ttl && clock.now() >= at;

  let found: { at: number; items: MachineInfo[]; newest: Map<string, number> } | undefined;
  /** The machines any agent writes there: the configured ones first, in config order, as on an agent; then the others by path. */
  async function discover(): Promise<{ items: MachineInfo[]; newest: Map<string, number> }> {
    if (found !== undefined && fresh(found.at, FOUND_TTL_MS)) return found;
    const now = clock.now();
    const [last] = await db.run(`SELECT LAST("revision") FROM ${m} ${where(...span(now - central.lookback, undefined))} GROUP BY *`);
    const newest = new Map<string, { t: number; product: string | undefined; material: string | undefined }>();
    for (const { tags, row } of rowsOf(last!)) {
      const path = pathOf(tags);
      const t = row.time as number;
      if (path !== undefined && (newest.get(path)?.t ?? -Infinity) < t) newest.set(path, { t, product: tags.product || undefined, material: tags.material || undefined });
    }
    const items: MachineInfo[] = [];
    for (const path of [...configured.keys(), ...[...newest.keys()].filter((p) => !configured.has(p)).sort()]) {
      const n = newest.get(path);
      const info = foundMachine(cfg, configured, path, n?.product, n?.material);
      if (info !== undefined) items.push(info);
    }
    found = { at: now, items, newest: new Map([...newest].map(([p, n]) => [p, n.t])) };
    return found;
  }

  let counted: { at: number; windows: Map<string, number> } | undefined;
  async function machines(): Promise<MachineListItem[]> {
    const { items, newest } = await discover();
    if (counted === undefined || !fresh(counted.at, COUNTS_TTL_MS)) {
      const now = clock.now();
      const [counts] = await db.run(`SELECT COUNT("revision") FROM ${m} ${where(...span(now - central.lookback, undefined))} GROUP BY "site","area","line","machine"`);
      const windows = new Map<string, number>();
      for (const { tags, row } of rowsOf(counts!)) {
        const path = pathOf(tags);
        if (path !== undefined) windows.set(path, (windows.get(path) ?? 0) + ((row.count as number) ?? 0));
      }
      counted = { at: now, windows };
    }
    return items.map((info) => ({ ...info, windows: counted!.windows.get(info.machine) ?? 0, last_window_start: newest.get(info.machine) ?? null }));
  }

  /** The windows of a span, with their scrap split; `limit` per machine series. */
  async function windowAggregates(q: { machine?: string | undefined; from?: number | undefined; to?: number | undefined; limit?: number }): Promise<Aggregate[]> {
    // LIMIT 0 is no limit to InfluxDB.
    if (q.limit === 0) return [];
    // Without a start, the lookback bounds the read.
    const w = where(machineWhere(q.machine), ...span(q.from ?? clock.now() - central.lookback, q.to));
    const limit = q.limit !== undefined ? ` LIMIT ${q.limit}` : '';
    const [windows, reasons, destinations] = await db.run(`SELECT * FROM ${m} ${w} GROUP BY *${limit}; SELECT * FROM ${byReason} ${w} GROUP BY *${limit}; SELECT * FROM ${byDestination} ${w} GROUP BY *${limit}`);
    const splits = splitsOf({ reason: reasons!, destination: destinations! });
    const out: Aggregate[] = [];
    for (const { tags, row } of rowsOf(windows!)) {
      const a = aggregateOf(tags, row, splits, undefined);
      if (a !== undefined) out.push(a);
    }
    // The store's order: by window start, then machine.
    return out.sort((x, y) => x.windowStart - y.windowStart || (x.machine < y.machine ? -1 : x.machine > y.machine ? 1 : 0));
  }

  /**
   * Each bucket of each machine (and agent, material, product) summed by InfluxDB: hours (what the
   * store keeps as hour sums), or days of one time zone (`tz()`). `endOf` gives a bucket's end from
   * its start, as a day is 23 to 25 hours.
   */
  async function bucketSums(q: { machine?: string | undefined; from: number; to: number }, bucket: { every: '1h' | '1d'; zone?: string; endOf: (start: number) => number }): Promise<PartialSums[]> {
    const w = where(machineWhere(q.machine), ...span(q.from, q.to));
    const group = `GROUP BY time(${bucket.every}),* fill(none)${bucket.zone === undefined ? '' : ` tz(${literal(bucket.zone)})`}`;
    // A ratio's numerator and denominator are summed over the windows that have the ratio, as the store sums them
    // (a window with good kg but no material in has no material efficiency): one statement per ratio.
    const ratioNames = Object.keys(RATIOS);
    const ratioSql = ratioNames.map((r) => {
      const [num, den] = RATIOS[r]!;
      return `SELECT SUM(${ident(num)}) AS "n", SUM(${ident(den)}) AS "d" FROM ${m} ${w} AND ${ident(r)} >= 0 ${group}`;
    });
    const [sums, reasons, destinations, ...ratioSeries] = await db.run(
      [`SELECT SUM(*), COUNT("revision") FROM ${m} ${w} ${group}`, `SELECT SUM(*) FROM ${byReason} ${w} ${group}`, `SELECT SUM(*) FROM ${byDestination} ${w} ${group}`, ...ratioSql].join('; '),
    );
    const splits = splitsOf({ reason: reasons!, destination: destinations! }, 'sum_');
    const ratios = new Map<string, Record<string, [number, number]>>();
    ratioNames.forEach((r, i) => {
      for (const { tags, row } of rowsOf(ratioSeries[i]!)) {
        const key = pointKey(tags, row.time as number);
        const at = ratios.get(key) ?? {};
        at[r] = [(row.n as number | null) ?? 0, (row.d as number | null) ?? 0];
        ratios.set(key, at);
      }
    });
    const out: PartialSums[] = [];
    for (const { tags, row } of rowsOf(sums!)) {
      const count = row.count;
      if (typeof count !== 'number' || count === 0) continue;
      const start = row.time as number;
      const a = aggregateOf(tags, row, splits, bucket.endOf(start) - start, 'sum_');
      if (a === undefined) continue;
      const p = partialOf(a);
      p.windows = count;
      p.covered = count * (windowMsOf(tags) ?? 0);
      p.ratios = ratios.get(pointKey(tags, row.time as number)) ?? {};
      out.push(p);
    }
    return out;
  }

  const HOURS = { every: '1h', endOf: (start: number) => start + HOUR_MS } as const;
  const hourSums = (q: { machine?: string | undefined; from: number; to: number }) => bucketSums(q, HOURS);

  /**
   * Whole site days summed by InfluxDB, where they give the same totals as the hours: the store's
   * condition for its day sums (from and to every site's midnight, windows fit in an hour, whole-hour
   * offsets), and one time zone for all sites, as tz() takes one. Undefined where they do not.
   */
  async function daySums(from: number, to: number): Promise<PartialSums[] | undefined> {
    const sites = [...new Set([...configured.keys(), ...(await discover()).items.map((x) => x.machine)].map((p) => p.split('/')[0]!))];
    const zones = new Set(sites.map((site) => calendars.get(site)?.timeZone ?? 'UTC'));
    if (zones.size !== 1 || !sumLevelsFor({ period: 'day', by: 'machine', from, to }, cfg, calendars, sites).has('day')) return undefined;
    const zone = [...zones][0]!;
    const dayOf = (t: number) => periodOf('day', zone, t)!;
    const days = await bucketSums({ from, to }, { every: '1d', zone, endOf: (start) => dayOf(start).end });
    // The WHERE bounds make the totals exact whatever the buckets; but a report keeps only sums that
    // start in its period, so a server whose days are not the site's (a tz() it ignores, a clock
    // change it places elsewhere) would lose the first one: then the hours are read instead.
    return days.every((p) => p.start >= from && p.start < to && dayOf(p.start).start === p.start) ? days : undefined;
  }

  async function rollup(q: RollupQuery) {
    const list = (await discover()).items.map((x) => x.machine);
    const sites = [...new Set(list.map((p) => p.split('/')[0]!))];
    const to = readEnd(q, calendars);
    const parts = sumLevelsFor(q, cfg, calendars, sites).has('hour') ? await hourSums({ machine: q.machine, from: q.from, to }) : (await windowAggregates({ machine: q.machine, from: q.from, to })).map(partialOf);
    return rollupJson(parts, q, calendars, list);
  }

  /** Every alert event in the lookback, grouped by alert, each oldest first. */
  async function alertEvents(machine?: string): Promise<Map<string, AlertPoint[]>> {
    const [series] = await db.run(`SELECT * FROM ${alertsM} ${where(machineWhere(machine), ...span(clock.now() - central.lookback, undefined))} GROUP BY *`);
    const byId = new Map<string, AlertPoint[]>();
    for (const p of alertPointsOf(series!).sort(byTime)) {
      const list = byId.get(p.id) ?? [];
      list.push(p);
      byId.set(p.id, list);
    }
    return byId;
  }

  /** The alerts that opened (a late breach never did), as their events leave them. */
  function alertsOf(byId: ReadonlyMap<string, AlertPoint[]>): AlertJson[] {
    const out: AlertJson[] = [];
    for (const events of byId.values()) {
      const opened = events.filter((e) => e.event !== 'late_breach');
      if (opened.length > 0) out.push(alertOf(opened));
    }
    return out;
  }

  async function alerts(q: AlertQuery): Promise<AlertJson[]> {
    const list = alertsOf(await alertEvents(q.machine)).filter(
      (a) =>
        (q.state === undefined || (q.state === 'open' ? a.state !== 'resolved' : a.state === q.state)) &&
        (q.line === undefined || a.line === q.line) &&
        (q.severity === undefined || a.severity === q.severity) &&
        (q.from === undefined || a.started_at >= q.from) &&
        (q.to === undefined || a.started_at < q.to),
    );
    list.sort((a, b) => b.started_at - a.started_at || (a.id < b.id ? -1 : 1));
    return q.limit === undefined ? list : list.slice(0, q.limit);
  }

  const overview = overviewOf(
    cfg,
    {
      machines: async () => (await discover()).items,
      rollup,
      hourSums: (from, to) => hourSums({ from, to }),
      lastWindows: async (list) => {
        const wanted = new Set(list);
        // The newest point of every series: of each machine's windows, and of each of its reasons and destinations (kept where it is the newest window's).
        const w = where(...span(clock.now() - NEWEST_LOOKBACK_MS, undefined));
        const [windows, reasons, destinations] = await db.run(
          `SELECT * FROM ${m} ${w} GROUP BY * ORDER BY time DESC LIMIT 1; SELECT * FROM ${byReason} ${w} GROUP BY * ORDER BY time DESC LIMIT 1; SELECT * FROM ${byDestination} ${w} GROUP BY * ORDER BY time DESC LIMIT 1`,
        );
        const splits = splitsOf({ reason: reasons!, destination: destinations! });
        const newest = new Map<string, Aggregate>();
        for (const { tags, row } of rowsOf(windows!)) {
          const a = aggregateOf(tags, row, splits, undefined);
          if (a !== undefined && wanted.has(a.machine) && (newest.get(a.machine)?.windowStart ?? -Infinity) < a.windowStart) newest.set(a.machine, a);
        }
        const out = new Map<string, WindowJson>();
        for (const [path, a] of newest) out.set(path, aggregateToJson(a));
        return out;
      },
      openAlerts: () => alerts({ state: 'open' }),
    },
    () => clock.now(),
  );

  return {
    backend: 'influxdb',
    machines,
    async windows(q) {
      return (await windowAggregates({ ...q, limit: q.limit })).slice(0, q.limit).map(aggregateToJson);
    },
    overview,
    async sums(q) {
      const days = q.coarse === true ? await daySums(q.from, q.to) : undefined;
      if (days !== undefined) return days;
      return onWholeHours(q.from, q.to, cfg.kpi.windowSize) ? hourSums(q) : (await windowAggregates(q)).map(partialOf);
    },
    async series(q) {
      const windows = await windowAggregates({ machine: q.machine, from: q.from, to: q.to });
      // Buckets are whole windows of the agent that wrote them, whatever this file's kpi.windowSize says.
      const windowMs = windows.length > 0 ? windows[windows.length - 1]!.windowEnd - windows[windows.length - 1]!.windowStart : cfg.kpi.windowSize;
      return seriesJson(q, windows.map(partialOf), windowMs);
    },
    rollup,
    alerts,
    async alert(id) {
      const events = (await alertEvents()).get(id);
      if (events === undefined) return undefined;
      const opened = events.filter((e) => e.event !== 'late_breach');
      if (opened.length === 0) return undefined;
      const detail: AlertDetailJson = { ...alertOf(opened), events: events.map((e, i) => ({ seq: i + 1, event: e.event, at: e.at, by: e.by, rule: ruleOfEvent(e) })) };
      return detail;
    },
    async alertHistory(q) {
      const out: AlertHistoryItemJson[] = [];
      for (const events of (await alertEvents(q.machine)).values()) {
        events.forEach((e, i) => {
          if ((q.from === undefined || e.at >= q.from) && (q.to === undefined || e.at < q.to)) out.push({ seq: 0, event: e.event, at: e.at, by: e.by, rule: ruleOfEvent(e), alert: alertOf(events.slice(0, i + 1)) });
        });
      }
      out.sort((a, b) => a.at - b.at);
      return out.slice(0, q.limit).map((e, i) => ({ ...e, seq: i + 1 }));
    },
    async storage() {
      return { kind: 'influxdb', size_bytes: null, windows: null, url: db.url };
    },
  };
}
