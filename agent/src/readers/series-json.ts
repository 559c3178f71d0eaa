import type { SeriesJson, SeriesQuery } from '../api/contract.js';
import type { PartialSums } from '../kpi/partials.js';
import { bucketFor, series } from '../kpi/series.js';

/** A machine's windows bucketed for a chart (kpi/series.ts), in the API's JSON: the same for every backend. */
export function seriesJson(q: SeriesQuery, windows: Iterable<PartialSums>, windowMs: number): SeriesJson {
  const s = series(windows, q.from, q.to, bucketFor(q.from, q.to, windowMs, q.points));
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
}
