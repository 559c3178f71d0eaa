/**
 * A machine's windows over a span, bucketed for a chart, column by column (null where a bucket has
 * no window): what the KPI core makes (kpi/series.ts) and the API sends (`/api/v1/kpis/series`).
 */
export interface SeriesBuckets {
  from: number;
  to: number;
  bucket_ms: number;
  t: number[];
  /** Each sum and each ratio by name, one value per bucket. */
  columns: Record<string, (number | null)[]>;
  /** Lowest and highest yield of one window in each bucket: what the bucket's yield hides. */
  yield_min: (number | null)[];
  yield_max: (number | null)[];
}
