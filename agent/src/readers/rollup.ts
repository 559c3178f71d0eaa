import type { RollupQuery, RollupRowJson } from '../api/contract.js';
import type { Config } from '../config/schema.js';
import { HOUR_MS, windowsFitHours, type PartialSums } from '../kpi/partials.js';
import { periodOf } from '../kpi/periods.js';
import { rollup, type RollupRow } from '../kpi/rollup.js';
import { shiftAt, type ShiftCalendar } from '../kpi/shifts.js';
import { zoneOffset } from '../kpi/site-time.js';

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

/** Where a query's sums may come from, coarsest first, when they give the same rollup as the windows. */
export type SumLevel = 'shift' | 'day' | 'hour';

/**
 * Whether sums over whole site shifts, site days or hours give the same rollup as the windows:
 * the query must start and end on their boundaries, windows fit in an hour, and every site's clock
 * is a whole number of hours off UTC. `sites`: the sites of the machines in the query.
 */
export function sumLevelsFor(q: RollupQuery, cfg: Config, calendars: ReadonlyMap<string, ShiftCalendar>, sites: readonly string[]): Set<SumLevel> {
  const out = new Set<SumLevel>();
  if (!windowsFitHours(cfg.kpi.windowSize)) return out;
  const zone = (site: string) => calendars.get(site)?.timeZone ?? 'UTC';
  if (sites.some((site) => zoneOffset(zone(site), q.from) % HOUR_MS !== 0 || zoneOffset(zone(site), q.to) % HOUR_MS !== 0)) return out;
  const dayPeriod = q.period === 'day' || q.period === 'week' || q.period === 'month' || q.period === 'quarter' || q.period === 'year';
  const midnight = (site: string, t: number) => periodOf('day', zone(site), t)!.start === t;
  if (dayPeriod && sites.every((site) => midnight(site, q.from) && midnight(site, q.to))) out.add('day');
  // Shift sums are the whole shifts, which is what a shift rollup counts.
  if (q.period === 'shift') out.add('shift');
  if (q.from % HOUR_MS !== 0 || q.to % HOUR_MS !== 0) return out;
  if (q.period === 'shift') {
    for (const site of sites) for (const v of calendars.get(site)?.versions ?? []) for (const s of Object.values(v.shifts)) if (s.start % 60 !== 0 || s.end % 60 !== 0) return out;
  }
  out.add('hour');
  return out;
}

/** The end a shift rollup must read to: the shifts that start in the query count whole. */
export function readEnd(q: RollupQuery, calendars: ReadonlyMap<string, ShiftCalendar>): number {
  let to = q.to;
  if (q.period === 'shift') for (const cal of calendars.values()) if (cal.versions.length > 0) to = Math.max(to, shiftAt(cal, q.to - 1)?.end ?? q.to);
  return to;
}

/** Sums a backend's partial sums into the query's periods and groups in each site's time and shifts, as the API sends them. */
export function rollupJson(parts: Iterable<PartialSums>, q: RollupQuery, calendars: ReadonlyMap<string, ShiftCalendar>, machines: readonly string[]): RollupRowJson[] {
  return rollup(parts, {
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
