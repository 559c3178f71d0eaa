import type { OpportunityRow, ReportOpportunity } from '../api/report-contract.js';
import type { PartialSums } from '../core/rollup.js';

/** One shift (or day) of one machine on one material: a candidate for its best demonstrated scrap rate. */
export interface DemonstratedPeriod {
  machine: string;
  material: string;
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
 * 0; saved kg at the period's own kg per scrap part; €, CO2e and critical raw materials from the
 * material's factors, as for losses (agent/src/reports/README.md, "The opportunity"). Pure.
 */
export function opportunityOf(parts: Iterable<PartialSums>, demonstrated: Iterable<DemonstratedPeriod>, o: OpportunityOptions): ReportOpportunity {
  const best = new Map<string, DemonstratedPeriod>();
  for (const d of demonstrated) {
    if (d.parts_total < o.minParts || !Number.isFinite(d.scrap_rate)) continue;
    const key = `${d.machine}\u0000${d.material}`;
    const cur = best.get(key);
    if (cur === undefined || d.scrap_rate < cur.scrap_rate || (d.scrap_rate === cur.scrap_rate && d.start > cur.start)) best.set(key, d);
  }

  const actual = new Map<string, { machine: string; material: string; num: number; den: number; scrap: number; scrapKg: number | undefined }>();
  for (const p of parts) {
    const r = p.ratios.scrap_rate;
    if (r === undefined || p.material === undefined) continue;
    const key = `${p.machine}\u0000${p.material}`;
    let a = actual.get(key);
    if (a === undefined) actual.set(key, (a = { machine: p.machine, material: p.material, num: 0, den: 0, scrap: 0, scrapKg: undefined }));
    a.num += r[0];
    a.den += r[1];
    a.scrap += p.sums.parts_scrap ?? 0;
    if (p.sums.scrap_kg !== undefined) a.scrapKg = (a.scrapKg ?? 0) + p.sums.scrap_kg;
  }

  const total: ReportOpportunity['total'] = { saved_parts: 0, saved_kg: 0, saved_cost: {}, saved_co2e_kg: 0, saved_crm_kg: {} };
  const rows: OpportunityRow[] = [];
  for (const [key, a] of [...actual].sort(([x], [y]) => (x < y ? -1 : 1))) {
    if (a.den === 0) continue;
    const rate = a.num / a.den;
    const row: OpportunityRow = { machine: a.machine, name: o.nameOf(a.machine), material: a.material, parts_total: a.den, parts_scrap: a.num, scrap_rate: rate, saved_parts: 0 };
    const b = best.get(key);
    if (b !== undefined) {
      row.best = { period: b.period, start: b.start, scrap_rate: b.scrap_rate, parts_total: b.parts_total };
      // A machine at its best saves nothing: differences below a millionth of a part are rounding.
      const excess = a.num - b.scrap_rate * a.den;
      row.saved_parts = excess > 1e-6 * Math.max(1, a.den) ? excess : 0;
    }
    const m = o.materialOf(a.material);
    if (a.scrapKg !== undefined && a.num > 0) {
      const kg = row.saved_parts * (a.scrapKg / a.num);
      row.saved_kg = kg;
      total.saved_kg += kg;
      if (m?.pricePerKg !== undefined) {
        const cost = kg * (m.pricePerKg - m.scrapValuePerKg);
        row.saved_cost = { [m.currency]: cost };
        total.saved_cost[m.currency] = (total.saved_cost[m.currency] ?? 0) + cost;
      }
      if (m?.co2ePerKg !== undefined) {
        row.saved_co2e_kg = kg * m.co2ePerKg.value;
        total.saved_co2e_kg += row.saved_co2e_kg;
      }
      const crm = Object.entries(m?.crm ?? {}).sort(([x], [y]) => (x < y ? -1 : 1));
      if (crm.length > 0) {
        row.saved_crm_kg = Object.fromEntries(crm.map(([el, f]) => [el, kg * f]));
        for (const [el, f] of crm) total.saved_crm_kg[el] = (total.saved_crm_kg[el] ?? 0) + kg * f;
      }
    }
    total.saved_parts += row.saved_parts;
    rows.push(row);
  }
  // The largest saving first: the line a production manager reads first.
  rows.sort((x, y) => (y.saved_kg ?? 0) - (x.saved_kg ?? 0) || y.saved_parts - x.saved_parts || (x.machine < y.machine ? -1 : 1));
  return { basis: o.basis, min_parts: o.minParts, lookback_ms: o.lookbackMs, rows, total };
}
