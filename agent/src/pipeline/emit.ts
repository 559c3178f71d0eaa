import type { Aggregate, Breakdowns, Components, Kpis } from '../core/aggregate.js';
import { addComponents, deriveKpis, deriveScrapSplit, KPI_METHOD, type DestinationOf } from '../kpi/derive.js';
import type { DueWindow } from '../kpi/engine.js';
import type { MaterialFactors } from '../kpi/materials.js';
import { QUALITY_COUNTS, type QualityCounts } from '../core/aggregate.js';
import { componentsOf, qualityOf } from '../kpi/windows.js';
import { mergeBreakdowns, sortedBreakdowns } from '../kpi/breakdowns.js';
import { MANUAL_COMPONENTS } from '../core/aggregate.js';
import type { EntryFields } from '../core/entries.js';
import { MANUAL_DESTINATION_DIMENSION, MANUAL_REASON_DIMENSION } from '../kpi/derive.js';
import { manualSums } from '../kpi/manual.js';

/** Where scrap of one machine, material and reason goes (reason undefined: unassigned scrap); undefined when nothing says. */
export type ScrapDestinationOf = (machine: string, material: string | undefined, reason: string | undefined) => string | undefined;

const NO_DESTINATION: ScrapDestinationOf = () => undefined;

/** What a window's manual entries are summed from: the current versions of the entries in it. */
export type ManualEntryFields = Pick<EntryFields, 'parts' | 'kg' | 'reason' | 'destination'>;

/**
 * Turns a due window into the aggregate to store: the first emission of its window, or a
 * revision that adds the late increment to the stored one. `entries` are the manual entries the
 * window holds now: their sums replace whatever manual scrap the stored window had. Returns
 * undefined when there is nothing to emit (no sample was ever accepted into the window and it
 * holds no entry). Pure.
 */
export function toAggregate(
  due: DueWindow,
  previous: Aggregate | undefined,
  now: number,
  materials: ReadonlyMap<string, MaterialFactors>,
  destinationOf: ScrapDestinationOf = NO_DESTINATION,
  entries: readonly ManualEntryFields[] = [],
): Aggregate | undefined {
  const w = due.window;
  const components = componentsOf(w, due.measured);
  const quality = qualityOf(w);
  if (previous === undefined) {
    if (w.accepted === 0 && entries.length === 0) return undefined;
    const destination: DestinationOf = (reason) => destinationOf(w.machine, w.material, reason);
    const withManual = manual(components, w.breakdowns, entries, w.partMassKg, destination);
    const kpis = deriveKpis(withManual.components, { partMassKg: w.partMassKg, material: w.material === undefined ? undefined : materials.get(w.material) });
    return {
      machine: w.machine,
      windowStart: w.start,
      windowEnd: w.end,
      revision: 0,
      product: w.product,
      material: w.material,
      partMassKg: w.partMassKg,
      components: withManual.components,
      ...sums(withManual.components, kpis, withManual.breakdowns, w.partMassKg, destination, undefined),
      quality,
      kpis,
      method: KPI_METHOD,
      emittedAt: now,
    };
  }
  const mergedQuality = { ...previous.quality } as QualityCounts;
  for (const k of QUALITY_COUNTS) mergedQuality[k] = (mergedQuality[k] ?? 0) + quality[k];
  // The stored window keeps its product, material and part mass: a revision only adds late counts.
  const destination: DestinationOf = (reason) => destinationOf(previous.machine, previous.material, reason);
  const withManual = manual(addComponents(previous.components, components), mergeBreakdowns(previous.breakdowns, w.breakdowns), entries, previous.partMassKg, destination);
  const kpis = deriveKpis(withManual.components, { partMassKg: previous.partMassKg, material: previous.material === undefined ? undefined : materials.get(previous.material) });
  const { breakdowns: _b, split: _s, ...kept } = previous;
  return {
    ...kept,
    revision: previous.revision + 1,
    components: withManual.components,
    ...sums(withManual.components, kpis, withManual.breakdowns, previous.partMassKg, destination, previous.split),
    quality: mergedQuality,
    kpis,
    method: KPI_METHOD,
    emittedAt: now,
  };
}

/**
 * The components and breakdowns with the manual scrap of `entries` in place of whatever manual
 * scrap they held (a revision recomputes it from the entries, it does not add to it). A manual
 * component the window had stays at 0 when no entry gives it any more, so that every channel
 * that overwrites a window's point or row sees it go.
 */
function manual(components: Components, breakdowns: Breakdowns | undefined, entries: readonly ManualEntryFields[], partMassKg: number | undefined, destinationOf: DestinationOf): { components: Components; breakdowns: Breakdowns | undefined } {
  const c: Components = { ...components };
  for (const k of MANUAL_COMPONENTS) delete c[k];
  let b: Breakdowns | undefined;
  if (breakdowns !== undefined) {
    const { [MANUAL_REASON_DIMENSION]: _r, [MANUAL_DESTINATION_DIMENSION]: _d, ...machine } = breakdowns;
    b = Object.keys(machine).length > 0 ? machine : undefined;
  }
  const m = manualSums(entries, partMassKg, destinationOf);
  Object.assign(c, m?.components);
  for (const k of MANUAL_COMPONENTS) if (components[k] !== undefined && c[k] === undefined) c[k] = 0;
  return { components: c, breakdowns: m === undefined ? b : { ...b, ...m.breakdowns } };
}

/**
 * The window's recorded breakdowns (sorted) and the scrap split derived from them, each only when
 * there is one. A key or a measure of the previous emission's split that the revision no longer
 * has stays at 0 (an entry moved to another reason), so that a point written for it is overwritten.
 */
function sums(components: Components, kpis: Kpis, recorded: Breakdowns | undefined, partMassKg: number | undefined, destinationOf: DestinationOf, previousSplit: Breakdowns | undefined): { breakdowns?: Breakdowns; split?: Breakdowns } {
  let split = deriveScrapSplit(components, kpis, recorded, partMassKg, destinationOf);
  if (previousSplit !== undefined) {
    for (const [dimension, keys] of Object.entries(previousSplit)) {
      for (const [key, measures] of Object.entries(keys)) {
        const now = split?.[dimension]?.[key];
        const gone = Object.keys(measures).filter((m) => now?.[m] === undefined);
        if (gone.length === 0) continue;
        split = { ...split, [dimension]: { ...split?.[dimension], [key]: { ...now, ...Object.fromEntries(gone.map((m) => [m, 0])) } } };
      }
    }
    if (split !== undefined) split = sortedBreakdowns(split);
  }
  return { ...(recorded !== undefined ? { breakdowns: sortedBreakdowns(recorded) } : {}), ...(split !== undefined ? { split } : {}) };
}
