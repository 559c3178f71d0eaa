/** The periods a rollup sums over, in the site's time (agent/src/kpi/README.md, "Rollups"). */
export const ROLLUP_PERIODS = ['hour', 'shift', 'day', 'week', 'month', 'quarter', 'year'] as const;
export type RollupPeriod = (typeof ROLLUP_PERIODS)[number];

/** What a rollup groups by. */
export const ROLLUP_GROUPS = ['machine', 'line', 'area', 'site', 'material', 'product', 'reason', 'destination'] as const;
export type RollupGroup = (typeof ROLLUP_GROUPS)[number];
