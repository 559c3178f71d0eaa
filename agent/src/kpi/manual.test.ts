import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Aggregate } from '../core/aggregate.js';
import { ENTRY_MAX_KG, ENTRY_MAX_PARTS, type EntryFields } from '../core/entries.js';
import { toAggregate, type ManualEntryFields } from '../pipeline/emit.js';
import { deriveKpis } from './derive.js';
import { KpiEngine, type DueWindow } from './engine.js';
import { checkEntry, manualSums, type EntryRules } from './manual.js';

const W = 60_000;
const T0 = Date.UTC(2026, 11, 1, 6, 0, 0);
const M = 'plant/l1/press';
const NO_DEST = () => undefined;

describe('manual scrap in the KPIs (README "Manual scrap")', () => {
  it('adds to parts produced and to scrap; the good parts stay as the machine counted them', () => {
    // A machine that counts good and scrap: 95 good, 5 scrap, and a bin of 10 rejects recorded by hand.
    const k = deriveKpis({ parts_good: 95, parts_scrap: 5, manual_scrap_parts: 10, manual_scrap_kg: 2 }, { partMassKg: 0.2 });
    expect(k).toMatchObject({ parts_total: 110, parts_good: 95, parts_scrap: 15, manual_scrap_parts: 10, manual_scrap_kg: 2 });
    expect(k.yield).toBeCloseTo(95 / 110, 12);
    expect(k.scrap_rate).toBeCloseTo(15 / 110, 12);
    // Machine scrap kg derived from its parts, manual kg as recorded.
    expect(k.scrap_kg).toBeCloseTo(5 * 0.2 + 2, 12);
    expect(k.good_kg).toBeCloseTo(95 * 0.2, 12);
  });

  it('a machine that counts parts produced: the manual parts are on top, and its derived good parts do not change', () => {
    const k = deriveKpis({ parts_total: 100, parts_scrap: 5, manual_scrap_parts: 10 }, {});
    expect(k).toMatchObject({ parts_total: 110, parts_good: 95, parts_scrap: 15 });
  });

  it('a window in which the machine made nothing: produced = scrap = the entry, yield 0 (not absent, so a rollup counts it)', () => {
    const k = deriveKpis({ parts_good: 0, parts_scrap: 0, manual_scrap_parts: 40 }, { partMassKg: 0.5 });
    expect(k).toMatchObject({ parts_total: 40, parts_good: 0, parts_scrap: 40, yield: 0, scrap_rate: 1 });
  });

  it('kg only (a purge, a lump): scrap kg and the loss grow, the part counts do not', () => {
    const k = deriveKpis({ parts_good: 50, parts_scrap: 0, manual_scrap_kg: 3.5 }, { partMassKg: 0.1 });
    expect(k).toMatchObject({ parts_total: 50, parts_scrap: 0, scrap_kg: 3.5, material_loss_kg: 3.5, manual_scrap_kg: 3.5 });
    expect(k.manual_scrap_parts).toBeUndefined();
    // A machine that counts no scrap gets no scrap count from kg: nothing is guessed.
    const noScrap = deriveKpis({ parts_good: 50, manual_scrap_kg: 3.5 }, {});
    expect(noScrap.parts_scrap).toBeUndefined();
    expect(noScrap.scrap_rate).toBeUndefined();
    expect(noScrap.scrap_kg).toBe(3.5);
  });

  it('with material input measured the loss is input − good: manual kg are already in it', () => {
    const k = deriveKpis({ material_in_kg: 100, good_kg: 90, manual_scrap_parts: 0, manual_scrap_kg: 4 }, {});
    expect(k).toMatchObject({ material_loss_kg: 10, scrap_kg: 4 });
  });

  it('entries sum per window: kg as recorded, else parts × the part mass; an entry without either has parts only', () => {
    const entries: ManualEntryFields[] = [
      { parts: 10, kg: undefined, reason: 'burr', destination: undefined },
      { parts: 4, kg: 1, reason: 'burr', destination: 'landfill' },
      { parts: undefined, kg: 2.5, reason: undefined, destination: undefined },
    ];
    const s = manualSums(entries, 0.2, (r) => (r === 'burr' ? 'internal_reuse' : undefined))!;
    expect(s.components).toEqual({ manual_scrap_parts: 14, manual_scrap_kg: 10 * 0.2 + 1 + 2.5 });
    expect(s.breakdowns.manual_reason).toEqual({ burr: { parts_scrap: 14, scrap_kg: 3 }, unassigned: { scrap_kg: 2.5 } });
    expect(manualSums([{ parts: undefined, kg: 1, reason: undefined, destination: undefined }], 0.2, NO_DEST)!.components).toEqual({ manual_scrap_kg: 1 });
    expect(s.breakdowns.manual_destination).toEqual({ internal_reuse: { scrap_kg: 2 }, landfill: { scrap_kg: 1 }, unknown: { scrap_kg: 2.5 } });
    expect(manualSums([{ parts: 3, kg: undefined, reason: undefined, destination: undefined }], undefined, NO_DEST)!.components).toEqual({ manual_scrap_parts: 3 });
    expect(manualSums([], 0.2, NO_DEST)).toBeUndefined();
  });
});

