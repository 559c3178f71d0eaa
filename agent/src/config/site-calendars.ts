import type { Config } from './schema.js';
import type { ShiftCalendar } from '../kpi/shifts.js';
import { minuteOfDay } from '../kpi/site-time.js';

/** Each configured site's time zone and shift calendar, as the KPI core reads them. */
export function siteCalendars(cfg: Config): Map<string, ShiftCalendar> {
  const out = new Map<string, ShiftCalendar>();
  for (const [site, s] of Object.entries(cfg.sites)) {
    out.set(site, {
      timeZone: s.timeZone,
      versions: s.shiftCalendar.map((v) => ({
        validFrom: v.validFrom,
        shifts: Object.fromEntries(Object.entries(v.shifts).map(([name, d]) => [name, { start: minuteOfDay(d.start), end: minuteOfDay(d.end) }])),
        week: v.week,
        exceptions: v.exceptions.map((e) => ({ from: e.from, to: e.to ?? e.from, shifts: e.shifts })),
      })),
    });
  }
  return out;
}
