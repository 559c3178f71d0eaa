import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emptySums } from '../kpi/partials.js';
import type { PartialSums } from '../core/rollup.js';
import { opportunityOf, type DemonstratedPeriod } from './opportunity.js';
import { e55 } from './esrs.js';
import { SCRAP_DESTINATIONS } from '../core/reasons.js';

const steel = { pricePerKg: 1, scrapValuePerKg: 0.25, currency: 'EUR', co2ePerKg: { value: 2 }, crm: { Mn: 0.01 } };
const options = { basis: 'shift' as const, minParts: 100, lookbackMs: 90 * 86_400_000, nameOf: (m: string) => m, materialOf: () => steel };

/** One machine's sums of a shift: `total` parts of which `scrap` scrapped, at `kgPerPart`. */
function shiftSums(machine: string, start: number, total: number, scrap: number, kgPerPart = 0.5): PartialSums {
  const p = emptySums(machine, start, start + 8 * 3_600_000, 'steel', undefined);
  p.sums = { parts_total: total, parts_scrap: scrap, scrap_kg: scrap * kgPerPart };
  p.ratios = { scrap_rate: [scrap, total] };
  return p;
}
const shift = (machine: string, i: number, total: number, scrap: number): DemonstratedPeriod => ({ machine, material: 'steel', period: `s${i}`, start: i, scrap_rate: scrap / total, parts_total: total });

describe('the opportunity at each machine\'s best demonstrated shift', () => {
  it('saves the scrap above the best shift\'s rate, valued with the material\'s factors', () => {
    const parts = [shiftSums('m', 0, 1000, 50), shiftSums('m', 1, 1000, 20)];
    const o = opportunityOf(parts, [shift('m', 0, 1000, 50), shift('m', 1, 1000, 20), shift('m', 2, 50, 0)], options);
    const row = o.rows[0]!;
    // The 50-part shift with no scrap is too small to count: the best is 2 %.
    expect(row.best).toEqual({ period: 's1', start: 1, scrap_rate: 0.02, parts_total: 1000 });
    expect(row.saved_parts).toBeCloseTo(70 - 0.02 * 2000, 9);
    expect(row.saved_kg).toBeCloseTo(row.saved_parts * 0.5, 9);
    expect(row.saved_cost!.EUR).toBeCloseTo(row.saved_kg! * 0.75, 9);
    expect(row.saved_co2e_kg).toBeCloseTo(row.saved_kg! * 2, 9);
    expect(row.saved_crm_kg!.Mn).toBeCloseTo(row.saved_kg! * 0.01, 9);
    expect(o.total.saved_kg).toBe(row.saved_kg);
  });

  it('without a shift of enough parts there is no best and no saving, and the report says which', () => {
    const o = opportunityOf([shiftSums('m', 0, 80, 8)], [shift('m', 0, 80, 8)], options);
    expect(o.rows[0]!.best).toBeUndefined();
    expect(o.rows[0]!.saved_parts).toBe(0);
  });

  it('is never negative, and zero for a machine whose every shift is its best', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 100, max: 100_000 }), fc.integer({ min: 0, max: 100 })), { minLength: 1, maxLength: 30 }), (shifts) => {
        const list = shifts.map(([total, pct]) => [total, Math.floor((total * pct) / 100)] as const);
        const o = opportunityOf(
          list.map(([t, s], i) => shiftSums('m', i, t, s)),
          list.map(([t, s], i) => shift('m', i, t, s)),
          options,
        );
        for (const r of o.rows) expect(r.saved_parts).toBeGreaterThanOrEqual(0);
        expect(o.total.saved_kg).toBeGreaterThanOrEqual(0);
        // The same rate every shift: nothing to save.
        const same = opportunityOf(
          list.map(([t], i) => shiftSums('m', i, t * 10, t)),
          list.map(([t], i) => shift('m', i, t * 10, t)),
          options,
        );
        expect(same.rows[0]!.saved_parts).toBe(0);
      }),
    );
  });
});