/** The machine's scrap by reason and kg, then entries: the split must add up whatever they are. */
describe('scrap split with manual entries', () => {
  const engine = () =>
    new KpiEngine({
      windowMs: W,
      latenessMs: 10_000,
      maxFutureSkewMs: 300_000,
      correctionHorizonMs: 86_400_000,
      machines: [{ path: M, partMassKg: 0.25, material: 'steel', signals: { parts_good: { kind: 'delta' }, parts_scrap: { kind: 'delta' } } }],
    });
  const destination = (_m: string, _mat: string | undefined, reason: string | undefined) => (reason === 'crack' ? 'landfill' : 'external_recycling');

  it('property: reason parts add up to parts_scrap and destination kg to scrap_kg, the manual share shown apart, through a first emission and revisions that change the entries', () => {
    const entry = fc.record({
      parts: fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
      kg: fc.option(fc.double({ min: 0.001, max: 50, noNaN: true }), { nil: undefined }),
      reason: fc.option(fc.constantFrom('burr', 'crack', 'dent'), { nil: undefined }),
      destination: fc.option(fc.constantFrom('incineration', 'landfill'), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.option(fc.constantFrom('burr', 'crack'), { nil: undefined })), { maxLength: 6 }),
        fc.array(fc.array(entry, { maxLength: 4 }), { minLength: 1, maxLength: 4 }),
        (good, scraps, entrySets) => {
          const e = engine();
          e.ingest([{ machine: M, signal: 'parts_good', value: good, ts: T0 + 1000, source: 't' }], T0 + 1000);
          for (const [n, reason] of scraps) e.ingest([{ machine: M, signal: 'parts_scrap', value: n, ts: T0 + 2000, source: 't', ...(reason !== undefined ? { reason } : {}) }], T0 + 2000);
          const due = e.takeAll();
          let stored: Aggregate | undefined;
          for (const [i, set] of entrySets.entries()) {
            const d: DueWindow = i === 0 ? due[0]! : e.emptyWindow(M, T0, undefined, false)!;
            stored = toAggregate(d, stored, T0 + W + i, new Map(), destination, set.filter((x) => x.parts !== undefined || x.kg !== undefined));
            const a = stored!;
            const sum = (r: Record<string, Record<string, number>> | undefined, m: string) => Object.values(r ?? {}).reduce((s, x) => s + (x[m] ?? 0), 0);
            expect(sum(a.split!.reason, 'parts_scrap')).toBeCloseTo(a.kpis.parts_scrap!, 9);
            expect(sum(a.split!.reason, 'scrap_kg')).toBeCloseTo(a.kpis.scrap_kg!, 9);
            expect(sum(a.split!.destination, 'scrap_kg')).toBeCloseTo(a.kpis.scrap_kg!, 9);
            expect(sum(a.split!.reason, 'manual_scrap_parts')).toBeCloseTo(a.kpis.manual_scrap_parts ?? 0, 9);
            // The machine's own counts never change with the entries.
            expect(a.kpis.parts_good).toBe(good);
            expect(a.kpis.parts_total).toBe(good + scraps.reduce((s, [n]) => s + n, 0) + (a.kpis.manual_scrap_parts ?? 0));
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a revision that takes an entry away keeps its split keys and manual components at 0, so a sink that overwrites points sees them go', () => {
    const e = engine();
    e.ingest([{ machine: M, signal: 'parts_good', value: 10, ts: T0 + 1000, source: 't' }], T0 + 1000);
    const first = toAggregate(e.takeAll()[0]!, undefined, T0 + W, new Map(), destination, [{ parts: 3, kg: undefined, reason: 'crack', destination: undefined }])!;
    expect(first.split!.reason!.crack).toEqual({ parts_scrap: 3, scrap_kg: 0.75, manual_scrap_parts: 3, manual_scrap_kg: 0.75 });
    expect(first.split!.destination!.landfill).toEqual({ scrap_kg: 0.75, manual_scrap_kg: 0.75 });
    const moved = toAggregate(e.emptyWindow(M, T0, undefined, false)!, first, T0 + W + 1, new Map(), destination, [{ parts: 3, kg: undefined, reason: 'dent', destination: undefined }])!;
    expect(moved.split!.reason!.crack).toEqual({ parts_scrap: 0, scrap_kg: 0, manual_scrap_parts: 0, manual_scrap_kg: 0 });
    expect(moved.split!.reason!.dent!.parts_scrap).toBe(3);
    const gone = toAggregate(e.emptyWindow(M, T0, undefined, false)!, moved, T0 + W + 2, new Map(), destination, [])!;
    expect(gone.revision).toBe(2);
    expect(gone.components).toMatchObject({ parts_good: 10, manual_scrap_parts: 0, manual_scrap_kg: 0 });
    expect(gone.kpis).toMatchObject({ parts_total: 10, parts_scrap: 0, manual_scrap_parts: 0 });
    expect(gone.breakdowns).toBeUndefined();
  });

  it('a key that stays but loses its manual share keeps the manual measures at 0 (InfluxDB keeps a field a point no longer carries)', () => {
    const e = engine();
    e.ingest([{ machine: M, signal: 'parts_good', value: 10, ts: T0 + 1000, source: 't' }, { machine: M, signal: 'parts_scrap', value: 1, ts: T0 + 1000, source: 't' }], T0 + 1000);
    const first = toAggregate(e.takeAll()[0]!, undefined, T0 + W, new Map(), destination, [{ parts: 2, kg: undefined, reason: undefined, destination: undefined }])!;
    expect(first.split!.reason!.unassigned).toEqual({ parts_scrap: 3, scrap_kg: 0.75, manual_scrap_parts: 2, manual_scrap_kg: 0.5 });
    const moved = toAggregate(e.emptyWindow(M, T0, undefined, false)!, first, T0 + W + 1, new Map(), destination, [{ parts: 2, kg: undefined, reason: 'burr', destination: 'landfill' }])!;
    expect(moved.split!.reason!.unassigned).toEqual({ parts_scrap: 1, scrap_kg: 0.25, manual_scrap_parts: 0, manual_scrap_kg: 0 });
    expect(moved.split!.destination!.external_recycling).toEqual({ scrap_kg: 0.25, manual_scrap_kg: 0 });
    expect(moved.split!.destination!.landfill).toEqual({ scrap_kg: 0.5, manual_scrap_kg: 0.5 });
  });

  it('a revision adds no machine count the stored window did not have, not even a 0', () => {
    const e = engine();
    e.ingest([{ machine: M, signal: 'parts_good', value: 10, ts: T0 + 1000, source: 't' }], T0 + 1000);
    const first = toAggregate(e.takeAll()[0]!, undefined, T0 + W, new Map(), destination)!;
    const stored = { ...first, components: { parts_good: 10 } };
    const revised = toAggregate(e.emptyWindow(M, T0, undefined, false)!, stored, T0 + W + 1, new Map(), destination, [{ parts: 1, kg: undefined, reason: undefined, destination: undefined }])!;
    expect(revised.components).toEqual({ parts_good: 10, manual_scrap_parts: 1, manual_scrap_kg: 0.25 });
  });

  it('a window of a machine that sent nothing holds only the entry; with no entry either there is nothing to emit', () => {
    const e = engine();
    const only = toAggregate(e.emptyWindow(M, T0, undefined, true)!, undefined, T0 + W, new Map(), destination, [{ parts: 7, kg: undefined, reason: undefined, destination: undefined }])!;
    expect(only.kpis).toMatchObject({ parts_total: 7, parts_good: 0, parts_scrap: 7, manual_scrap_parts: 7, manual_scrap_kg: 1.75 });
    expect(only.split!.reason).toEqual({ unassigned: { parts_scrap: 7, scrap_kg: 1.75, manual_scrap_parts: 7, manual_scrap_kg: 1.75 } });
    expect(toAggregate(e.emptyWindow(M, T0, undefined, true)!, undefined, T0 + W, new Map(), destination, [])).toBeUndefined();
  });
});

describe('checking an entry', () => {
  const NOW = T0;
  const rules: EntryRules = {
    hasMachine: (m) => m === M,
    reasonsOf: () => new Set(['burr', 'crack']),
    destinations: ['internal_reuse', 'landfill'],
    correctionHorizonMs: 86_400_000,
    maxFutureSkewMs: 300_000,
  };
  const ok: EntryFields = { machine: M, ts: NOW - 1000, parts: 12, kg: undefined, reason: 'burr', destination: undefined, comment: 'bin at the end of the run' };
  const field = (e: Partial<EntryFields>) => checkEntry({ ...ok, ...e }, rules, NOW)?.field;

  it('a good entry passes; its time may be up to the correction horizon old', () => {
    expect(checkEntry(ok, rules, NOW)).toBeUndefined();
    expect(field({ ts: NOW - 86_400_000 })).toBeUndefined();
    expect(field({ parts: undefined, kg: 0.4 })).toBeUndefined();
  });

  it.each([
    ['an unknown machine', { machine: 'plant/l1/nope' }, 'machine'],
    ['a time older than the horizon', { ts: NOW - 86_400_001 }, 'time'],
    ['a time in the future', { ts: NOW + 300_001 }, 'time'],
    ['neither parts nor kg', { parts: undefined, kg: undefined }, 'parts'],
    ['negative parts', { parts: -3 }, 'parts'],
    ['zero parts', { parts: 0 }, 'parts'],
    ['a fraction of a part', { parts: 1.5 }, 'parts'],
    ['absurd parts', { parts: ENTRY_MAX_PARTS + 1 }, 'parts'],
    ['negative kg', { kg: -0.1 }, 'kg'],
    ['absurd kg', { kg: ENTRY_MAX_KG + 1 }, 'kg'],
    ['kg that is not a number', { kg: Number.NaN }, 'kg'],
    ['a reason the site does not define', { reason: 'dent' }, 'reason'],
    ['an unknown destination', { destination: 'river' }, 'destination'],
  ])('%s is refused, naming the field', (_what, e, expected) => {
    expect(field(e as Partial<EntryFields>)).toBe(expected);
  });

  it('a site without reason codes takes any well-formed code, but never "unassigned"', () => {
    const open = { ...rules, reasonsOf: () => undefined };
    expect(checkEntry({ ...ok, reason: 'anything-1' }, open, NOW)).toBeUndefined();
    expect(checkEntry({ ...ok, reason: 'unassigned' }, open, NOW)?.field).toBe('reason');
    expect(checkEntry({ ...ok, reason: 'has space' }, open, NOW)?.field).toBe('reason');
  });
});
