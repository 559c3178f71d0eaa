import type { Breakdowns, QualityCounts } from '../core/aggregate.js';
import type { SeriesBuckets } from '../core/series.js';
import { sortedBreakdowns } from './breakdowns.js';
import { addPartial, emptySums, type PartialSums } from './partials.js';

/** What a chart draws per bucket: the sums, the ratios derived from them, and the spread of the windows' yields. */
export const SERIES_SUMS = ['parts_total', 'parts_good', 'parts_scrap', 'manual_scrap_parts', 'scrap_kg', 'material_loss_kg', 'loss_co2e_kg', 'loss_cost'] as const;
export const SERIES_RATIOS = ['yield', 'scrap_rate', 'material_efficiency'] as const;

/** A machine's windows over a span, bucketed for a chart, with the span's totals. */
export interface Series extends SeriesBuckets {
  /** The whole span summed: every sum, every ratio from the sums, data quality, scrap by reason and destination. */
  totals: { kpis: Record<string, number>; quality: QualityCounts; windows: number; split: Breakdowns | undefined };
}

/** The smallest bucket, a whole number of windows, that keeps the chart within `maxPoints`. */
export function bucketFor(from: number, to: number, windowMs: number, maxPoints: number): number {
  return Math.max(1, Math.ceil((to - from) / windowMs / maxPoints)) * windowMs;
}

/**
 * Buckets a machine's windows (in time order) for a chart: within each bucket the components are
 * summed and the ratios derived from the sums, never averaged (agent/src/kpi/README.md, "Rollups"),
 * so a 30-day chart of 1-minute windows is a few thousand points whose numbers still add up. Pure.
 */
export function series(windows: Iterable<PartialSums>, from: number, to: number, bucketMs: number): Series {
  const n = Math.max(0, Math.ceil((to - from) / bucketMs));
  const buckets: (PartialSums | undefined)[] = new Array(n).fill(undefined);
  const min: (number | null)[] = new Array(n).fill(null);
  const max: (number | null)[] = new Array(n).fill(null);
  const total = emptySums('', from, to, undefined, undefined);
  for (const w of windows) {
    if (w.start < from || w.start >= to) continue;
    const i = Math.floor((w.start - from) / bucketMs);
    const b = (buckets[i] ??= emptySums(w.machine, from + i * bucketMs, from + (i + 1) * bucketMs, undefined, undefined));
    addPartial(b, w, 1);
    const y = w.ratios.yield;
    if (y !== undefined && y[1] !== 0) {
      const v = y[0] / y[1];
      min[i] = min[i] === null ? v : Math.min(min[i]!, v);
      max[i] = max[i] === null ? v : Math.max(max[i]!, v);
    }
  }
  // The span's totals are its buckets' sums: a thousand buckets to add rather than every window again.
  for (const b of buckets) if (b !== undefined) addPartial(total, b, 1);
  const columns: Record<string, (number | null)[]> = {};
  for (const k of SERIES_SUMS) columns[k] = buckets.map((b) => b?.sums[k] ?? null);
  for (const k of SERIES_RATIOS) columns[k] = buckets.map((b) => ratioOf(b, k));
  return {
    from,
    to,
    bucket_ms: bucketMs,
    t: buckets.map((_b, i) => from + i * bucketMs),
    columns,
    yield_min: min,
    yield_max: max,
    totals: {
      kpis: { ...total.sums, ...Object.fromEntries(Object.keys(total.ratios).flatMap((k) => (total.ratios[k]![1] !== 0 ? [[k, total.ratios[k]![0] / total.ratios[k]![1]]] : []))) },
      quality: total.quality,
      windows: total.windows,
      split: total.split === undefined ? undefined : sortedBreakdowns(total.split),
    },
  };
}

function ratioOf(b: PartialSums | undefined, name: string): number | null {
  const r = b?.ratios[name];
  return r === undefined || r[1] === 0 ? null : r[0] / r[1];
}
