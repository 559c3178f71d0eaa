import type { PartialSums } from '../core/rollup.js';
import { addPartial, emptySums } from '../kpi/partials.js';

/**
 * Sums as read (hours or windows) added up per machine, material, product and step of the chart,
 * and the spans each machine has data for: what a report needs of them, in a few thousand sums
 * rather than a month of hours (a month of 50 machines is 36,000 hours). `keep`: the scope.
 */
export function collapseSums(parts: Iterable<PartialSums>, keep: (p: PartialSums) => boolean, stepStart: (t: number) => number): { sums: PartialSums[]; spans: Map<string, { start: number; end: number }[]> } {
  const by = new Map<string, PartialSums>();
  const spans = new Map<string, { start: number; end: number }[]>();
  for (const p of parts) {
    if (!keep(p)) continue;
    let list = spans.get(p.machine);
    if (list === undefined) spans.set(p.machine, (list = []));
    const last = list.at(-1);
    if (last !== undefined && p.start <= last.end && p.end >= last.start) {
      last.start = Math.min(last.start, p.start);
      last.end = Math.max(last.end, p.end);
    } else list.push({ start: p.start, end: p.end });
    const key = `${p.machine}\u0000${p.material ?? ''}\u0000${p.product ?? ''}\u0000${stepStart(p.start)}`;
    const into = by.get(key);
    if (into === undefined) {
      const copy = emptySums(p.machine, p.start, p.end, p.material, p.product);
      addPartial(copy, p, 1);
      by.set(key, copy);
    } else {
      addPartial(into, p, 1);
      into.start = Math.min(into.start, p.start);
      into.end = Math.max(into.end, p.end);
    }
  }
  return { sums: [...by.values()], spans };
}
