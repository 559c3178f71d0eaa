import type { ReportFigures } from '../api/report-contract.js';
import type { PartialSums } from '../core/rollup.js';
import { addPartial, emptySums } from '../kpi/partials.js';

/** Sums of windows (or hours of them) and their loss cost by currency: what one row of a report adds up. */
export interface FigureSums {
  sums: PartialSums;
  lossCost: Map<string, number>;
}

export function emptyFigureSums(key: string, start: number, end: number): FigureSums {
  return { sums: emptySums(key, start, end, undefined, undefined), lossCost: new Map() };
}

/** Adds `p` into `into`; `currencyOf` gives the currency of a material's prices. */
export function addFigures(into: FigureSums, p: PartialSums, currencyOf: (material: string | undefined) => string | undefined): void {
  addPartial(into.sums, p, 1);
  const cost = p.sums.loss_cost;
  if (cost !== undefined) {
    // loss_cost is only computed for a window whose material has a price, so it has a currency.
    const cur = currencyOf(p.material) ?? 'EUR';
    into.lossCost.set(cur, (into.lossCost.get(cur) ?? 0) + cost);
  }
}

const COUNTS = ['parts_total', 'parts_good', 'parts_scrap', 'parts_rework', 'manual_scrap_parts', 'material_in_kg', 'good_kg', 'scrap_kg', 'manual_scrap_kg', 'material_loss_kg', 'loss_co2e_kg'] as const;
const RATIO_NAMES = ['yield', 'first_pass_yield', 'scrap_rate', 'rework_ratio', 'material_efficiency'] as const;

/**
 * The figures of summed windows: the sums, and every ratio derived from the sums over the windows
 * that define it (never averaged). `coverable`: machine-milliseconds the windows could have covered.
 */
export function figuresOf(f: FigureSums, coverable: number | undefined): ReportFigures {
  const s = f.sums;
  const out: ReportFigures = { windows: s.windows };
  if (coverable !== undefined && coverable > 0) out.coverage = Math.min(1, s.covered / coverable);
  for (const k of COUNTS) if (s.sums[k] !== undefined) out[k] = s.sums[k];
  // Material lost without being weighed as scrap: the loss where input is measured is in − good,
  // of which scrap_kg was weighed (or counted); elsewhere the loss is the scrap itself.
  if (s.sums.material_in_kg !== undefined && s.sums.material_loss_kg !== undefined) out.other_loss_kg = s.sums.material_loss_kg - (s.sums.scrap_kg ?? 0);
  for (const r of RATIO_NAMES) {
    const nd = s.ratios[r];
    if (nd !== undefined && nd[1] !== 0) out[r] = nd[0] / nd[1];
  }
  if (f.lossCost.size > 0) out.loss_cost = Object.fromEntries([...f.lossCost].sort(([a], [b]) => (a < b ? -1 : 1)));
  const crm = Object.keys(s.sums)
    .filter((k) => k.startsWith('crm_loss_kg_'))
    .sort();
  if (crm.length > 0) out.crm_loss_kg = Object.fromEntries(crm.map((k) => [k.slice('crm_loss_kg_'.length), s.sums[k]!]));
  return out;
}
