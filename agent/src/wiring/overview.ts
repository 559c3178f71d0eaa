import type { MachineInfo, OverviewJson, OverviewPeriodJson, RollupQuery, RollupRowJson } from '../api/contract.js';
import type { Config } from '../config/schema.js';
import { aggregateToJson } from '../core/aggregate.js';
import { alertToJson } from '../core/alert.js';
import type { Clock } from '../core/clock.js';
import { periodOf } from '../kpi/periods.js';
import { shiftFinder } from '../kpi/shifts.js';
import type { Store } from '../store/store.js';
import { siteCalendars } from './calendars.js';

/** A rollup row's KPIs: every number but the period's bounds and counts. */
function kpisOf(row: RollupRowJson | undefined): Pick<OverviewPeriodJson, 'kpis' | 'coverage'> {
  if (row === undefined) return {};
  const kpis: Record<string, number> = {};
  for (const [k, v] of Object.entries(row)) if (typeof v === 'number' && !['period_start', 'period_end', 'windows', 'coverage'].includes(k)) kpis[k] = v;
  return { kpis, ...(row.coverage !== undefined ? { coverage: row.coverage } : {}) };
}

/**
 * Where every machine stands now, for the overview: its newest window, its site's current shift
 * and day so far (summed by the rollup reader: ratios from sums), its open alerts, and whether its
 * data stopped. One rollup per site and period, so 200 machines cost a few queries.
 */
export function overviewReader(store: Store, cfg: Config, machines: readonly MachineInfo[], rollup: (q: RollupQuery) => RollupRowJson[], clock: Clock): () => OverviewJson {
  const zones = Object.fromEntries([...new Set(machines.map((m) => m.site))].map((site) => [site, cfg.sites[site]?.timeZone ?? 'UTC']));
  const finders = new Map([...siteCalendars(cfg)].flatMap(([site, cal]) => (cal.versions.length > 0 ? [[site, shiftFinder(cal)] as const] : [])));
  const staleAfter = 2 * cfg.kpi.windowSize + cfg.kpi.allowedLateness;
  return () => {
    const now = clock.now();
    const bySite = new Map<string, { day: OverviewPeriodJson; dayRows: Map<string, RollupRowJson>; shift: OverviewPeriodJson | null; shiftRows: Map<string, RollupRowJson> }>();
    for (const [site, zone] of Object.entries(zones)) {
      const d = periodOf('day', zone, now)!;
      const rowsOf = (q: RollupQuery) => new Map(rollup(q).filter((r) => String(r.machine).startsWith(`${site}/`)).map((r) => [String(r.machine), r]));
      const s = finders.get(site)?.(now);
      bySite.set(site, {
        day: { period: d.label, period_start: d.start, period_end: d.end },
        dayRows: rowsOf({ period: 'day', by: 'machine', from: d.start, to: d.end }),
        shift: s === undefined ? null : { period: `${s.date} ${s.name}`, period_start: s.start, period_end: s.end },
        shiftRows: s === undefined ? new Map() : rowsOf({ period: 'shift', by: 'machine', from: s.start, to: s.start + 1 }),
      });
    }
    const open = store.alerts.query({ state: 'open' });
    const items = machines.map((m) => {
      const last = store.recentAggregates(m.machine, 1)[0];
      const site = bySite.get(m.site)!;
      return {
        ...m,
        window: last === undefined ? null : aggregateToJson(last),
        stale: last === undefined || now - last.windowEnd > staleAfter,
        shift: site.shift === null ? null : { ...site.shift, ...kpisOf(site.shiftRows.get(m.machine)) },
        day: { ...site.day, ...kpisOf(site.dayRows.get(m.machine)) },
        alerts: open.filter((a) => a.machine === m.machine).map(alertToJson),
      };
    });
    return { generated_at: now, window_ms: cfg.kpi.windowSize, time_zones: zones, items };
  };
}
