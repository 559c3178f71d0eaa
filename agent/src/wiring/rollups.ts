import type { RollupQuery, RollupRowJson } from '../api/contract.js';
import type { Config } from '../config/schema.js';
import { decodeHour, HOUR_MS, type PartialSums } from '../kpi/partials.js';
import { rollup, windowSums, type RollupRow } from '../kpi/rollup.js';
import type { ShiftCalendar } from '../kpi/shifts.js';
import { zoneOffset } from '../kpi/site-time.js';
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

function* hourSums(store: Store, q: RollupQuery): Generator<PartialSums> {
  for (const h of store.iterateRollupHours(q.from, q.to, q.machine)) yield decodeHour(h.machine, h.hourStart, h.material, h.product, h.data);
}

/**
 * True when the stored hours give the same rollup as the windows: the query starts and ends on
 * the hour and after hours were first kept, windows fit in an hour, every site's clock is a
 * whole number of hours off UTC, and (for shifts) every shift starts and ends on the hour.
 */
function hoursServe(q: RollupQuery, store: Store, cfg: Config, calendars: ReadonlyMap<string, ShiftCalendar>): boolean {
  if (q.from % HOUR_MS !== 0 || q.to % HOUR_MS !== 0 || q.from < store.rollupHoursFrom()) return false;
  if (cfg.kpi.windowSize > HOUR_MS || HOUR_MS % cfg.kpi.windowSize !== 0) return false;
  for (const site of new Set(cfg.machines.map((m) => m.path.split('/')[0]!))) {
    const zone = calendars.get(site)?.timeZone ?? 'UTC';
    if (zoneOffset(zone, q.from) % HOUR_MS !== 0 || zoneOffset(zone, q.to) % HOUR_MS !== 0) return false;
    if (q.period === 'shift') {
      for (const v of calendars.get(site)?.versions ?? []) for (const s of Object.values(v.shifts)) if (s.start % 60 !== 0 || s.end % 60 !== 0) return false;
    }
  }
  return true;
}

/**
 * The API's rollup reader: the query summed in each site's time zone and shift calendar, from the
 * stored hours when they give the same answer (a month of 200 machines is 144,000 hours instead
 * of 8.6 million windows), else from the stored windows.
 */
export function rollupReader(store: Store, cfg: Config): (q: RollupQuery) => RollupRowJson[] {
  const calendars = siteCalendars(cfg);
  const machines = cfg.machines.map((m) => m.path);
  return (q) =>
    rollup(hoursServe(q, store, cfg, calendars) ? hourSums(store, q) : windowSums(store.iterateAggregates({ machine: q.machine, from: q.from, to: q.to })), {
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