describe('the opportunity\'s kg and totals', () => {
  it('values a saved part at the machine\'s own kg per scrap part, leaving out a manual purge of kg without parts', () => {
    const p = shiftSums('m', 0, 1000, 50);
    // 30 kg purged by hand with no parts: no part weighs more for it.
    p.sums.scrap_kg! += 30;
    p.sums.manual_scrap_kg = 30;
    const o = opportunityOf([p], [shift('m', 1, 1000, 20)], options);
    expect(o.rows[0]!.saved_kg).toBeCloseTo(o.rows[0]!.saved_parts * 0.5, 9);
  });

  it('has no kg or CO2e total when a row has none, rather than the sum of the others', () => {
    const weighed = shiftSums('m1', 0, 1000, 50);
    const unweighed = shiftSums('m2', 0, 1000, 50);
    delete unweighed.sums.scrap_kg;
    const o = opportunityOf([weighed, unweighed], [shift('m1', 1, 1000, 20), shift('m2', 1, 1000, 20)], options);
    expect(o.rows.find((r) => r.machine === 'm1')!.saved_kg).toBeGreaterThan(0);
    expect(o.rows.find((r) => r.machine === 'm2')!.saved_kg).toBeUndefined();
    expect(o.total.saved_parts).toBeCloseTo(60, 9);
    expect(o.total.saved_kg).toBeUndefined();
    expect(o.total.saved_co2e_kg).toBeUndefined();
    // Nor money or critical raw materials of that material: m1's alone would read as the whole.
    expect(o.total.saved_cost.EUR).toBeUndefined();
    expect(o.total.saved_crm_kg.Mn).toBeUndefined();
    // Scrap parts of which only some have kg give no kg per part at all, rather than a diluted one.
    const partly = shiftSums('m1', 1, 1000, 90);
    delete partly.sums.scrap_kg;
    const mixed = opportunityOf([weighed, partly], [shift('m1', 2, 1000, 10)], options);
    expect(mixed.rows[0]!.saved_parts).toBeGreaterThan(0);
    expect(mixed.rows[0]!.saved_kg).toBeUndefined();
    // A machine at its best saves 0 kg whatever it weighs.
    const atBest = opportunityOf([unweighed], [shift('m2', 0, 1000, 50)], options);
    expect(atBest.total.saved_kg).toBe(0);
  });

  it('of a product scope, takes the machine\'s best on that product', () => {
    const o = opportunityOf([shiftSums('m', 0, 1000, 50)], [{ ...shift('m', 1, 1000, 10), material: undefined }], options);
    expect(o.rows[0]!.best?.scrap_rate).toBe(0.01);
  });
});

describe('ESRS E5-5', () => {
  it('the categories add up to the total, whatever the destinations', () => {
    const dest = fc.constantFrom(...SCRAP_DESTINATIONS, 'unknown');
    fc.assert(
      fc.property(fc.array(fc.tuple(dest, fc.double({ min: 0, max: 1e6, noNaN: true }), fc.boolean()), { maxLength: 40 }), (items) => {
        const parts = items.map(([d, kg, haz], i) => {
          const p = emptySums('m', i, i + 1, haz ? 'lead' : 'steel', undefined);
          p.split = { destination: { [d]: { scrap_kg: kg } } };
          return p;
        });
        const t = e55(parts, (m) => ({ hazardousWaste: m === 'lead' }), false, undefined);
        const sum = t.diverted.total_kg + t.directed.total_kg + t.unassigned_kg;
        expect(Math.abs(sum - t.total_kg)).toBeLessThanOrEqual(1e-9 * Math.max(1, t.total_kg));
        expect(Math.abs(t.hazardous_kg + t.non_hazardous_kg - t.total_kg)).toBeLessThanOrEqual(1e-6 * Math.max(1, t.total_kg));
        expect(t.non_recycled_kg).toBeGreaterThanOrEqual(-1e-6);
      }),
    );
  });
});
