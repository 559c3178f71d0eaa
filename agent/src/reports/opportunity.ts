import type { OpportunityRow, ReportOpportunity } from '../api/report-contract.js';
import type { PartialSums } from '../core/rollup.js';

/** One shift (or day) of one machine on one material: a candidate for its best demonstrated scrap rate. */
export interface DemonstratedPeriod {
  machine: string;
  /** Absent where the periods are of one product (a product scope): then the best is the machine's on that product. */
  material: string | undefined;
  period: string;
  start: number;
  scrap_rate: number;
  parts_total: number;
}

/** What the opportunity needs of a material. */
export interface OpportunityMaterial {
  pricePerKg?: number | undefined;
  scrapValuePerKg: number;
  currency: string;
  co2ePerKg?: { value: number } | undefined;
  crm: Readonly<Record<string, number>>;
}

export interface OpportunityOptions {
  basis: 'shift' | 'day';
  minParts: number;
  lookbackMs: number;
  nameOf(machine: string): string;
  materialOf(name: string): OpportunityMaterial | undefined;
}

/**
 * What the period would have saved, per machine and material, had each machine scrapped at its own
 * best demonstrated rate: the lowest scrap rate of its shifts (days) on that material with at least
 * `minParts` parts. Saved parts = the period's scrap − best rate × the period's parts, never below
 * 0; saved kg at the period's own kg per scrap part of the machine (manual entries left out, as
 * one may be kg without parts); €, CO2e and critical raw materials from the
 * material's factors, as for losses (agent/src/reports/README.md, "The opportunity"). Pure.
 */
export function opportunityOf(parts: Iterable<PartialSums>, demonstrated: Iterable<DemonstratedPeriod>, o: OpportunityOptions): ReportOpportunity {
  const best = new Map<string, DemonstratedPeriod>();
  for (const d of demonstrated) {
    if (d.parts_total < o.minParts || !Number.isFinite(d.scrap_rate)) continue;
    const key = `${d.machine}\u0000${d.material ?? ''}`;
    const cur = best.get(key);
    if (cur === undefined || d.scrap_rate < cur.scrap_rate || (d.scrap_rate === cur.scrap_rate && d.start > cur.start)) best.set(key, d);
  }

  const actual = new Map<string, { machine: string; material: string; num: number; den: number; machineParts: number; machineKg: number; kgKnown: boolean }>();
  for (const p of parts) {
    const r = p.ratios.scrap_rate;
    if (r === undefined || p.material === undefined) continue;
    const key = `${p.machine}\u0000${p.material}`;
    let a = actual.get(key);
    if (a === undefined) actual.set(key, (a = { machine: p.machine, material: p.material, num: 0, den: 0, machineParts: 0, machineKg: 0, kgKnown: true }));
    a.num += r[0];
    a.den += r[1];
    // The machine's own scrap: a manual entry may be kg without parts (a purge), which is no mass of a part.
    const parts = (p.sums.parts_scrap ?? 0) - (p.sums.manual_scrap_parts ?? 0);
    const kg = (p.sums.scrap_kg ?? 0) - (p.sums.manual_scrap_kg ?? 0);
    // Scrap parts without their kg (a product without a part mass) have no mass to average in.
    if (parts > 0 && kg <= 0) a.kgKnown = false;
    a.machineParts += parts;
    a.machineKg += kg;
  }

  const total: ReportOpportunity['total'] = { saved_parts: 0, saved_cost: {}, saved_crm_kg: {} };
  let kgKnown = true;
  let co2eKnown = true;
  // Currencies and elements of which some row's saving is not known: their totals would be partial.
  const costUnknown = new Set<string>();
  const crmUnknown = new Set<string>();
  const rows: OpportunityRow[] = [];
  for (const [key, a] of [...actual].sort(([x], [y]) => (x < y ? -1 : 1))) {
    if (a.den === 0) continue;
    const rate = a.num / a.den;
    const row: OpportunityRow = { machine: a.machine, name: o.nameOf(a.machine), material: a.material, parts_total: a.den, parts_scrap: a.num, scrap_rate: rate, saved_parts: 0 };
    // A product scope's periods are of the product, whatever its material.
    const b = best.get(key) ?? best.get(`${a.machine}\u0000`);
    if (b !== undefined) {
      row.best = { period: b.period, start: b.start, scrap_rate: b.scrap_rate, parts_total: b.parts_total };
      // A machine at its best saves nothing: differences below a millionth of a part are rounding.
      const excess = a.num - b.scrap_rate * a.den;
      row.saved_parts = excess > 1e-6 * Math.max(1, a.den) ? excess : 0;
    }
    total.saved_parts += row.saved_parts;
    rows.push(row);
    // No part saved is no kg saved; otherwise at the kg per scrap part the machine weighed (or counted).
    const kgPerPart = a.kgKnown && a.machineParts > 0 && a.machineKg > 0 ? a.machineKg / a.machineParts : undefined;
    const kg = row.saved_parts === 0 ? 0 : kgPerPart === undefined ? undefined : row.saved_parts * kgPerPart;
    const m = o.materialOf(a.material);
    if (kg === undefined) {
      kgKnown = false;
      co2eKnown = false;
      if (m?.pricePerKg !== undefined) costUnknown.add(m.currency);
      for (const el of Object.keys(m?.crm ?? {})) crmUnknown.add(el);
      continue;
    }
    row.saved_kg = kg;
    total.saved_kg = (total.saved_kg ?? 0) + kg;
    if (m?.pricePerKg !== undefined) {
      const cost = kg * (m.pricePerKg - m.scrapValuePerKg);
      row.saved_cost = { [m.currency]: cost };
      total.saved_cost[m.currency] = (total.saved_cost[m.currency] ?? 0) + cost;
    }
    if (m?.co2ePerKg !== undefined) {
      row.saved_co2e_kg = kg * m.co2ePerKg.value;
      total.saved_co2e_kg = (total.saved_co2e_kg ?? 0) + row.saved_co2e_kg;
    } else if (kg > 0) co2eKnown = false;
    const crm = Object.entries(m?.crm ?? {}).sort(([x], [y]) => (x < y ? -1 : 1));
    if (crm.length > 0) {
      row.saved_crm_kg = Object.fromEntries(crm.map(([el, f]) => [el, kg * f]));
      for (const [el, f] of crm) total.saved_crm_kg[el] = (total.saved_crm_kg[el] ?? 0) + kg * f;
    }
  }
  // A total of what is known of some rows only would read as the whole saving: absent instead.
  if (!kgKnown) delete total.saved_kg;
  if (!co2eKnown) delete total.saved_co2e_kg;
  for (const c of costUnknown) delete total.saved_cost[c];
  for (const el of crmUnknown) delete total.saved_crm_kg[el];
  // The largest saving first: the line a production manager reads first.
  rows.sort((x, y) => (y.saved_kg ?? 0) - (x.saved_kg ?? 0) || y.saved_parts - x.saved_parts || (x.machine < y.machine ? -1 : 1));
  return { basis: o.basis, min_parts: o.minParts, lookback_ms: o.lookbackMs, rows, total };
}
