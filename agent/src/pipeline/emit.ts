import type { Aggregate, Breakdowns, Components, Kpis } from '../core/aggregate.js';
import { addComponents, deriveKpis, deriveScrapSplit, KPI_METHOD } from '../kpi/derive.js';
import type { DueWindow } from '../kpi/engine.js';
import type { MaterialFactors } from '../kpi/materials.js';
import { QUALITY_COUNTS, type QualityCounts } from '../core/aggregate.js';
import { componentsOf, qualityOf } from '../kpi/windows.js';
import { mergeBreakdowns, sortedBreakdowns } from '../kpi/breakdowns.js';

/** Where scrap of one machine, material and reason goes (reason undefined: unassigned scrap); undefined when nothing says. */
export type ScrapDestinationOf = (machine: string, material: string | undefined, reason: string | undefined) => string | undefined;

const NO_DESTINATION: ScrapDestinationOf = () => undefined;

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
  destinationOf: ScrapDestinationOf = NO_DESTINATION,
): Aggregate | undefined {
  const w = due.window;
  const components = componentsOf(w, due.measured);
  const quality = qualityOf(w);
  if (previous === undefined) {
    if (w.accepted === 0) return undefined;
    const kpis = deriveKpis(components, { partMassKg: w.partMassKg, material: w.material === undefined ? undefined : materials.get(w.material) });
    return {
      machine: w.machine,
      windowStart: w.start,
      windowEnd: w.end,
      revision: 0,
      product: w.product,
      material: w.material,
      partMassKg: w.partMassKg,
      components,
      ...sums(w.machine, w.material, w.partMassKg, components, kpis, w.breakdowns, destinationOf),
      quality,
      kpis,
      method: KPI_METHOD,
      emittedAt: now,
    };
  }
  const merged = addComponents(previous.components, components);
  const mergedQuality = { ...previous.quality } as QualityCounts;
  for (const k of QUALITY_COUNTS) mergedQuality[k] = (mergedQuality[k] ?? 0) + quality[k];
  // The stored window keeps its product, material and part mass: a revision only adds late counts.
  const kpis = deriveKpis(merged, { partMassKg: previous.partMassKg, material: previous.material === undefined ? undefined : materials.get(previous.material) });
  const { breakdowns: _b, split: _s, ...kept } = previous;
  return {
    ...kept,
    revision: previous.revision + 1,
    components: merged,
    ...sums(previous.machine, previous.material, previous.partMassKg, merged, kpis, mergeBreakdowns(previous.breakdowns, w.breakdowns), destinationOf),
    quality: mergedQuality,
    kpis,
    method: KPI_METHOD,
    emittedAt: now,
  };
}

/** The window's recorded breakdowns (sorted) and the scrap split derived from them, each only when there is one. */
function sums(
  machine: string,
  material: string | undefined,
  partMassKg: number | undefined,
  components: Components,
  kpis: Kpis,
  recorded: Breakdowns | undefined,
  destinationOf: ScrapDestinationOf,
): { breakdowns?: Breakdowns; split?: Breakdowns } {
  const split = deriveScrapSplit(components, kpis, recorded, partMassKg, (reason) => destinationOf(machine, material, reason));
  return { ...(recorded !== undefined ? { breakdowns: sortedBreakdowns(recorded) } : {}), ...(split !== undefined ? { split } : {}) };
}
