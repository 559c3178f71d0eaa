import type { Aggregate } from '../core/aggregate.js';
import { addComponents, deriveKpis, KPI_METHOD } from '../kpi/derive.js';
import type { DueWindow } from '../kpi/engine.js';
import type { MaterialFactors } from '../kpi/materials.js';
import { QUALITY_COUNTS, type QualityCounts } from '../core/aggregate.js';
import { componentsOf, qualityOf } from '../kpi/windows.js';
import { mergeBreakdowns, sortedBreakdowns } from '../kpi/breakdowns.js';

/**
 * Turns a due window into the aggregate to store: the first emission of its window, or a
 * revision that adds the late increment to the stored one. Returns undefined when there is
 * nothing to emit (no sample was ever accepted into the window). Pure.
 */
export function toAggregate(
  due: DueWindow,
  previous: Aggregate | undefined,
  now: number,
  materials: ReadonlyMap<string, MaterialFactors>,
): Aggregate | undefined {
  const w = due.window;
  const components = componentsOf(w, due.measured);
  const quality = qualityOf(w);
  if (previous === undefined) {
    if (w.accepted === 0) return undefined;
    return {
      machine: w.machine,
      windowStart: w.start,
      windowEnd: w.end,
      revision: 0,
      product: w.product,
      material: w.material,
      partMassKg: w.partMassKg,
      components,
      ...(w.breakdowns !== undefined ? { breakdowns: sortedBreakdowns(w.breakdowns) } : {}),
      quality,
      kpis: deriveKpis(components, { partMassKg: w.partMassKg, material: w.material === undefined ? undefined : materials.get(w.material) }),
      method: KPI_METHOD,
      emittedAt: now,
    };
  }
  const merged = addComponents(previous.components, components);
  const mergedQuality = { ...previous.quality } as QualityCounts;
  for (const k of QUALITY_COUNTS) mergedQuality[k] = (mergedQuality[k] ?? 0) + quality[k];
  const breakdowns = mergeBreakdowns(previous.breakdowns, w.breakdowns);
  // The stored window keeps its product, material and part mass: a revision only adds late counts.
  return {
    ...previous,
    revision: previous.revision + 1,
    components: merged,
    ...(breakdowns !== undefined ? { breakdowns: sortedBreakdowns(breakdowns) } : {}),
    quality: mergedQuality,
    kpis: deriveKpis(merged, { partMassKg: previous.partMassKg, material: previous.material === undefined ? undefined : materials.get(previous.material) }),
    method: KPI_METHOD,
    emittedAt: now,
  };
}
