import type { PartialSums } from '../core/rollup.js';
import { addPartial, emptySums } from '../kpi/partials.js';

/** What `collapseSums` makes of the sums read for a report. */
export interface CollapsedSums {
  /** Per machine, material, product and step of the chart: the sums in scope. */
  sums: PartialSums[];
  /** The spans each machine has data for, of any material or product, joined where they touch: where its gaps are. */
  spans: Map<string, { start: number; end: number }[]>;
  /** Milliseconds each machine's windows cover, of any material or product. */
  covered: Map<string, number>;
  /** Milliseconds each machine's windows cover per step of the chart, by the step's start. */
  coveredByStep: Map<number, Map<string, number>>;
  /** The spans each machine has sums in scope for (the scope's material or product), joined where they touch. */
  keptSpans: Map<string, { start: number; end: number }[]>;
  /** The longest span read (an hour, or a window where hours are not kept): how fine gaps are found everywhere; undefined without data. */
  resolutionMs: number | undefined;
}

/**
 * Sums as read (hours or windows) added up per machine, material, product and step of the chart:
 * what a report needs of them, in a few thousand sums rather than a month of hours (a month of 50
 * machines is 36,000 hours). `machineInScope` picks the machines; `keep` the sums (the scope's
 * material or product too). Spans and coverage are of the machines, whatever they ran: whether a
 * machine sent data is a fact of the machine, and a machine that ran another material was no gap.
 */
export function collapseSums(parts: Iterable<PartialSums>, machineInScope: (machine: string) => boolean, keep: (p: PartialSums) => boolean, stepStart: (t: number) => number): CollapsedSums {
  const by = new Map<string, PartialSums>();
  const spans = new Map<string, { start: number; end: number }[]>();
  const keptSpans = new Map<string, { start: number; end: number }[]>();
  const covered = new Map<string, number>();
  const coveredByStep = new Map<number, Map<string, number>>();
  let resolutionMs: number | undefined;
  for (const p of parts) {
    if (!machineInScope(p.machine)) continue;
    if (resolutionMs === undefined || p.end - p.start > resolutionMs) resolutionMs = p.end - p.start;
    joinSpan(spans, p);
    const step = stepStart(p.start);
    covered.set(p.machine, (covered.get(p.machine) ?? 0) + p.covered);
    let inStep = coveredByStep.get(step);
    if (inStep === undefined) coveredByStep.set(step, (inStep = new Map()));
    inStep.set(p.machine, (inStep.get(p.machine) ?? 0) + p.covered);
    if (!keep(p)) continue;
    joinSpan(keptSpans, p);
    addInto(by, `${p.machine}\u0000${p.material ?? ''}\u0000${p.product ?? ''}\u0000${step}`, p);
  }
  return { sums: [...by.values()], spans, keptSpans, covered, coveredByStep, resolutionMs };
}

/** Adds `p` to the sums kept under `key`, which then span from the first start to the last end. */
function addInto(by: Map<string, PartialSums>, key: string, p: PartialSums): void {
  let into = by.get(key);
  if (into === undefined) by.set(key, (into = emptySums(p.machine, p.start, p.end, p.material, p.product)));
  addPartial(into, p, 1);
  into.start = Math.min(into.start, p.start);
  into.end = Math.max(into.end, p.end);
}

/** Adds a span of sums to its machine's list, joined with the last one where they touch (sums come in time order per machine). */
function joinSpan(spans: Map<string, { start: number; end: number }[]>, p: PartialSums): void {
  let list = spans.get(p.machine);
  if (list === undefined) spans.set(p.machine, (list = []));
  const last = list.at(-1);
  if (last !== undefined && p.start <= last.end && p.end >= last.start) {
    last.start = Math.min(last.start, p.start);
    last.end = Math.max(last.end, p.end);
  } else list.push({ start: p.start, end: p.end });
}

/**
 * The sums of a period a report compares with, added up per machine and material (only the
 * totals are shown; loss cost needs the material's currency), and the milliseconds the scope's
 * machines cover, of any material or product (as `collapseSums`).
 */
export function collapseComparison(parts: Iterable<PartialSums>, machineInScope: (machine: string) => boolean, keep: (p: PartialSums) => boolean): { sums: PartialSums[]; covered: Map<string, number> } {
  const by = new Map<string, PartialSums>();
  const covered = new Map<string, number>();
  for (const p of parts) {
    if (!machineInScope(p.machine)) continue;
    covered.set(p.machine, (covered.get(p.machine) ?? 0) + p.covered);
    if (!keep(p)) continue;
    addInto(by, `${p.machine}\u0000${p.material ?? ''}`, p);
  }
  return { sums: [...by.values()], covered };
}
