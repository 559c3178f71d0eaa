import type { RollupQuery, RollupRowJson } from '../api/contract.js';
import type { Config } from '../config/schema.js';
import { decodeSums, HOUR_MS, type PartialSums } from '../kpi/partials.js';
import { periodOf } from '../kpi/periods.js';
import { rollup, windowSums, type RollupRow } from '../kpi/rollup.js';
import { shiftAt, type ShiftCalendar } from '../kpi/shifts.js';
import { zoneOffset } from '../kpi/site-time.js';
import type { RollupLevel, Store } from '../store/store.js';
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

function* storedSums(store: Store, level: RollupLevel, q: RollupQuery): Generator<PartialSums> {
  for (const s of store.iterateRollupSums(level, q.from, q.to, q.machine)) yield decodeSums(s);
}

/**
 * The coarsest stored sums that give the same rollup as the windows, or undefined: the query must
 * start and end on their boundaries and after they were first kept, windows fit in an hour, and
 * every site's clock is a whole number of hours off UTC. Site shifts serve shifts; site days serve days and longer periods (their boundaries are the site's midnights);
 * hours serve hours, and shifts that start and end on the hour.
 */
function storedLevel(q: RollupQuery, store: Store, cfg: Config, calendars: ReadonlyMap<string, ShiftCalendar>): RollupLevel | undefined {
  if (cfg.kpi.windowSize > HOUR_MS || HOUR_MS % cfg.kpi.windowSize !== 0) return undefined;
  const sites = [...new Set(cfg.machines.map((m) => m.path.split('/')[0]!))];
  const zone = (site: string) => calendars.get(site)?.timeZone ?? 'UTC';
  if (sites.some((site) => zoneOffset(zone(site), q.from) % HOUR_MS !== 0 || zoneOffset(zone(site), q.to) % HOUR_MS !== 0)) return undefined;
  const dayPeriod = q.period === 'day' || q.period === 'week' || q.period === 'month' || q.period === 'quarter' || q.period === 'year';
  const midnight = (site: string, t: number) => periodOf('day', zone(site), t)!.start === t;
  if (dayPeriod && q.from >= store.rollupSumsFrom('day') && sites.every((site) => midnight(site, q.from) && midnight(site, q.to))) return 'day';
  // Shift sums are the whole shifts, which is what a shift rollup counts.
  if (q.period === 'shift' && q.from >= store.rollupSumsFrom('shift')) return 'shift';
  if (q.from % HOUR_MS !== 0 || q.to % HOUR_MS !== 0 || q.from < store.rollupSumsFrom('hour')) return undefined;
  if (q.period === 'shift') {
    for (const site of sites) for (const v of calendars.get(site)?.versions ?? []) for (const s of Object.values(v.shifts)) if (s.start % 60 !== 0 || s.end % 60 !== 0) return undefined;
  }
  return 'hour';
}

/**
 * The API's rollup reader: the query summed in each site's time zone and shift calendar, from the
 * stored site shifts, days or hours when they give the same answer (31 days of 200 machines are
 * 6,200 days, about 13,000 shifts or 148,800 hours instead of 8.9 million windows), else from the
 * stored windows.
 */
export function rollupReader(store: Store, cfg: Config): (q: RollupQuery) => RollupRowJson[] {
  const calendars = siteCalendars(cfg);
  const machines = cfg.machines.map((m) => m.path);
  return (q) => {
    const level = storedLevel(q, store, cfg, calendars);
    // A shift rollup counts the shifts that start in the query whole: read on to the end of the last one.
    let readTo = q.to;
    if (q.period === 'shift') {
      for (const cal of calendars.values()) if (cal.versions.length > 0) readTo = Math.max(readTo, shiftAt(cal, q.to - 1)?.end ?? q.to);
    }
    const read = { ...q, to: readTo };
    return rollup(level !== undefined ? storedSums(store, level, level === 'shift' ? q : read) : windowSums(store.iterateAggregateKpis({ machine: q.machine, from: q.from, to: readTo })), {
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
  };
}
