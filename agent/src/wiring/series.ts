import type { MaterialJson, SeriesJson, SeriesQuery, SiteJson } from '../api/contract.js';
import type { Config } from '../config/schema.js';
import { windowSums } from '../kpi/rollup.js';
import { bucketFor, series } from '../kpi/series.js';
import type { Store } from '../store/store.js';

/** A machine's stored windows bucketed for a chart (kpi/series.ts), in the API's JSON. */
export function seriesReader(store: Store, cfg: Config): (q: SeriesQuery) => SeriesJson {
  return (q) => {
    const s = series(windowSums(store.iterateAggregateKpis({ machine: q.machine, from: q.from, to: q.to })), q.from, q.to, bucketFor(q.from, q.to, cfg.kpi.windowSize, q.points));
    const { split, ...totals } = s.totals;
    return {
      machine: q.machine,
      ...s,
      totals: {
        ...totals,
        ...(split?.reason !== undefined ? { scrap_by_reason: split.reason } : {}),
        ...(split?.destination !== undefined ? { scrap_kg_by_destination: Object.fromEntries(Object.entries(split.destination).map(([d, m]) => [d, m.scrap_kg ?? 0])) } : {}),
      },
    };
  };
}

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
