import type { RollupQuery, RollupRowJson } from '../api/contract.js';
import type { Config } from '../config/schema.js';
import { rollup, windowSums, type RollupRow } from '../kpi/rollup.js';
import type { Store } from '../store/store.js';
import { siteCalendars } from './calendars.js';

/** A rollup row as the API sends it: the group under the name of what it groups by, the KPIs at top level. */
function toJson(r: RollupRow, by: RollupQuery['by']): RollupRowJson {
  return {
    period: r.period,
    period_start: r.period_start,
    period_end: r.period_end,
    [by]: r.group,
    ...(r.windows !== undefined ? { windows: r.windows } : {}),
    ...(r.coverage !== undefined ? { coverage: r.coverage } : {}),
    ...r.kpis,
    ...(by === 'reason' || by === 'destination' ? {} : { quality: r.quality }),
    ...(r.scrap_by_reason !== undefined ? { scrap_by_reason: r.scrap_by_reason as Record<string, Record<string, number>> } : {}),
    ...(r.scrap_kg_by_destination !== undefined ? { scrap_kg_by_destination: r.scrap_kg_by_destination } : {}),
    method: r.method,
  };
}

/** The API's rollup reader: the stored windows of the query, summed in each site's time zone and shift calendar. */
export function rollupReader(store: Store, cfg: Config): (q: RollupQuery) => RollupRowJson[] {
  const calendars = siteCalendars(cfg);
  const machines = cfg.machines.map((m) => m.path);
  return (q) =>
    rollup(windowSums(store.iterateAggregates({ machine: q.machine, from: q.from, to: q.to })), {
      period: q.period,
      by: q.by,
      from: q.from,
      to: q.to,
      timeZoneOf: (site) => calendars.get(site)?.timeZone ?? 'UTC',
      calendarOf: (site) => {
        const c = calendars.get(site);
        return c !== undefined && c.versions.length > 0 ? c : undefined;
      },
      machines: q.machine === undefined ? machines : machines.filter((m) => m === q.machine),
    }).map((r) => toJson(r, q.by));
}
