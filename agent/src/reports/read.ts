import type { KpiReader } from '../api/reader.js';
import type { EntryService } from '../core/entries.js';
import type { PartialSums } from '../core/rollup.js';
import { HOUR_MS } from '../kpi/partials.js';
import { periodOf } from '../kpi/periods.js';
import { collapseComparison, collapseSums } from './collapse.js';
import { stepOf, type ReportData } from './model.js';
import type { DemonstratedPeriod } from './opportunity.js';
import { previousPeriod, yearBefore, type PeriodContext, type ReportPeriod } from './period.js';
import { inScope, type ReportScope } from './scope.js';

/** Where a report reads: the dashboard's reader (the agent's store or InfluxDB) and, on an agent, its manual entries. */
export interface ReportSources {
  reader: KpiReader;
  entries?: Pick<EntryService, 'list'> | undefined;
}

/** How many entries a report lists at most: a month of a busy line is a few hundred; beyond, the report says it left some out. */
export const MAX_ENTRIES = 10_000;

/**
 * The sums of a period to compare with, up to `to`: whole site days where they can be read (the
 * reader's coarse sums), then whole hours, then the windows of the last part hour.
 */
async function comparisonSums(reader: KpiReader, p: ReportPeriod, to: number, timeZone: string): Promise<Iterable<PartialSums>> {
  if (to >= p.end) return reader.sums({ from: p.start, to: p.end, coarse: true });
  const midnight = Math.max(p.start, periodOf('day', timeZone, to)!.start);
  const hour = Math.max(midnight, to - (to % HOUR_MS));
  const reads = await Promise.all([
    midnight > p.start ? reader.sums({ from: p.start, to: midnight, coarse: true }) : [],
    hour > midnight ? reader.sums({ from: midnight, to: hour }) : [],
    to > hour ? reader.sums({ from: hour, to }) : [],
  ]);
  return (function* () {
    for (const r of reads) yield* r;
  })();
}

/**
 * Reads what a report of `period` and `scope` needs: the period's sums, those of the period
 * before and of the same period a year earlier (as much of them as has passed of a running
 * period), each machine's shifts (days) of the opportunity's lookback, and the manual entries.
 * `progress` is told each step.
 */
export async function readReport(
  src: ReportSources,
  q: { period: ReportPeriod; scope: ReportScope; ctx: PeriodContext; now: number; windowSize: number; allowedLateness: number; opportunity: { basis: 'shift' | 'day'; lookbackMs: number } },
  progress: (step: string) => void = () => {},
): Promise<ReportData> {
  const { period, scope, ctx } = q;
  progress('period');
  const step = stepOf(period);
  const keep = inScope(scope);
  const machines = new Set(scope.machines);
  const machineInScope = (m: string) => machines.has(m);
  // Sums come in time order, machine by machine: the last step answers most of them.
  let last = { start: 0, end: 0 };
  const stepStart = (t: number) => (t >= last.start && t < last.end ? last.start : (last = periodOf(step, ctx.timeZone, t)!).start);
  const collapsed = collapseSums(await src.reader.sums({ from: period.start, to: period.end }), machineInScope, keep, stepStart);

  progress('comparisons');
  // Of a running period, the others only as far as this one has data due: its windows that
  // ended allowedLateness ago (the first 3 days and 10 hours of last month against this month
  // so far). A whole month against part of one would read as a drop of everything counted.
  const due = Math.floor((q.now - q.allowedLateness) / q.windowSize) * q.windowSize;
  const elapsed = Math.max(0, Math.min(due, period.end) - period.start);
  const compare = async (p: ReportPeriod | undefined) => {
    if (p === undefined) return undefined;
    const end = q.now < period.end ? Math.min(p.end, p.start + elapsed) : p.end;
    const { sums, covered } = collapseComparison(await comparisonSums(src.reader, p, end, ctx.timeZone), machineInScope, keep);
    return { period: { ...p, end }, sums, covered, toDate: end < p.end };
  };
  const [previous, year] = await Promise.all([compare(previousPeriod(period, ctx)), compare(yearBefore(period, ctx))]);

  progress('opportunity');
  const demonstrated: DemonstratedPeriod[] = [];
  // From a whole day (shifts count whole anyway): a part of a day is no day demonstrated.
  const lookbackStart = Math.min(period.start, period.end - q.opportunity.lookbackMs);
  const from = q.opportunity.basis === 'day' ? periodOf('day', ctx.timeZone, lookbackStart)!.start : lookbackStart;
  // Of a product scope, the best is the machine's on that product.
  const by = scope.product !== undefined ? 'product' : 'material';
  for (const machine of scope.machines) {
    const rows = await src.reader.rollup({ period: q.opportunity.basis, by, machine, from, to: period.end });
    for (const r of rows) {
      if (typeof r.scrap_rate !== 'number' || typeof r.parts_total !== 'number') continue;
      const group = r[by];
      if (typeof group !== 'string' || group === '' || (scope.product !== undefined && group !== scope.product)) continue;
      demonstrated.push({ machine, material: by === 'material' ? group : undefined, period: r.period, start: r.period_start, scrap_rate: r.scrap_rate, parts_total: r.parts_total });
    }
  }

  progress('entries');
  // Per machine of the scope, so the limit is the scope's, not the site's.
  const entries = src.entries;
  const listed = entries === undefined ? undefined : scope.machines.flatMap((machine) => entries.list({ machine, from: period.start, to: period.end, limit: MAX_ENTRIES + 1 }));
  return {
    period,
    scope,
    now: q.now,
    sums: collapsed.sums,
    spans: collapsed.spans,
    keptSpans: collapsed.keptSpans,
    covered: collapsed.covered,
    coveredByStep: collapsed.coveredByStep,
    // Gaps are no finer than the coarsest span read: hours, or windows where hours are not kept.
    resolutionMs: collapsed.resolutionMs ?? q.windowSize,
    previous,
    yearBefore: year,
    demonstrated,
    entries: listed?.sort((a, b) => a.current.ts - b.current.ts).slice(0, MAX_ENTRIES),
    entriesTruncated: listed !== undefined && listed.length > MAX_ENTRIES,
  };
}
