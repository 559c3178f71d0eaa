import type { AlertDetailJson, AlertHistoryItemJson, AlertJson, MachineListItem, RollupQuery, WindowJson } from '../../api/contract.js';
import type { KpiReader } from '../../api/reader.js';
import type { CentralConfig, Config } from '../../config/schema.js';
import { siteCalendars } from '../../config/site-calendars.js';
import { aggregateToJson, type Aggregate } from '../../core/aggregate.js';
import type { Clock } from '../../core/clock.js';
import { HOUR_MS, partialOf, type PartialSums } from '../../kpi/partials.js';
import type { AlertQuery } from '../../store/alerts.js';
import { foundMachine, machineList } from '../machine-list.js';
import { overviewOf } from '../overview.js';
import { readEnd, rollupJson, sumLevelsFor } from '../rollup.js';
import { seriesJson } from '../series-json.js';
import { aggregateOf, alertOf, alertPointsOf, byTime, pathOf, ruleOfEvent, splitsOf, tagsOf, windowMsOf, type AlertPoint } from './points.js';
import { ident, InfluxQuery, literal, rowsOf } from './query.js';

/** How long the list of machines found in InfluxDB is reused: the overview asks for it on every refresh. */
const MACHINES_TTL_MS = 10_000;
/** How far back the overview looks for a machine's newest window. */
const NEWEST_LOOKBACK_MS = 7 * 86_400_000;

/**
 * The central dashboard's reader (api/reader.ts): what every agent's `influxdb` sink wrote, read
 * back with InfluxQL and summed by the same KPI core as the agent's store. Charts and window lists
 * read the windows; rollups over whole hours let InfluxDB sum each hour (`SUM()` per field,
 * `GROUP BY time(1h)`) and sum the hours here, like the store's hour sums; other rollups read the
 * windows. Ratios always come from the sums.
 */
export function influxReader(cfg: Config, central: CentralConfig, clock: Clock, db: InfluxQuery): KpiReader {
  const m = ident(central.influxdb.measurement);
  const byReason = ident(`${central.influxdb.measurement}_by_reason`);
  const byDestination = ident(`${central.influxdb.measurement}_by_destination`);
  const alertsM = ident(central.influxdb.alertMeasurement);
  const calendars = siteCalendars(cfg);
  const configured = new Map(machineList(cfg).map((x) => [x.machine, x]));
  const span = (from: number | undefined, to: number | undefined) => [from !== undefined ? `time >= ${from}ms` : undefined, to !== undefined ? `time < ${to}ms` : undefined];
  const where = (...conds: (string | undefined)[]) => {
    const c = conds.filter((x) => x !== undefined);
    return c.length === 0 ? '' : `WHERE ${c.join(' AND ')}`;
  };
  const machineWhere = (path: string | undefined): string | undefined => {
    if (path === undefined) return undefined;
    const tags = tagsOf(path);
    // A path that is no machine path matches nothing.
    if (tags === undefined) return 'false';
    return Object.entries(tags)
      .map(([k, v]) => `${ident(k)} = ${literal(v)}`)
      .join(' AND ');
  };

  let found: { at: number; items: MachineListItem[] } | undefined;
  async function machines(): Promise<MachineListItem[]> {
    const now = clock.now();
    if (found !== undefined && now - found.at < MACHINES_TTL_MS && now >= found.at) return found.items;
    const since = now - central.lookback;
    const [last, counts] = await db.run(
      `SELECT LAST("revision") FROM ${m} ${where(...span(since, undefined))} GROUP BY *; SELECT COUNT("revision") FROM ${m} ${where(...span(since, undefined))} GROUP BY "site","area","line","machine"`,
    );
    const newest = new Map<string, { t: number; product: string | undefined; material: string | undefined }>();
    for (const { tags, row } of rowsOf(last!)) {
      const path = pathOf(tags);
      const t = row.time as number;
      if (path !== undefined && (newest.get(path)?.t ?? -Infinity) < t) newest.set(path, { t, product: tags.product || undefined, material: tags.material || undefined });
    }
    const windows = new Map<string, number>();
    for (const { tags, row } of rowsOf(counts!)) {
      const path = pathOf(tags);
      if (path !== undefined) windows.set(path, (windows.get(path) ?? 0) + ((row.count as number) ?? 0));
    }
    const items: MachineListItem[] = [];
    // Configured machines first, in config order, as on an agent; then what else writes there, by path.
    const paths = [...configured.keys(), ...[...newest.keys()].filter((p) => !configured.has(p)).sort()];
    for (const path of paths) {
      const n = newest.get(path);
      const info = foundMachine(cfg, configured, path, n?.product, n?.material);
      if (info !== undefined) items.push({ ...info, windows: windows.get(path) ?? 0, last_window_start: n?.t ?? null });
    }
    found = { at: now, items };
    return items;
  }

  /** The windows of a span, with their scrap split; `limit` per machine series. */
  async function windowAggregates(q: { machine?: string | undefined; from?: number | undefined; to?: number | undefined; limit?: number }): Promise<Aggregate[]> {
    const w = where(machineWhere(q.machine), ...span(q.from, q.to));
    const limit = q.limit !== undefined ? ` LIMIT ${q.limit}` : '';
    const [windows, reasons, destinations] = await db.run(`SELECT * FROM ${m} ${w} GROUP BY *${limit}; SELECT * FROM ${byReason} ${w} GROUP BY *; SELECT * FROM ${byDestination} ${w} GROUP BY *`);
    const splits = splitsOf({ reason: reasons!, destination: destinations! });
    const out: Aggregate[] = [];
    for (const { tags, row } of rowsOf(windows!)) {
      const a = aggregateOf(tags, row, splits, undefined);
      if (a !== undefined) out.push(a);
    }
    // The store's order: by window start, then machine.
    return out.sort((x, y) => x.windowStart - y.windowStart || (x.machine < y.machine ? -1 : x.machine > y.machine ? 1 : 0));
  }

  /** Each hour of each machine (and agent, material, product) summed by InfluxDB: what the store keeps as hour sums. */
  async function hourSums(q: { machine?: string | undefined; from: number; to: number }): Promise<PartialSums[]> {
    const w = where(machineWhere(q.machine), ...span(q.from, q.to));
    const [sums, reasons, destinations] = await db.run(
      `SELECT SUM(*), COUNT("revision") FROM ${m} ${w} GROUP BY time(1h),* fill(none); SELECT SUM(*) FROM ${byReason} ${w} GROUP BY time(1h),* fill(none); SELECT SUM(*) FROM ${byDestination} ${w} GROUP BY time(1h),* fill(none)`,
    );
    const splits = splitsOf({ reason: reasons!, destination: destinations! }, 'sum_');
    const out: PartialSums[] = [];
    for (const { tags, row } of rowsOf(sums!)) {
      const count = row.count;
      if (typeof count !== 'number' || count === 0) continue;
      const a = aggregateOf(tags, row, splits, HOUR_MS, 'sum_');
      if (a === undefined) continue;
      const p = partialOf(a);
      p.windows = count;
      p.covered = count * (windowMsOf(tags) ?? 0);
      out.push(p);
    }
    return out;
  }

  async function rollup(q: RollupQuery) {
    const list = (await machines()).map((x) => x.machine);
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
      machines: async () => (await machines()).map(({ windows: _w, last_window_start: _l, ...info }) => info),
      rollup,
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
    async series(q) {
      return seriesJson(q, (await windowAggregates({ machine: q.machine, from: q.from, to: q.to })).map(partialOf), cfg.kpi.windowSize);
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
