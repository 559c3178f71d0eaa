import { QUALITY_COUNTS, type Aggregate, type Breakdowns, type QualityCounts } from '../core/aggregate.js';
import { mergeBreakdowns, sortedBreakdowns } from './breakdowns.js';
import { KPI_METHOD } from './derive.js';
import { periodOf, type Period, type PeriodSpan } from './periods.js';
import type { ShiftCalendar } from './shifts.js';

/** What a rollup groups by. */
export const ROLLUP_GROUPS = ['machine', 'line', 'area', 'site', 'material', 'product', 'reason', 'destination'] as const;
export type RollupGroup = (typeof ROLLUP_GROUPS)[number];

/** KPIs that add up across windows; every other KPI is a ratio, derived from these sums. */
const ADDITIVE = new Set(['parts_total', 'parts_good', 'parts_scrap', 'parts_rework', 'good_kg', 'scrap_kg', 'material_in_kg', 'material_loss_kg', 'loss_cost', 'loss_co2e_kg']);
const isAdditive = (k: string) => ADDITIVE.has(k) || k.startsWith('crm_loss_kg_');

/** Ratios: name → numerator and denominator, each summed over the windows that define the ratio. */
const RATIOS: Readonly<Record<string, readonly [string, string]>> = {
  yield: ['parts_good', 'parts_total'],
  scrap_rate: ['parts_scrap', 'parts_total'],
  rework_ratio: ['parts_rework', 'parts_total'],
  first_pass_yield: ['parts_good', 'parts_total'],
  material_efficiency: ['good_kg', 'material_in_kg'],
};

export interface RollupOptions {
  period: Period;
  by: RollupGroup;
  /** Only windows that start in [from, to) count; periods are clipped to it for coverage. */
  from: number;
  to: number;
  /** The site of a machine path, its time zone and shift calendar. */
  timeZoneOf(site: string): string;
  calendarOf(site: string): ShiftCalendar | undefined;
  /** The configured machines, so that coverage counts a machine that sent nothing. */
  machines: readonly string[];
}

/** One row of a rollup: a period and a group, with the sums, the ratios derived from them, data quality and coverage. */
export interface RollupRow {
  period: string;
  period_start: number;
  period_end: number;
  /** The group's value: a machine path, `site/line`, a material, a reason code, … */
  group: string;
  windows: number;
  /** Share of the period (clipped to the query, per machine of the group) that windows cover; absent for reason and destination rows. */
  coverage?: number;
  /** Sums and the ratios derived from them (reason rows: `parts_scrap`, `scrap_kg`, `share_of_scrap`; destination rows: `scrap_kg`, `share_of_scrap_kg`). */
  kpis: Record<string, number>;
  quality: QualityCounts;
  scrap_by_reason?: Breakdowns[string];
  scrap_kg_by_destination?: Record<string, number>;
  method: string;
}

interface Acc {
  span: PeriodSpan;
  group: string;
  windows: number;
  sums: Map<string, number>;
  ratios: Map<string, [number, number]>;
  quality: QualityCounts;
  split: Breakdowns | undefined;
  /** Covered ms per machine. */
  covered: Map<string, number>;
}

function levels(path: string): string[] {
  return path.split('/');
}

/** The group of a window for a structural or context grouping; a 3-level path's area is its site. */
function groupOf(by: RollupGroup, a: Aggregate): string {
  const l = levels(a.machine);
  switch (by) {
    case 'machine':
      return a.machine;
    case 'line':
      return l.slice(0, -1).join('/');
    case 'area':
      return l.slice(0, l.length === 4 ? 2 : 1).join('/');
    case 'site':
      return l[0]!;
    case 'material':
      return a.material ?? '';
    case 'product':
      return a.product ?? '';
    default:
      return '';
  }
}

function emptyQuality(): QualityCounts {
  return Object.fromEntries(QUALITY_COUNTS.map((k) => [k, 0])) as QualityCounts;
}

/**
 * Sums windows into periods of the site's time and groups, and derives every ratio from the
 * sums over the windows that define it, never averaging ratios (agent/src/kpi/README.md,
 * "Rollups"). A window counts in the period its start falls in. Pure.
 */
