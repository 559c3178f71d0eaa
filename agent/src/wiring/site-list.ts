import type { MaterialJson, ShiftJson, SiteJson } from '../api/contract.js';
import { siteCalendars } from '../config/site-calendars.js';
import { shiftsBetween } from '../kpi/shifts.js';
import type { Config } from '../config/schema.js';

/** The material library as the dashboard and reports show it: every factor with its source. */
export function materialList(cfg: Config): MaterialJson[] {
  return Object.entries(cfg.materials)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([material, m]) => ({
      material,
      price_per_kg: m.pricePerKg ?? null,
      scrap_value_per_kg: m.scrapValuePerKg,
      currency: m.currency,
      co2e_per_kg: m.co2ePerKg === undefined ? null : { value: m.co2ePerKg.value, source: m.co2ePerKg.source, year: m.co2ePerKg.year, boundary: m.co2ePerKg.boundary ?? null },
      crm: m.crm,
      scrap_destination: m.scrapDestination,
    }));
}

/** The sites as the dashboard shows them: time zone, and reason labels in both languages (Dutch falls back to English). */
export function siteList(cfg: Config): SiteJson[] {
  const sites = new Set([...Object.keys(cfg.sites), ...cfg.machines.map((m) => m.path.split('/')[0]!)]);
  return [...sites].sort().map((site) => {
    const s = cfg.sites[site];
    return {
      site,
      time_zone: s?.timeZone ?? 'UTC',
      scrap_reasons: Object.fromEntries(
        Object.entries(s?.scrapReasons ?? {}).map(([code, r]) => [code, { label: { en: r.label.en, nl: r.label.nl ?? r.label.en }, ...(r.group !== undefined ? { group: r.group } : {}), ...(r.destination !== undefined ? { destination: r.destination } : {}) }]),
      ),
    };
  });
}

/** The shifts of each site's calendar over a span, for the machine view's shift picker; undefined for a site without a calendar. */
export function shiftList(cfg: Config): (site: string, from: number, to: number) => ShiftJson[] | undefined {
  const calendars = siteCalendars(cfg);
  return (site, from, to) => {
    const cal = calendars.get(site);
    if (cal === undefined || cal.versions.length === 0) return undefined;
    return shiftsBetween(cal, from, to).map((s) => ({ site, name: s.name, date: s.date, start: s.start, end: s.end }));
  };
}
