import type { RollupGroup } from '../core/rollup.js';
import type { AggregateKpis, Breakdowns, QualityCounts } from '../core/aggregate.js';
import { sortedBreakdowns } from './breakdowns.js';
import { addPartial, emptySums, partialOf, type PartialSums } from './partials.js';
import { KPI_METHOD } from './derive.js';
import { periodOf, type Period, type PeriodSpan } from './periods.js';
import { shiftFinder, type ShiftCalendar, type ShiftInstance } from './shifts.js';

export type { RollupGroup };

export interface RollupOptions {
  period: Period;
  by: RollupGroup;
  /** Only windows that start in [from, to) count, and periods are clipped to it for coverage; for shifts, the shifts that start in it count whole. */
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
  /** Windows summed into the row; absent for reason and destination rows. */
  windows?: number;
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
  total: PartialSums;
  /** Covered ms per machine. */
  covered: Map<string, number>;
}

function levels(path: string): string[] {
  return path.split('/');
}

/** The group of a window for a structural or context grouping; a 3-level path's area is its site. */
function groupOf(by: RollupGroup, a: Pick<PartialSums, 'machine' | 'material' | 'product'>): string {
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

/** `rollup` over stored windows. */
export function* windowSums(windows: Iterable<AggregateKpis>): Generator<PartialSums> {
  for (const a of windows) yield partialOf(a);
}

/**
 * Sums windows (or hours of windows) into periods of the site's time and groups, and derives
 * every ratio from the sums over the windows that define it, never averaging ratios
 * (agent/src/kpi/README.md, "Rollups"). A window counts in the period its start falls in; an
 * hour of windows in the period its hour falls in. Pure.
 */
export function rollup(parts: Iterable<PartialSums>, o: RollupOptions): RollupRow[] {
  const rows = new Map<string, Acc>();
  const acc = (span: PeriodSpan, group: string): Acc => {
    const key = `${span.start}\u0000${group}`;
    let r = rows.get(key);
    if (r === undefined) {
      r = { span, group, total: emptySums(group, span.start, span.end, undefined, undefined), covered: new Map() };
      rows.set(key, r);
    }
    return r;
  };

  // Periods are long against windows and hours, and sums come in time order per machine: the
  // last period of each site answers most lookups without asking the time zone rules again, and
  // stored sums come machine by machine, so the period of each start is kept for the next machine.
  const lastSpan = new Map<string, PeriodSpan>();
  const byStart = new Map<string, Map<number, PeriodSpan | null>>();
  const shiftFinders = new Map<string, ((t: number) => ShiftInstance | undefined) | undefined>();
  const spanOf = (site: string, t: number): PeriodSpan | undefined => {
    const last = lastSpan.get(site);
    if (last !== undefined && t >= last.start && t < last.end) return last;
    let known = byStart.get(site);
    if (known === undefined) byStart.set(site, (known = new Map()));
    const cached = known.get(t);
    if (cached !== undefined) return cached ?? undefined;
    if (!shiftFinders.has(site)) {
      const calendar = o.calendarOf(site);
      shiftFinders.set(site, calendar === undefined ? undefined : shiftFinder(calendar));
    }
    const span = periodOf(o.period, o.timeZoneOf(site), t, shiftFinders.get(site));
    if (span !== undefined) lastSpan.set(site, span);
    known.set(t, span ?? null);
    return span;
  };
  for (const p of parts) {
    // Shifts are whole: the rows are the shifts that start in [from, to), with every window of each.
    const whole = o.period === 'shift';
    if (!whole && (p.start < o.from || p.start >= o.to)) continue;
    const span = spanOf(p.machine.slice(0, p.machine.indexOf('/')), p.start);
    if (span === undefined || (whole && (span.start < o.from || span.start >= o.to))) continue;
    if (o.by === 'reason' || o.by === 'destination') {
      const dim = o.by === 'reason' ? p.split?.reason : p.split?.destination;
      for (const [key, measures] of Object.entries(dim ?? {})) {
        // A key kept at 0 for a revision (an entry moved away) is no reason of this window.
        if (Object.values(measures).every((v) => v === 0)) continue;
        const sums = acc(span, key).total.sums;
        for (const [k, v] of Object.entries(measures)) sums[k] = (sums[k] ?? 0) + v;
      }
      continue;
    }
    const r = acc(span, groupOf(o.by, p));
    addPartial(r.total, p, 1);
    // What of the sums' span lies in the period and the query: all of an hour, or the part of a window.
    const [from, to] = whole ? [span.start, span.end] : [o.from, o.to];
    const clipped = Math.min(p.end, span.end, to) - Math.max(p.start, span.start, from);
    if (clipped > 0) r.covered.set(p.machine, (r.covered.get(p.machine) ?? 0) + (p.covered * clipped) / (p.end - p.start));
  }

  // Shares of scrap per period, for the Pareto of reasons and the split by destination.
  const periodTotals = new Map<number, number>();
  if (o.by === 'reason' || o.by === 'destination') {
    const measure = o.by === 'reason' ? 'parts_scrap' : 'scrap_kg';
    for (const r of rows.values()) periodTotals.set(r.span.start, (periodTotals.get(r.span.start) ?? 0) + (r.total.sums[measure] ?? 0));
  }

  const out: RollupRow[] = [];
  for (const r of rows.values()) {
    const t = r.total;
    const kpis: Record<string, number> = Object.fromEntries(Object.entries(t.sums).sort(([a], [b]) => (a < b ? -1 : 1)));
    const row: RollupRow = { period: r.span.label, period_start: r.span.start, period_end: r.span.end, group: r.group, kpis, quality: t.quality, method: KPI_METHOD };
    if (o.by === 'reason' || o.by === 'destination') {
      const [measure, share] = o.by === 'reason' ? ['parts_scrap', 'share_of_scrap'] : ['scrap_kg', 'share_of_scrap_kg'];
      const total = periodTotals.get(r.span.start) ?? 0;
      if (total > 0) kpis[share] = (t.sums[measure] ?? 0) / total;
    } else {
      row.windows = t.windows;
      for (const [name, [num, den]] of Object.entries(t.ratios)) if (den !== 0) kpis[name] = num / den;
      const expected = o.by === 'machine' ? [r.group] : isStructural(o.by) ? o.machines.filter((m) => groupOf(o.by, { machine: m, material: undefined, product: undefined }) === r.group) : [...r.covered.keys()];
      const length = o.period === 'shift' ? r.span.end - r.span.start : Math.min(r.span.end, o.to) - Math.max(r.span.start, o.from);
      if (length > 0 && expected.length > 0) row.coverage = Math.min(1, [...r.covered.values()].reduce((a, b) => a + b, 0) / (length * expected.length));
      if (t.split !== undefined) {
        const split = sortedBreakdowns(t.split);
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
