import type { Breakdowns, Components, Kpis, Measures } from '../core/aggregate.js';
import { UNASSIGNED_REASON } from '../core/reasons.js';
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
  let scrap = c.parts_scrap;
  const rework = c.parts_rework;
  // Without good parts the total is unknown, and without losses the good parts are:
  // neither is guessed (a yield of 1 from a lone total counter would be invented).
  if (total === undefined && good !== undefined) total = good + (scrap ?? 0) + (rework ?? 0);
  else if (total !== undefined && good === undefined && (scrap !== undefined || rework !== undefined)) {
    good = total - (scrap ?? 0) - (rework ?? 0);
  }
  // Manual scrap is scrap no counter of the machine counted: it adds to the parts produced
  // and to scrap, and the machine's good parts stay as counted (README "Manual scrap").
  const manualParts = c.manual_scrap_parts;
  const machineScrap = scrap;
  if (manualParts !== undefined) {
    scrap = (scrap ?? 0) + manualParts;
    if (total !== undefined) total += manualParts;
  }
  set(out, 'parts_total', total);
  if (good !== undefined) out.parts_good = good;
  if (scrap !== undefined) out.parts_scrap = scrap;
  if (manualParts !== undefined) out.manual_scrap_parts = manualParts;
  if (rework !== undefined) out.parts_rework = rework;
  set(out, 'yield', ratio(good, total));
  set(out, 'scrap_rate', ratio(scrap, total));
  set(out, 'rework_ratio', ratio(rework, total));
  // Only where rework is counted is parts_good known to hold first-time-right parts alone.
  if (rework !== undefined) set(out, 'first_pass_yield', ratio(good, total));

  const mass = ctx.partMassKg;
  const goodKg = c.good_kg ?? (good !== undefined && mass !== undefined ? good * mass : undefined);
  const machineScrapKg = c.scrap_kg ?? (machineScrap !== undefined && mass !== undefined ? machineScrap * mass : undefined);
  const manualKg = c.manual_scrap_kg;
  const scrapKg = manualKg === undefined ? machineScrapKg : (machineScrapKg ?? 0) + manualKg;
  const inKg = c.material_in_kg;
  set(out, 'good_kg', goodKg);
  set(out, 'scrap_kg', scrapKg);
  set(out, 'manual_scrap_kg', manualKg);
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
    const key = k as keyof Components;
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
 * reason explains under `unassigned`, and `destination` → `scrap_kg`. Manual scrap (the
 * `manual_reason` and `manual_destination` breakdowns) joins its reason and destination and is
 * also shown on its own as `manual_scrap_parts` and `manual_scrap_kg`. The parts add up to
 * `parts_scrap` and the kg to `scrap_kg`. Undefined when the window measures neither. Pure;
 * rollups call it with their sums.
 */
export function deriveScrapSplit(c: Components, kpis: Kpis, recorded: Breakdowns | undefined, partMassKg: number | undefined, destinationOf: DestinationOf): Breakdowns | undefined {
  if (kpis.parts_scrap === undefined && kpis.scrap_kg === undefined) return undefined;
  const byReason: Record<string, Measures> = {};
  const byDestination: Record<string, Measures> = {};
  const add = (into: Record<string, Measures>, key: string, measure: string, v: number): void => {
    const m = (into[key] ??= {});
    m[measure] = (m[measure] ?? 0) + v;
  };
  const machineParts = c.parts_scrap ?? 0;
  const machineKg = c.scrap_kg ?? (c.parts_scrap !== undefined && partMassKg !== undefined ? c.parts_scrap * partMassKg : undefined);
  const counted = (key: string, reason: string | undefined, p: number, k: number | undefined): void => {
    add(byReason, key, 'parts_scrap', p);
    if (k === undefined) return;
    add(byReason, key, 'scrap_kg', k);
    add(byDestination, destinationOf(reason) ?? UNKNOWN_DESTINATION, 'scrap_kg', k);
  };
  let assignedParts = 0;
  let assignedKg = 0;
  const recordedReasons = recorded?.reason ?? {};
  for (const code of Object.keys(recordedReasons).sort()) {
    const p = recordedReasons[code]!.parts_scrap ?? 0;
    if (p <= 0) continue;
    // Measured kg are shared out by parts; derived kg are the reason's parts times the part mass.
    const k = machineKg === undefined ? undefined : c.scrap_kg === undefined && partMassKg !== undefined ? p * partMassKg : machineParts > 0 ? (machineKg * p) / machineParts : 0;
    counted(code, code, p, k);
    assignedParts += p;
    assignedKg += k ?? 0;
  }
  const restParts = machineParts - assignedParts;
  const restKg = machineKg === undefined ? undefined : machineKg - assignedKg;
  if (restParts > 0 || (restKg !== undefined && restKg > 0)) counted(UNASSIGNED_REASON, undefined, restParts, restKg);
  const manualReasons = recorded?.[MANUAL_REASON_DIMENSION] ?? {};
  for (const code of Object.keys(manualReasons).sort()) {
    const m = manualReasons[code]!;
    if (m.parts_scrap !== undefined) {
      add(byReason, code, 'parts_scrap', m.parts_scrap);
      add(byReason, code, 'manual_scrap_parts', m.parts_scrap);
    }
    if (m.scrap_kg === undefined) continue;
    add(byReason, code, 'scrap_kg', m.scrap_kg);
    add(byReason, code, 'manual_scrap_kg', m.scrap_kg);
  }
  const manualDestinations = recorded?.[MANUAL_DESTINATION_DIMENSION] ?? {};
  for (const dest of Object.keys(manualDestinations).sort()) {
    add(byDestination, dest, 'scrap_kg', manualDestinations[dest]!.scrap_kg ?? 0);
    add(byDestination, dest, 'manual_scrap_kg', manualDestinations[dest]!.scrap_kg ?? 0);
  }
  return kpis.scrap_kg === undefined ? { reason: sorted(byReason) } : { destination: sorted(byDestination), reason: sorted(byReason) };
}

/** The dimensions of a window's breakdowns that hold its manual scrap (kpi/manual.ts fills them). */
export const MANUAL_REASON_DIMENSION = 'manual_reason';
export const MANUAL_DESTINATION_DIMENSION = 'manual_destination';

function sorted(r: Record<string, Measures>): Record<string, Measures> {
  return Object.fromEntries(Object.keys(r).sort().map((k) => [k, r[k]!]));
}
