import type { Breakdowns, Components, Kpis, Measures } from '../core/aggregate.js';
import { UNASSIGNED_REASON } from '../core/reasons.js';
import type { SummedSignal } from '../core/signals.js';
import type { MaterialFactors } from './materials.js';

/** Version of the KPI method every aggregate and report names. */
export const KPI_METHOD = 'yieldwatch-kpi/2';

/** Context the derivation needs besides the sums. */
export interface DeriveContext {
  partMassKg?: number | undefined;
  material?: MaterialFactors | undefined;
}

function ratio(num: number | undefined, den: number | undefined): number | undefined {
  // A ratio with a zero (or unknown) denominator is absent, never 0, NaN or Infinity.
  if (num === undefined || den === undefined || den === 0) return undefined;
  return num / den;
}

/**
 * Derives every KPI from summed components, exactly as agent/src/kpi/README.md "KPIs" defines them.
 * Rollups call it with their summed components: ratios are never averaged.
 */
export function deriveKpis(c: Components, ctx: DeriveContext): Kpis {
  const out: Kpis = {};
  let total = c.parts_total;
  let good = c.parts_good;
  const scrap = c.parts_scrap;
  const rework = c.parts_rework;
  // Without good parts the total is unknown, and without losses the good parts are:
  // neither is guessed (a yield of 1 from a lone total counter would be invented).
  if (total === undefined && good !== undefined) total = good + (scrap ?? 0) + (rework ?? 0);
  else if (total !== undefined && good === undefined && (scrap !== undefined || rework !== undefined)) {
    good = total - (scrap ?? 0) - (rework ?? 0);
  }
  set(out, 'parts_total', total);
  if (good !== undefined) out.parts_good = good;
  if (scrap !== undefined) out.parts_scrap = scrap;
  if (rework !== undefined) out.parts_rework = rework;
  set(out, 'yield', ratio(good, total));
  set(out, 'scrap_rate', ratio(scrap, total));
  set(out, 'rework_ratio', ratio(rework, total));
  // Only where rework is counted is parts_good known to hold first-time-right parts alone.
  if (rework !== undefined) set(out, 'first_pass_yield', ratio(good, total));

  const mass = ctx.partMassKg;
  const goodKg = c.good_kg ?? (good !== undefined && mass !== undefined ? good * mass : undefined);
  const scrapKg = c.scrap_kg ?? (scrap !== undefined && mass !== undefined ? scrap * mass : undefined);
  const inKg = c.material_in_kg;
  set(out, 'good_kg', goodKg);
  set(out, 'scrap_kg', scrapKg);
  set(out, 'material_in_kg', inKg);
  set(out, 'material_efficiency', ratio(goodKg, inKg));

  const lossKg = inKg !== undefined ? (goodKg !== undefined ? inKg - goodKg : undefined) : scrapKg;
  set(out, 'material_loss_kg', lossKg);
  const m = ctx.material;
  if (lossKg !== undefined && m !== undefined) {
    if (m.co2ePerKg !== undefined) out.loss_co2e_kg = lossKg * m.co2ePerKg;
    if (m.pricePerKg !== undefined) out.loss_cost = lossKg * (m.pricePerKg - m.scrapValuePerKg);
    for (const el in m.crm) out[`crm_loss_kg_${el}`] = lossKg * m.crm[el]!;
  }
  return out;
}

function set(out: Kpis, key: string, v: number | undefined): void {
  if (v !== undefined) out[key] = v;
}

/** Adds `b` into `a` key by key (union of measured signals); used for revisions and rollups. */
export function addComponents(a: Components, b: Components): Components {
  const out: Components = { ...a };
  for (const k in b) {
    const key = k as SummedSignal;
    out[key] = (out[key] ?? 0) + b[key]!;
  }
  return out;
}

/** The key of kg whose destination is not known. */
export const UNKNOWN_DESTINATION = 'unknown';

/** Where scrap of a reason goes (undefined reason: unassigned scrap); undefined when nothing says. */
export type DestinationOf = (reason: string | undefined) => string | undefined;

/**
 * Splits a window's scrap by reason and its scrap kg by destination (agent/src/kpi/README.md,
 * "Scrap by reason and destination"): `reason` → code → `parts_scrap` and `scrap_kg`, with what no
 * reason explains under `unassigned`, and `destination` → `scrap_kg`. The parts add up to
 * `parts_scrap` and the kg to `scrap_kg`. Undefined when the window measures neither. Pure; rollups
 * call it with their sums.
 */
export function deriveScrapSplit(c: Components, kpis: Kpis, recorded: Breakdowns | undefined, partMassKg: number | undefined, destinationOf: DestinationOf): Breakdowns | undefined {
  const parts = kpis.parts_scrap;
  const kg = kpis.scrap_kg;
  if (parts === undefined && kg === undefined) return undefined;
  const total = parts ?? 0;
  const byReason: Record<string, Measures> = {};
  const byDestination: Record<string, Measures> = {};
  let assignedParts = 0;
  let assignedKg = 0;
  const add = (key: string, reason: string | undefined, p: number, k: number | undefined): void => {
    byReason[key] = k === undefined ? { parts_scrap: p } : { parts_scrap: p, scrap_kg: k };
    if (k === undefined) return;
    const dest = destinationOf(reason) ?? UNKNOWN_DESTINATION;
    byDestination[dest] = { scrap_kg: (byDestination[dest]?.scrap_kg ?? 0) + k };
  };
  const recordedReasons = recorded?.reason ?? {};
  for (const code of Object.keys(recordedReasons).sort()) {
    const p = recordedReasons[code]!.parts_scrap ?? 0;
    if (p <= 0) continue;
    // Measured kg are shared out by parts; derived kg are the reason's parts times the part mass.
    const k = kg === undefined ? undefined : c.scrap_kg === undefined && partMassKg !== undefined ? p * partMassKg : total > 0 ? (kg * p) / total : 0;
    add(code, code, p, k);
    assignedParts += p;
    assignedKg += k ?? 0;
  }
  const restParts = total - assignedParts;
  const restKg = kg === undefined ? undefined : kg - assignedKg;
  if (restParts > 0 || (restKg !== undefined && restKg > 0)) add(UNASSIGNED_REASON, undefined, restParts, restKg);
  return kg === undefined ? { reason: byReason } : { destination: byDestination, reason: byReason };
}
