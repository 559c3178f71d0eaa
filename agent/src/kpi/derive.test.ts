/** KPI derivation (agent/src/kpi/README.md "KPIs"): table tests with values worked out by hand. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Components } from '../core/aggregate.js';
import { addComponents, deriveKpis, deriveScrapSplit, KPI_METHOD, type DeriveContext } from './derive.js';
import type { MaterialFactors } from './materials.js';

/** Factors chosen as exact binary fractions so products are exact. */
const ALU: MaterialFactors = { name: 'AlMg3', pricePerKg: 4.5, scrapValuePerKg: 1.25, currency: 'EUR', co2ePerKg: 8.5, crm: { Mg: 0.25, Si: 0.125 } };

const RATIOS = ['yield', 'scrap_rate', 'rework_ratio', 'material_efficiency'] as const;

function allFinite(k: Record<string, number>): boolean {
  return Object.values(k).every((v) => Number.isFinite(v));
}

describe('deriveKpis: zero denominators', () => {
  const cases: { name: string; c: Components; ctx: DeriveContext; absent: string[]; present: Record<string, number> }[] = [
    {
      name: 'no parts at all',
      c: { parts_good: 0, parts_scrap: 0, parts_rework: 0 },
      ctx: {},
      absent: ['yield', 'scrap_rate', 'rework_ratio'],
      present: { parts_total: 0, parts_good: 0, parts_scrap: 0, parts_rework: 0 },
    },
    { name: 'measured total 0', c: { parts_total: 0, parts_scrap: 0 }, ctx: {}, absent: ['yield', 'scrap_rate', 'rework_ratio'], present: { parts_total: 0, parts_scrap: 0 } },
    { name: 'no material input, no output', c: { material_in_kg: 0, good_kg: 0 }, ctx: {}, absent: ['material_efficiency'], present: { material_in_kg: 0, good_kg: 0, material_loss_kg: 0 } },
    { name: 'output without input (e.g. from stock)', c: { material_in_kg: 0, good_kg: 5 }, ctx: {}, absent: ['material_efficiency'], present: { material_in_kg: 0, good_kg: 5, material_loss_kg: -5 } },
    {
      name: 'zero parts with part mass and material',
      c: { parts_good: 0, parts_scrap: 0, material_in_kg: 0 },
      ctx: { partMassKg: 0.5, material: ALU },
      absent: ['yield', 'scrap_rate', 'rework_ratio', 'material_efficiency'],
      present: { parts_total: 0, good_kg: 0, scrap_kg: 0, material_in_kg: 0, material_loss_kg: 0, loss_cost: 0, loss_co2e_kg: 0, crm_loss_kg_Mg: 0, crm_loss_kg_Si: 0 },
    },
  ];
  for (const t of cases) {
    it(`${t.name}: ratios absent, never 0, NaN or Infinity`, () => {
      const k = deriveKpis(t.c, t.ctx);
      for (const a of t.absent) expect(k, a).not.toHaveProperty(a);
      for (const [key, v] of Object.entries(t.present)) expect(k[key], key).toBe(v);
      expect(allFinite(k)).toBe(true);
    });
  }

  it('no ratio is ever NaN or Infinity (any non-negative components)', () => {
    const n = fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined });
    const kg = fc.option(fc.constantFrom(0, 0.5, 1, 12.25), { nil: undefined });
    fc.assert(
      fc.property(
        fc.record({ parts_total: n, parts_good: n, parts_scrap: n, parts_rework: n, material_in_kg: kg, good_kg: kg, scrap_kg: kg }),
        fc.option(fc.constantFrom(0.25, 1), { nil: undefined }),
        (raw, mass) => {
          const c: Components = {};
          for (const [key, v] of Object.entries(raw)) if (v !== undefined) c[key as keyof Components] = v;
          const k = deriveKpis(c, { partMassKg: mass, material: ALU });
          expect(allFinite(k)).toBe(true);
          // A ratio is present exactly when its denominator is known and not zero.
          const total = k.parts_total;
          for (const r of ['yield', 'scrap_rate', 'rework_ratio'] as const) if (r in k) expect(total !== undefined && total !== 0).toBe(true);
          if ('material_efficiency' in k) expect(k.material_in_kg !== undefined && k.material_in_kg !== 0).toBe(true);
          if (total !== undefined && total !== 0 && 'parts_scrap' in k) expect(k.scrap_rate).toBe(k.parts_scrap! / total);
          for (const r of RATIOS) if (!(r in k)) expect(k[r]).toBeUndefined();
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('deriveKpis: part counts', () => {
  it('parts_total = good + scrap + rework when not measured; ISO 22400 ratios from it', () => {
    const k = deriveKpis({ parts_good: 90, parts_scrap: 7, parts_rework: 3 }, {});
    expect(k).toMatchObject({ parts_total: 100, parts_good: 90, parts_scrap: 7, parts_rework: 3, yield: 0.9, scrap_rate: 0.07, rework_ratio: 0.03 });
  });

  it('parts_total = good + scrap when rework is not measured (no rework_ratio)', () => {
    const k = deriveKpis({ parts_good: 45, parts_scrap: 5 }, {});
    expect(k).toMatchObject({ parts_total: 50, yield: 0.9, scrap_rate: 0.1 });
    expect(k).not.toHaveProperty('rework_ratio');
    expect(k).not.toHaveProperty('parts_rework');
  });

  it('a measured parts_total wins over the sum of the parts', () => {
    const k = deriveKpis({ parts_total: 120, parts_good: 90, parts_scrap: 10 }, {});
    expect(k.parts_total).toBe(120);
    expect(k.yield).toBe(0.75);
    expect(k.scrap_rate).toBe(10 / 120);
  });

  it('parts_good = total - scrap - rework when only total and losses are measured', () => {
    const k = deriveKpis({ parts_total: 200, parts_scrap: 10, parts_rework: 5 }, {});
    expect(k).toMatchObject({ parts_total: 200, parts_good: 185, yield: 0.925, scrap_rate: 0.05, rework_ratio: 0.025 });
    const k2 = deriveKpis({ parts_total: 200, parts_scrap: 10 }, { partMassKg: 0.5 });
    expect(k2).toMatchObject({ parts_good: 190, yield: 0.95, good_kg: 95, scrap_kg: 5 });
  });

  // The KPI method: "parts_good = parts_total - parts_scrap - parts_rework when only total and
  // losses are measured". With total alone, no loss is measured: good is unknown, and so is
  // yield. Deriving good = total reports a perfect yield of 1 for a machine that only counts
  // strokes, and good_kg = total x part mass.
  it('only parts_total measured: parts_good, yield and good_kg are absent (no loss measured)', () => {
    const k = deriveKpis({ parts_total: 100 }, { partMassKg: 0.5 });
    expect(k.parts_total).toBe(100);
    expect(k).not.toHaveProperty('parts_good');
    expect(k).not.toHaveProperty('yield');
    expect(k).not.toHaveProperty('good_kg');
  });
});

describe('deriveKpis: masses', () => {
  it('good_kg and scrap_kg from part mass when not measured', () => {
    const k = deriveKpis({ parts_good: 10, parts_scrap: 2 }, { partMassKg: 0.5 });
    expect(k).toMatchObject({ good_kg: 5, scrap_kg: 1, material_loss_kg: 1 });
    expect(k).not.toHaveProperty('material_in_kg');
    expect(k).not.toHaveProperty('material_efficiency');
  });

  it('measured good_kg and scrap_kg win over parts x part mass', () => {
    const k = deriveKpis({ parts_good: 10, parts_scrap: 2, good_kg: 7.5, scrap_kg: 1.25 }, { partMassKg: 0.5 });
    expect(k.good_kg).toBe(7.5);
    expect(k.scrap_kg).toBe(1.25);
    expect(k.material_loss_kg).toBe(1.25);
  });

  it('material_loss_kg = material_in_kg - good_kg when input is measured (not scrap_kg); efficiency = good_kg / in', () => {
    const k = deriveKpis({ parts_good: 10, parts_scrap: 2, material_in_kg: 8 }, { partMassKg: 0.5 });
    expect(k).toMatchObject({ good_kg: 5, scrap_kg: 1, material_in_kg: 8, material_loss_kg: 3, material_efficiency: 0.625 });
  });

  it('material_loss_kg = scrap_kg when input is not measured', () => {
    const k = deriveKpis({ parts_good: 10, scrap_kg: 2.75 }, { partMassKg: 0.5 });
    expect(k.material_loss_kg).toBe(2.75);
  });

  it('input measured but good_kg unknown (no part mass, not measured): loss and efficiency absent', () => {
    const k = deriveKpis({ parts_good: 10, parts_scrap: 2, material_in_kg: 8 }, {});
    expect(k).not.toHaveProperty('good_kg');
    expect(k).not.toHaveProperty('material_loss_kg');
    expect(k).not.toHaveProperty('material_efficiency');
    expect(k).not.toHaveProperty('loss_cost');
  });
});

describe('deriveKpis: value and impact', () => {
  it('loss_cost = loss x (price - scrap value); loss_co2e_kg = loss x factor; crm_loss_kg_<El> = loss x fraction', () => {
    // good_kg 5, input 8 -> loss 3.
    const k = deriveKpis({ parts_good: 10, parts_scrap: 2, material_in_kg: 8 }, { partMassKg: 0.5, material: ALU });
    expect(k.material_loss_kg).toBe(3);
    expect(k.loss_cost).toBe(9.75); // 3 x (4.5 - 1.25)
    expect(k.loss_co2e_kg).toBe(25.5); // 3 x 8.5
    expect(k.crm_loss_kg_Mg).toBe(0.75);
    expect(k.crm_loss_kg_Si).toBe(0.375);
  });

  it('realistic factors (decimal): within 1e-12', () => {
    const cu: MaterialFactors = { name: 'CuSn8', pricePerKg: 9.8, scrapValuePerKg: 6.1, currency: 'EUR', co2ePerKg: 3.9, crm: { Cu: 0.92 } };
    const k = deriveKpis({ parts_good: 120, parts_scrap: 7 }, { partMassKg: 0.849, material: cu });
    const loss = 7 * 0.849;
    expect(k.material_loss_kg).toBeCloseTo(5.943, 12);
    expect(k.loss_cost).toBeCloseTo(5.943 * 3.7, 10);
    expect(k.loss_co2e_kg).toBeCloseTo(23.1777, 10);
    expect(k.crm_loss_kg_Cu).toBeCloseTo(5.46756, 10);
    expect(loss).toBeCloseTo(5.943, 12);
  });

  it('no price: no loss_cost; no CO2 factor: no loss_co2e_kg; no material: none of them', () => {
    const m: MaterialFactors = { name: 'x', scrapValuePerKg: 0, currency: 'EUR', crm: {} };
    const k = deriveKpis({ parts_scrap: 4 }, { partMassKg: 0.25, material: m });
    expect(k.material_loss_kg).toBe(1);
    expect(k).not.toHaveProperty('loss_cost');
    expect(k).not.toHaveProperty('loss_co2e_kg');
    expect(Object.keys(k).some((key) => key.startsWith('crm_loss_kg_'))).toBe(false);
    const k2 = deriveKpis({ parts_scrap: 4 }, { partMassKg: 0.25 });
    expect(k2).not.toHaveProperty('loss_cost');
    expect(k2).not.toHaveProperty('loss_co2e_kg');
  });

  it('scrap sold above the purchase price gives a negative loss cost (a gain), not a clamp', () => {
    const m: MaterialFactors = { name: 'x', pricePerKg: 1, scrapValuePerKg: 1.5, currency: 'EUR', crm: {} };
    expect(deriveKpis({ scrap_kg: 2 }, { material: m }).loss_cost).toBe(-1);
  });

  it('method version is yieldwatch-kpi/2', () => {
    expect(KPI_METHOD).toBe('yieldwatch-kpi/2');
  });
});

describe('rollups: sum components first, then derive', () => {
  it('a rollup yield is the ratio of sums, not the average of the window yields', () => {
    const w1: Components = { parts_good: 90, parts_scrap: 10 }; // yield 0.9
    const w2: Components = { parts_good: 5, parts_scrap: 5 }; // yield 0.5
    const k = deriveKpis(addComponents(w1, w2), {});
    expect(k.parts_total).toBe(110);
    expect(k.yield).toBe(95 / 110); // 0.8636...
    expect(k.scrap_rate).toBe(15 / 110);
    const averaged = (deriveKpis(w1, {}).yield! + deriveKpis(w2, {}).yield!) / 2;
    expect(averaged).toBe(0.7);
    expect(Math.abs(k.yield! - averaged)).toBeGreaterThan(0.16);
  });

  it('deriving from summed components does not depend on how windows are grouped', () => {
    const win = fc.record({ parts_good: fc.integer({ min: 0, max: 10_000 }), parts_scrap: fc.integer({ min: 0, max: 1000 }), parts_rework: fc.integer({ min: 0, max: 100 }) });
    fc.assert(
      fc.property(fc.array(win, { minLength: 1, maxLength: 30 }), fc.nat(), (wins, cut) => {
        const split = cut % (wins.length + 1);
        const sumAll = wins.reduce<Components>((a, w) => addComponents(a, w), {});
        const left = wins.slice(0, split).reduce<Components>((a, w) => addComponents(a, w), {});
        const right = wins.slice(split).reduce<Components>((a, w) => addComponents(a, w), {});
        const g = wins.reduce((a, w) => a + w.parts_good, 0);
        const s = wins.reduce((a, w) => a + w.parts_scrap, 0);
        const r = wins.reduce((a, w) => a + w.parts_rework, 0);
        const k = deriveKpis(sumAll, {});
        expect(deriveKpis(addComponents(left, right), {})).toEqual(k);
        expect(k.parts_total).toBe(g + s + r);
        if (g + s + r === 0) expect(k).not.toHaveProperty('yield');
        else expect(k.yield).toBe(g / (g + s + r));
      }),
      { numRuns: 1000 },
    );
  });

  it('addComponents: union of keys, sums where both have one, inputs untouched', () => {
    const a: Components = { parts_good: 1, parts_scrap: 2 };
    const b: Components = { parts_scrap: 3, scrap_kg: 1.5 };
    expect(addComponents(a, b)).toEqual({ parts_good: 1, parts_scrap: 5, scrap_kg: 1.5 });
    expect(a).toEqual({ parts_good: 1, parts_scrap: 2 });
    expect(b).toEqual({ parts_scrap: 3, scrap_kg: 1.5 });
    expect(addComponents({}, {})).toEqual({});
    expect(addComponents({ parts_total: 0 }, {})).toEqual({ parts_total: 0 });
  });
});

describe('deriveScrapSplit: scrap by reason and by destination', () => {
  const dest = (byReason: Record<string, string>, fallback?: string) => (reason: string | undefined) => (reason === undefined ? fallback : (byReason[reason] ?? fallback));
  const split = (c: Components, reasons: Record<string, number> | undefined, partMassKg: number | undefined, destinationOf = dest({}, 'external_recycling')) =>
    deriveScrapSplit(c, deriveKpis(c, { partMassKg }), reasons === undefined ? undefined : { reason: Object.fromEntries(Object.entries(reasons).map(([k, p]) => [k, { parts_scrap: p }])) }, partMassKg, destinationOf);

  it('counted scrap with a part mass: parts and kg per reason, the rest unassigned, kg by the reason\'s destination or the default', () => {
    expect(split({ parts_good: 90, parts_scrap: 10 }, { burr: 4, contaminated: 2 }, 0.25, dest({ contaminated: 'incineration' }, 'external_recycling'))).toEqual({
      reason: { burr: { parts_scrap: 4, scrap_kg: 1 }, contaminated: { parts_scrap: 2, scrap_kg: 0.5 }, unassigned: { parts_scrap: 4, scrap_kg: 1 } },
      destination: { external_recycling: { scrap_kg: 2 }, incineration: { scrap_kg: 0.5 } },
    });
  });

  it('weighed scrap is shared out by parts; scrap that was only weighed is all unassigned', () => {
    expect(split({ parts_good: 90, parts_scrap: 8, scrap_kg: 2 }, { burr: 6, crack: 2 }, 0.3)?.reason).toEqual({ burr: { parts_scrap: 6, scrap_kg: 1.5 }, crack: { parts_scrap: 2, scrap_kg: 0.5 } });
    expect(split({ good_kg: 40, scrap_kg: 3 }, undefined, undefined)).toEqual({ reason: { unassigned: { parts_scrap: 0, scrap_kg: 3 } }, destination: { external_recycling: { scrap_kg: 3 } } });
  });

  it('no part mass: parts only, no destinations; a destination nothing names is "unknown"; no scrap measured: no split', () => {
    expect(split({ parts_good: 5, parts_scrap: 3 }, { burr: 3 }, undefined)).toEqual({ reason: { burr: { parts_scrap: 3 } } });
    expect(split({ parts_good: 5, parts_scrap: 2 }, {}, 0.5, dest({}))?.destination).toEqual({ unknown: { scrap_kg: 1 } });
    expect(split({ parts_good: 5 }, undefined, 0.5)).toBeUndefined();
    expect(split({ parts_good: 5, parts_scrap: 0 }, undefined, 0.5)).toEqual({ reason: {}, destination: {} });
  });

  it('for any counts, the parts add up to parts_scrap and the kg to scrap_kg', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000 }), fc.array(fc.integer({ min: 0, max: 500 }), { maxLength: 6 }), fc.option(fc.double({ min: 0.001, max: 50, noNaN: true })), (extra, reasonParts, mass) => {
        const reasons = Object.fromEntries(reasonParts.map((p, i) => [`r${i}`, p]));
        const scrap = reasonParts.reduce((a, b) => a + b, 0) + extra;
        const c: Components = { parts_good: 100, parts_scrap: scrap };
        const s = split(c, reasons, mass ?? undefined, dest({ r1: 'landfill' }, 'external_recycling'))!;
        const parts = Object.values(s.reason!).reduce((a, m) => a + m.parts_scrap!, 0);
        expect(parts).toBe(scrap);
        if (mass !== null) {
          const kg = deriveKpis(c, { partMassKg: mass }).scrap_kg!;
          const byReason = Object.values(s.reason!).reduce((a, m) => a + m.scrap_kg!, 0);
          const byDest = Object.values(s.destination!).reduce((a, m) => a + m.scrap_kg!, 0);
          expect(byReason).toBeCloseTo(kg, 6);
          expect(byDest).toBeCloseTo(kg, 6);
        }
      }),
      { seed: 5 },
    );
  });
});

describe('first-pass yield', () => {
  it('is good first time over produced where rework is counted, and absent where it is not or nothing was produced', () => {
    expect(deriveKpis({ parts_good: 85, parts_scrap: 5, parts_rework: 10 }, {}).first_pass_yield).toBe(0.85);
    expect(deriveKpis({ parts_total: 200, parts_scrap: 10, parts_rework: 30 }, {}).first_pass_yield).toBe(0.8);
    expect('first_pass_yield' in deriveKpis({ parts_good: 95, parts_scrap: 5 }, {})).toBe(false);
    expect('first_pass_yield' in deriveKpis({ parts_good: 0, parts_scrap: 0, parts_rework: 0 }, {})).toBe(false);
  });
});
