import type { Breakdowns, QualityCounts } from './aggregate.js';

/** The periods a rollup sums over, in the site's time (agent/src/kpi/README.md, "Rollups"). */
export const ROLLUP_PERIODS = ['hour', 'shift', 'day', 'week', 'month', 'quarter', 'year'] as const;
export type RollupPeriod = (typeof ROLLUP_PERIODS)[number];

/** What a rollup groups by. */
export const ROLLUP_GROUPS = ['machine', 'line', 'area', 'site', 'material', 'product', 'reason', 'destination'] as const;
export type RollupGroup = (typeof ROLLUP_GROUPS)[number];

/**
 * What windows of one machine add up to, for rollups: one window, or every window of one hour
 * (the store keeps those, so a month is read from hours, not minutes). Sums only: ratios are
 * kept as numerator and denominator over the windows that define them.
 */
export interface PartialSums {
  machine: string;
  /** Bounds of what the sums cover (a window, or an hour), epoch ms, end exclusive. */
  start: number;
  end: number;
  material: string | undefined;
  product: string | undefined;
  windows: number;
  /** Milliseconds the windows cover. */
  covered: number;
  sums: Record<string, number>;
  ratios: Record<string, [number, number]>;
  quality: QualityCounts;
  split: Breakdowns | undefined;
}
