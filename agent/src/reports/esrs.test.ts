import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Components } from '../core/aggregate.js';
import type { PartialSums } from '../core/rollup.js';
import { deriveKpis } from '../kpi/derive.js';
import { addPartial, emptySums, partialOf } from '../kpi/partials.js';
import { emptyQuality } from '../kpi/quality.js';
import { e54, e55 } from './esrs.js';
import { estimatedInputKg, otherLossKg } from './figures.js';

const MASS = 0.5;

/** One window of machine `m` as the KPI method derives it from what the machine measured. */
function windowOf(i: number, c: Components, m = 'plant/l1/m1'): PartialSums {
  const kpis = deriveKpis(c, { partMassKg: MASS });
  return partialOf({ machine: m, windowStart: i * 60_000, windowEnd: (i + 1) * 60_000, material: 'steel', product: undefined, kpis, quality: emptyQuality(), split: undefined });
}

function sumOf(windows: PartialSums[]): PartialSums {
  const s = emptySums('plant/l1/m1', 0, windows.length * 60_000, 'steel', undefined);
  for (const w of windows) addPartial(s, w, 1);
  return s;
}

const steel = () => ({ hazardousWaste: false, recycledContentShare: 0.3 });

describe('ESRS E5-4 inflow of sums of windows that weigh their input and windows that do not', () => {
  it('takes each window\'s input as it was obtained: weighed where weighed, good + scrap elsewhere', () => {
    const weighed = windowOf(0, { material_in_kg: 100, good_kg: 90, scrap_kg: 5 });
    const counted = windowOf(1, { parts_good: 100, parts_scrap: 6 });
    const t = e54([sumOf([weighed, counted])], steel);
    // 100 kg weighed, and 50 kg good + 3 kg scrap estimated.
    expect(t.rows[0]!.kg).toBeCloseTo(153, 9);
    expect(t.rows[0]!.measured).toBe(false);
    expect(t.estimate).toBe(true);
    expect(t.secondary_kg).toBeCloseTo(153 * 0.3, 9);
  });

  it('is the sum of each window\'s own inflow, for any mix of windows', () => {
    const optional = (max: number) => fc.option(fc.double({ min: 0, max, noNaN: true }), { nil: undefined });
    const win = fc.record({ material_in_kg: optional(1000), good_kg: optional(900), scrap_kg: optional(100), parts_good: fc.option(fc.integer({ min: 0, max: 500 }), { nil: undefined }) });
    fc.assert(
      fc.property(fc.array(win, { minLength: 1, maxLength: 20 }), (list) => {
        const windows = list.map((c, i) => windowOf(i, Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as Components));
        const expected = windows.reduce((a, w) => a + (w.sums.material_in_kg ?? (w.sums.good_kg ?? 0) + (w.sums.scrap_kg ?? 0)), 0);
        const t = e54([sumOf(windows)], steel);
        expect(t.total_kg).toBeCloseTo(expected, 6);
      }),
    );
  });

  it('states no secondary total when a material\'s recycled content is not known', () => {
    const t = e54([sumOf([windowOf(0, { material_in_kg: 10, good_kg: 9 })])], () => ({ hazardousWaste: false }));
    expect(t.total_kg).toBe(10);
    expect(t.secondary_kg).toBeUndefined();
    expect(t.secondary_share).toBeUndefined();
  });
});

describe('other loss (material lost without being weighed as scrap) of summed windows', () => {
  it('is in − good − scrap of the windows that weigh input and output, and nothing of those that do not', () => {
    const s = sumOf([windowOf(0, { material_in_kg: 100, good_kg: 90, scrap_kg: 4 }), windowOf(1, { parts_good: 100, parts_scrap: 6 })]);
    expect(otherLossKg(s)).toBeCloseTo(6, 9);
    expect(estimatedInputKg(sumOf([windowOf(0, { material_in_kg: 100, good_kg: 90, scrap_kg: 4 })]))).toBe(0);
  });

  it('is unknown, not a guess, when a window weighed its input but not its good output', () => {
    // Its loss is unknown, its 2 kg of scrap are not: loss − scrap would be 10 − 6 = 4, not 6.
    const s = sumOf([windowOf(0, { material_in_kg: 100, good_kg: 90, scrap_kg: 4 }), windowOf(1, { material_in_kg: 20, scrap_kg: 2 })]);
    expect(otherLossKg(s)).toBeUndefined();
  });
});

describe('ESRS E5-5 of windows stored without a destination split', () => {
  it('counts their scrap kg as waste of no known destination, so the table adds up to the scrap kg', () => {
    const split = windowOf(0, { scrap_kg: 5 });
    split.split = { destination: { external_recycling: { scrap_kg: 5 } } };
    const bare = windowOf(1, { scrap_kg: 3 });
    const t = e55([split, bare], steel, false, undefined);
    expect(t.diverted.recycling_kg).toBe(5);
    expect(t.unassigned_kg).toBe(3);
    expect(t.total_kg).toBe(8);
    expect(t.non_hazardous_kg).toBe(8);
  });
});
