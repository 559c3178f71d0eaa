import type { KpiReader } from '../api/reader.js';
import type { EntryService } from '../core/entries.js';
import type { PartialSums } from '../core/rollup.js';
import { HOUR_MS } from '../kpi/partials.js';
import { collapseSums } from './collapse.js';
import { stepOf, type ReportData } from './model.js';
import { periodOf } from '../kpi/periods.js';
import type { DemonstratedPeriod } from './opportunity.js';
import { previousPeriod, yearBefore, type PeriodContext, type ReportPeriod } from './period.js';
import { inScope, type ReportScope } from './scope.js';

/** Where a report reads: the dashboard's reader (the agent's store or InfluxDB) and, on an agent, its manual entries. */
export interface ReportSources {
  reader: KpiReader;
  entries?: Pick<EntryService, 'list'> | undefined;
}

/** How many entries a report lists at most: a month of a busy line is a few hundred. */
const MAX_ENTRIES = 10_000;

async function sumsOf(reader: KpiReader, p: ReportPeriod, coarse = false): Promise<PartialSums[]> {
  return [...(await reader.sums({ from: p.start, to: p.end, coarse }))];
}

/**
 * Reads what a report of `period` and `scope` needs: the period's sums, those of the period
 * before and of the same period a year earlier, each machine's shifts (days) of the
 * opportunity's lookback, and the manual entries. `progress` is told each step.
 */
export async function readReport(
  src: ReportSources,
  q: { period: ReportPeriod; scope: ReportScope; ctx: PeriodContext; now: number; windowSize: number; opportunity: { basis: 'shift' | 'day'; lookbackMs: number } },
  progress: (step: string) => void = () => {},
): Promise<ReportData> {
  const { period, scope, ctx } = q;
  progress('period');
  const step = stepOf(period);
  const keep = inScope(scope);
  // Sums come in time order, machine by machine: the last step answers most of them.
  let last = { start: 0, end: 0 };
  const stepStart = (t: number) => (t >= last.start && t < last.end ? last.start : (last = periodOf(step, ctx.timeZone, t)!).start);
  const { sums, spans } = collapseSums(await src.reader.sums({ from: period.start, to: period.end }), keep, stepStart);
  const prev = previousPeriod(period, ctx);
  const year = yearBefore(period, ctx);
  progress('comparisons');
  // Only their totals are shown: whole days will do.
  const [previous, yearSums] = await Promise.all([prev === undefined ? undefined : sumsOf(src.reader, prev, true), year === undefined ? undefined : sumsOf(src.reader, year, true)]);

  progress('opportunity');
  const demonstrated: DemonstratedPeriod[] = [];
  const from = Math.min(period.start, period.end - q.opportunity.lookbackMs);
  for (const machine of scope.machines) {
    const rows = await src.reader.rollup({ period: q.opportunity.basis, by: 'material', machine, from, to: period.end });
    for (const r of rows) {
      if (typeof r.scrap_rate !== 'number' || typeof r.parts_total !== 'number' || typeof r.material !== 'string' || r.material === '') continue;
      demonstrated.push({ machine, material: r.material, period: r.period, start: r.period_start, scrap_rate: r.scrap_rate, parts_total: r.parts_total });
    }
  }

  progress('entries');
  const entries = src.entries?.list({ from: period.start, to: period.end, limit: MAX_ENTRIES });
  const onHours = period.start % HOUR_MS === 0 && period.end % HOUR_MS === 0 && q.windowSize <= HOUR_MS && HOUR_MS % q.windowSize === 0;
  return {
    period,
    scope,
    now: q.now,
    sums,
    spans,
    resolutionMs: onHours ? HOUR_MS : q.windowSize,
    previous: prev === undefined || previous === undefined ? undefined : { period: prev, sums: previous },
    yearBefore: year === undefined || yearSums === undefined ? undefined : { period: year, sums: yearSums },
    demonstrated,
    entries,
  };
}