export function rollup(windows: Iterable<Aggregate>, o: RollupOptions): RollupRow[] {
  const rows = new Map<string, Acc>();
  const acc = (span: PeriodSpan, group: string): Acc => {
    const key = `${span.start}\u0000${group}`;
    let r = rows.get(key);
    if (r === undefined) {
      r = { span, group, windows: 0, sums: new Map(), ratios: new Map(), quality: emptyQuality(), split: undefined, covered: new Map() };
      rows.set(key, r);
    }
    return r;
  };
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);

  for (const a of windows) {
    if (a.windowStart < o.from || a.windowStart >= o.to) continue;
    const site = levels(a.machine)[0]!;
    const span = periodOf(o.period, o.timeZoneOf(site), a.windowStart, o.calendarOf(site));
    if (span === undefined) continue;
    if (o.by === 'reason' || o.by === 'destination') {
      const dim = o.by === 'reason' ? a.split?.reason : a.split?.destination;
      for (const [key, measures] of Object.entries(dim ?? {})) {
        const r = acc(span, key);
        r.windows++;
        for (const [k, v] of Object.entries(measures)) add(r.sums, k, v);
      }
      continue;
    }
    const r = acc(span, groupOf(o.by, a));
    r.windows++;
    for (const [k, v] of Object.entries(a.kpis)) if (isAdditive(k)) add(r.sums, k, v);
    for (const [name, [num, den]] of Object.entries(RATIOS)) {
      if (!(name in a.kpis)) continue;
      const cur = r.ratios.get(name) ?? [0, 0];
      r.ratios.set(name, [cur[0] + a.kpis[num]!, cur[1] + a.kpis[den]!]);
    }
    for (const k of QUALITY_COUNTS) r.quality[k] += a.quality[k] ?? 0;
    r.split = mergeBreakdowns(r.split, a.split);
    const covered = Math.min(a.windowEnd, span.end, o.to) - Math.max(a.windowStart, span.start, o.from);
    if (covered > 0) add(r.covered, a.machine, covered);
  }

  // Shares of scrap per period, for the Pareto of reasons and the split by destination.
  const periodTotals = new Map<number, number>();
  if (o.by === 'reason' || o.by === 'destination') {
    const measure = o.by === 'reason' ? 'parts_scrap' : 'scrap_kg';
    for (const r of rows.values()) periodTotals.set(r.span.start, (periodTotals.get(r.span.start) ?? 0) + (r.sums.get(measure) ?? 0));
  }

  const out: RollupRow[] = [];
  for (const r of rows.values()) {
    const kpis: Record<string, number> = Object.fromEntries([...r.sums].sort(([a], [b]) => (a < b ? -1 : 1)));
    const row: RollupRow = { period: r.span.label, period_start: r.span.start, period_end: r.span.end, group: r.group, windows: r.windows, kpis, quality: r.quality, method: KPI_METHOD };
    if (o.by === 'reason' || o.by === 'destination') {
      const [measure, share] = o.by === 'reason' ? ['parts_scrap', 'share_of_scrap'] : ['scrap_kg', 'share_of_scrap_kg'];
      const total = periodTotals.get(r.span.start) ?? 0;
      if (total > 0) kpis[share] = (r.sums.get(measure) ?? 0) / total;
    } else {
      for (const [name, [num, den]] of r.ratios) if (den !== 0) kpis[name] = num / den;
      const expected = o.by === 'machine' ? [r.group] : isStructural(o.by) ? o.machines.filter((m) => groupOf(o.by, { machine: m } as Aggregate) === r.group) : [...r.covered.keys()];
      const length = Math.min(r.span.end, o.to) - Math.max(r.span.start, o.from);
      if (length > 0 && expected.length > 0) row.coverage = Math.min(1, [...r.covered.values()].reduce((a, b) => a + b, 0) / (length * expected.length));
      if (r.split !== undefined) {
        const split = sortedBreakdowns(r.split);
        if (split.reason !== undefined) row.scrap_by_reason = split.reason;
        if (split.destination !== undefined) row.scrap_kg_by_destination = Object.fromEntries(Object.entries(split.destination).map(([d, m]) => [d, m.scrap_kg ?? 0]));
      }
    }
    out.push(row);
  }
  return out.sort((a, b) => a.period_start - b.period_start || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

function isStructural(by: RollupGroup): boolean {
  return by === 'machine' || by === 'line' || by === 'area' || by === 'site';
}
