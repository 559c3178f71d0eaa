import type { EsrsE54, EsrsE55 } from '../api/report-contract.js';
import type { PartialSums } from '../core/rollup.js';
import { estimatedInputKg } from './figures.js';

/**
 * Where each scrap destination goes in ESRS E5-5 (waste): the destinations are the method's own
 * (core/reasons.ts); this mapping is part of the method (agent/src/reports/README.md, "ESRS E5").
 */
export const E5_5_CATEGORY = {
  internal_reuse: 'preparation_for_reuse',
  external_recycling: 'recycling',
  other_recovery: 'other_recovery',
  incineration: 'incineration',
  landfill: 'landfill',
  other_disposal: 'other_disposal',
} as const;

/** What the ESRS tables need of a material. */
export interface EsrsMaterial {
  recycledContentShare?: number | undefined;
  hazardousWaste: boolean;
}

/**
 * E5-4, resource inflows, by material: the material put in, weighed where the machine weighs its
 * input, else estimated by mass balance as good output + scrap (`estimatedInputKg`), window by
 * window; the secondary content from the library's recycled content share, in total only when
 * every material states it.
 */
export function e54(parts: Iterable<PartialSums>, materialOf: (name: string) => EsrsMaterial | undefined): EsrsE54 {
  const by = new Map<string, { measured: number; estimated: number; estimatedAny: boolean }>();
  for (const p of parts) {
    const name = p.material ?? '';
    const s = p.sums;
    let r = by.get(name);
    if (r === undefined) by.set(name, (r = { measured: 0, estimated: 0, estimatedAny: false }));
    // Sums of many windows can hold both: each window's input is weighed or estimated on its own.
    if (s.material_in_kg !== undefined) r.measured += s.material_in_kg;
    const estimated = estimatedInputKg(p);
    if (estimated !== 0) {
      r.estimated += estimated;
      r.estimatedAny = true;
    }
  }
  const rows: EsrsE54['rows'] = [];
  let total = 0;
  let secondary = 0;
  let allStated = true;
  for (const [material, r] of [...by].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const kg = r.measured + r.estimated;
    if (kg === 0 && !r.estimatedAny && r.measured === 0) continue;
    const share = materialOf(material)?.recycledContentShare;
    const row: EsrsE54['rows'][number] = { material, kg, measured: !r.estimatedAny };
    if (share !== undefined) {
      row.recycled_content_share = share;
      row.secondary_kg = kg * share;
      secondary += kg * share;
    } else if (kg > 0) allStated = false;
    total += kg;
    rows.push(row);
  }
  const out: EsrsE54 = { rows, total_kg: total, estimate: rows.some((r) => !r.measured) };
  if (allStated) out.secondary_kg = secondary;
  if (allStated && total > 0) out.secondary_share = secondary / total;
  return out;
}

/**
 * E5-5, waste from production: the scrap kg of each destination under its ESRS category, hazardous
 * or not by its material; scrap kg of no known destination is unassigned, so the total is the
 * scrap kg of the parts. Total = diverted + directed + unassigned, exactly.
 */
export function e55(parts: Iterable<PartialSums>, materialOf: (name: string) => EsrsMaterial | undefined, estimated: boolean, otherLossKg: number | undefined): EsrsE55 {
  const cat = { preparation_for_reuse: 0, recycling: 0, other_recovery: 0, incineration: 0, landfill: 0, other_disposal: 0 };
  let unassigned = 0;
  let hazardous = 0;
  let nonHazardous = 0;
  for (const p of parts) {
    const haz = p.material !== undefined && materialOf(p.material)?.hazardousWaste === true;
    const add = (kg: number) => {
      if (haz) hazardous += kg;
      else nonHazardous += kg;
    };
    for (const [d, m] of Object.entries(p.split?.destination ?? {})) {
      const kg = m.scrap_kg ?? 0;
      if (kg === 0) continue;
      const c = E5_5_CATEGORY[d as keyof typeof E5_5_CATEGORY];
      if (c === undefined) unassigned += kg;
      else cat[c] += kg;
      add(kg);
    }
    // Scrap kg that no destination split holds is still waste, of no known destination: so the
    // table adds up to the report's scrap kg.
    const rest = unsplitScrapKg(p);
    unassigned += rest;
    add(rest);
  }
  const diverted = cat.preparation_for_reuse + cat.recycling + cat.other_recovery;
  const directed = cat.incineration + cat.landfill + cat.other_disposal;
  const total = diverted + directed + unassigned;
  const nonRecycled = total - cat.preparation_for_reuse - cat.recycling;
  const out: EsrsE55 = {
    total_kg: total,
    diverted: { preparation_for_reuse_kg: cat.preparation_for_reuse, recycling_kg: cat.recycling, other_recovery_kg: cat.other_recovery, total_kg: diverted },
    directed: { incineration_kg: cat.incineration, landfill_kg: cat.landfill, other_disposal_kg: cat.other_disposal, total_kg: directed },
    unassigned_kg: unassigned,
    hazardous_kg: hazardous,
    non_hazardous_kg: nonHazardous,
    non_recycled_kg: nonRecycled,
    estimate: estimated,
  };
  if (total > 0) out.non_recycled_share = nonRecycled / total;
  if (otherLossKg !== undefined) out.other_loss_kg = otherLossKg;
  return out;
}

/** Scrap kg of sums that their destination split does not hold (windows stored without one); 0 where it holds them all, rounding aside. */
export function unsplitScrapKg(p: PartialSums): number {
  const split = Object.values(p.split?.destination ?? {}).reduce((a, m) => a + (m.scrap_kg ?? 0), 0);
  const rest = (p.sums.scrap_kg ?? 0) - split;
  return rest > 1e-9 * Math.max(1, split) ? rest : 0;
}
