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

/** Share of `coverable` machine-milliseconds that windows `covered`; undefined where nothing could be covered. */
export function coverageOf(covered: number, coverable: number): number | undefined {
  return coverable > 0 ? Math.min(1, covered / coverable) : undefined;
}

/**
 * The figures of summed windows: the sums, and every ratio derived from the sums over the windows
 * that define it (never averaged), with the coverage given (of the machines, `coverageOf`).
 */
export function figuresOf(f: FigureSums, coverage: number | undefined): ReportFigures {
  const s = f.sums;
  const out: ReportFigures = { windows: s.windows };
  if (coverage !== undefined) out.coverage = coverage;
  for (const k of COUNTS) if (s.sums[k] !== undefined) out[k] = s.sums[k];
  const other = otherLossKg(s);
  if (other !== undefined) out.other_loss_kg = other;
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

/** Differences below this share of the masses involved are rounding of the sums, not material. */
const ROUNDING = 1e-9;

/**
 * The input of summed windows that weighed none, estimated by mass balance as their good output +
 * scrap (what went in came out as one or the other), from sums alone. A window's loss is in − good
 * where it weighs its input and good output, else its scrap (agent/src/kpi/README.md); material
 * efficiency's sums hold in and good of exactly the windows that weigh both. So good + loss −
 * efficiency's input is good + scrap of the windows without input, and 0 for every other window.
 */
export function estimatedInputKg(s: PartialSums): number {
  const good = s.sums.good_kg ?? 0;
  const loss = s.sums.material_loss_kg ?? 0;
  const weighedIn = s.ratios.material_efficiency?.[1] ?? 0;
  const kg = good + loss - weighedIn;
  return Math.abs(kg) <= ROUNDING * (Math.abs(good) + Math.abs(loss) + weighedIn) ? 0 : kg;
}

/**
 * Material lost without being weighed (or counted) as scrap: in − good − scrap of the windows that
 * weigh input and good output; a window without input has its scrap as its loss, so none. From
 * sums, loss − scrap gives exactly that unless a window weighed its input but not its good output
 * (its loss is unknown, its scrap is not): then the other loss is unknown, and absent.
 */
export function otherLossKg(s: PartialSums): number | undefined {
  const inKg = s.sums.material_in_kg;
  const loss = s.sums.material_loss_kg;
  if (inKg === undefined || loss === undefined) return undefined;
  const weighedWithGood = s.ratios.material_efficiency?.[1] ?? 0;
  if (Math.abs(inKg - weighedWithGood) > ROUNDING * Math.abs(inKg)) return undefined;
  return loss - (s.sums.scrap_kg ?? 0);
}
