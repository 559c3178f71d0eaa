import type { ReportJson } from '../../agent/src/api/report-contract.js';
import type { Entry, EntryVersion } from '../../agent/src/core/entries.js';
import type { PartialSums } from '../../agent/src/core/rollup.js';
import { emptyQuality } from '../../agent/src/kpi/quality.js';
import { zoneOffset } from '../../agent/src/kpi/site-time.js';
import { collapseComparison, collapseSums } from '../../agent/src/reports/collapse.js';
import { inScope } from '../../agent/src/reports/scope.js';
import { periodOf } from '../../agent/src/kpi/periods.js';
import { buildReport, stepOf, type ReportData, type ReportMachine, type ReportMaterial, type ReportSettings } from '../../agent/src/reports/model.js';
import type { DemonstratedPeriod } from '../../agent/src/reports/opportunity.js';
import { parsePeriod, previousPeriod, yearBefore, type ReportPeriod } from '../../agent/src/reports/period.js';

/**
 * A report made the way the agent makes one: hand-made sums of every hour of October 2026 at a
 * site in Amsterdam (the clocks go back on the 25th), run through `buildReport`. Deterministic:
 * the same options give the same report.
 *
 * - `plant/press/p1` weighs its input and its scrap, counts rework, and has targets;
 * - `plant/press/p2` counts parts only (scrap kg = parts × part mass, an ESRS estimate), and sent
 *   nothing from 10 October 08:00 to 12 October 14:00;
 * - `plant/mould/m1` moulds a glass-filled polyamide that is reground in house, has a few hours
 *   without a material, and scrap recorded by hand.
 * `machines` > 3 adds machines like p2 on more lines (a plant of 50 machines).
 */
export interface FixtureOptions {
  /** When the report is made (epoch ms); default 2 November 2026 08:00, after the month. */
  now?: number;
  machines?: number;
  /** No machine sent anything: no sums, no comparisons, no entries. */
  noData?: boolean;
}

export const TIME_ZONE = 'Europe/Amsterdam';
const H = 3_600_000;

const MATERIALS: Record<string, ReportMaterial> = {
  AlMg3: {
    pricePerKg: 3.2,
    scrapValuePerKg: 1.1,
    currency: 'EUR',
    co2ePerKg: { value: 8.6, source: 'European Aluminium, Environmental Profile Report', year: 2024, boundary: 'cradle-to-gate, primary and recycled ingot mix' },
    crm: { Mg: 0.03 },
    recycledContentShare: 0.35,
    scrapDestination: 'external_recycling',
    hazardousWaste: false,
  },
  'PA6-GF30': {
    pricePerKg: 4.5,
    scrapValuePerKg: 0,
    currency: 'EUR',
    co2ePerKg: { value: 7.1, source: 'PlasticsEurope Eco-profile polyamide 6', year: 2023, boundary: 'cradle-to-gate' },
    crm: {},
    scrapDestination: 'internal_reuse',
    hazardousWaste: false,
  },
};

const REASONS: ReportSettings['reasons'] = {
  flash: { label: { en: 'Flash (burrs)', nl: 'Braam' }, group: 'tool' },
  short_shot: { label: { en: 'Short shot', nl: 'Onvolledig gevuld (te kort geïnjecteerd)' }, group: 'process' },
  crack: { label: { en: 'Cracks', nl: 'Scheuren' }, group: 'material' },
  dimension: { label: { en: 'Out of tolerance', nl: 'Maatafwijking' }, group: 'process' },
  setup: { label: { en: 'Setup scrap', nl: 'Insteluitval' }, group: 'setup' },
};

interface MachineSpec {
  machine: ReportMachine;
  material: string;
  product: string;
  partsPerHour: number;
  partMassKg: number;
  /** Input weighed: in = good + scrap + this share of the good kg (sprues, skeletons). */
  inputLoss?: number;
  rework: boolean;
  baseScrap: number;
  reasons: string[];
  gap?: [from: number, to: number];
  noMaterialHours?: (localHour: number, day: number) => boolean;
}

/** A tiny deterministic generator: the same seed, the same numbers. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const local = (t: number) => new Date(t + zoneOffset(TIME_ZONE, t));
const at = (day: number, hour: number) => {
  // 2026-10-<day> <hour>:00 in Amsterdam (summer time until the 25th).
  const utc = Date.UTC(2026, 9, day, hour);
  return utc - zoneOffset(TIME_ZONE, utc);
};

function machineSpecs(count: number): MachineSpec[] {
  const specs: MachineSpec[] = [
    {
      machine: { machine: 'plant/press/p1', name: 'Press 1', targets: { yield: 0.95, scrap_rate: 0.04 }, signals: { parts_total: 'counter', parts_scrap: 'counter', parts_rework: 'counter', scrap_kg: 'counter', material_in_kg: 'counter' } },
      material: 'AlMg3',
      product: 'bracket-a',
      partsPerHour: 400,
      partMassKg: 0.35,
      inputLoss: 0.06,
      rework: true,
      baseScrap: 0.03,
      reasons: ['crack', 'dimension', 'setup'],
    },
    {
      machine: { machine: 'plant/press/p2', name: 'Press 2', targets: { yield: 0.96 }, signals: { parts_total: 'counter', parts_scrap: 'counter' } },
      material: 'AlMg3',
      product: 'housing-b',
      partsPerHour: 300,
      partMassKg: 0.5,
      rework: false,
      baseScrap: 0.045,
      reasons: ['crack', 'dimension'],
      gap: [at(10, 8), at(12, 14)],
    },
    {
      machine: { machine: 'plant/mould/m1', name: 'Spuitgietmachine Noord', signals: { parts_total: 'counter', parts_scrap: 'counter' } },
      material: 'PA6-GF30',
      product: 'clip-c',
      partsPerHour: 600,
      partMassKg: 0.02,
      rework: false,
      baseScrap: 0.05,
      reasons: ['flash', 'short_shot', 'setup'],
      noMaterialHours: (h, d) => d === 7 && h >= 10 && h < 13,
    },
  ];
  for (let i = specs.length; i < count; i++) {
    const line = `l${Math.floor(i / 10) + 1}`;
    specs.push({
      machine: { machine: `plant/${line}/m${String(i + 1).padStart(2, '0')}`, name: `Machine ${i + 1}`, signals: { parts_total: 'counter', parts_scrap: 'counter' } },
      material: i % 3 === 0 ? 'PA6-GF30' : 'AlMg3',
      product: `part-${i % 7}`,
      partsPerHour: 100 + ((i * 37) % 300),
      partMassKg: 0.05 + ((i * 13) % 40) / 100,
      rework: false,
      baseScrap: 0.01 + ((i * 7) % 60) / 1000,
      reasons: i % 2 === 0 ? ['dimension', 'setup'] : ['crack', 'flash', 'short_shot'],
      ...(i % 5 === 0 ? { gap: [at(3 + (i % 20), 6), at(3 + (i % 20), 18)] as [number, number] } : {}),
    });
  }
  return specs;
}

/** The sums of one machine over [start, end) with `parts` parts and a scrap rate. */
function sumsOf(s: MachineSpec, start: number, end: number, parts: number, scrapRate: number, rnd: () => number, material: string | undefined, manual?: { parts: number; reason: string }): PartialSums {
  const m = material === undefined ? undefined : MATERIALS[material];
  const scrap = Math.round(parts * scrapRate) + (manual?.parts ?? 0);
  const rework = s.rework ? Math.round(parts * 0.01 * rnd()) : 0;
  const total = parts + (manual?.parts ?? 0);
  const good = total - scrap - rework;
  const goodKg = good * s.partMassKg;
  const scrapKg = scrap * s.partMassKg;
  const sums: Record<string, number> = { parts_total: total, parts_good: good, parts_scrap: scrap, good_kg: goodKg, scrap_kg: scrapKg };
  const ratios: Record<string, [number, number]> = { yield: [good, total], scrap_rate: [scrap, total] };
  if (s.rework) {
    sums.parts_rework = rework;
    ratios.rework_ratio = [rework, total];
    ratios.first_pass_yield = [good, total];
  }
  let loss = scrapKg;
  if (s.inputLoss !== undefined) {
    const inKg = goodKg + scrapKg + rework * s.partMassKg + goodKg * s.inputLoss;
    sums.material_in_kg = inKg;
    ratios.material_efficiency = [goodKg, inKg];
    loss = inKg - goodKg;
  }
  sums.material_loss_kg = loss;
  if (manual !== undefined) {
    sums.manual_scrap_parts = manual.parts;
    sums.manual_scrap_kg = manual.parts * s.partMassKg;
  }
  if (m !== undefined) {
    sums.loss_cost = loss * (m.pricePerKg! - m.scrapValuePerKg);
    sums.loss_co2e_kg = loss * m.co2ePerKg!.value;
    for (const [el, f] of Object.entries(m.crm)) sums[`crm_loss_kg_${el}`] = loss * f;
  }
  // Scrap by reason (kg shared out by parts), and by destination.
  const reason: Record<string, Record<string, number>> = {};
  let left = scrap - (manual?.parts ?? 0);
  s.reasons.forEach((code, i) => {
    const n = i === s.reasons.length - 1 ? left : Math.min(left, Math.round(left * (0.55 - 0.15 * i) * (0.8 + 0.4 * rnd())));
    left -= n;
    if (n > 0) reason[code] = { parts_scrap: n, scrap_kg: n * s.partMassKg };
  });
  if (manual !== undefined) {
    const r = (reason[manual.reason] ??= { parts_scrap: 0, scrap_kg: 0 });
    r.parts_scrap! += manual.parts;
    r.scrap_kg! += manual.parts * s.partMassKg;
    r.manual_scrap_parts = manual.parts;
    r.manual_scrap_kg = manual.parts * s.partMassKg;
  }
  const destination = { [m?.scrapDestination ?? 'unknown']: { scrap_kg: scrapKg, ...(manual !== undefined ? { manual_scrap_kg: manual.parts * s.partMassKg } : {}) } };
  const quality = emptyQuality();
  if (rnd() < 0.02) quality.stale = 1 + Math.floor(rnd() * 3);
  if (rnd() < 0.01) quality.implausible = 1;
  if (rnd() < 0.005) quality.too_late = 2;
  return { machine: s.machine.machine, start, end, material, product: s.product, windows: Math.round((end - start) / 60_000), covered: end - start, sums, ratios, quality, split: scrap > 0 ? { reason, destination } : undefined };
}

/** Manual entries on m1: one as recorded, one edited (with why), one deleted; the first two are in the sums. */
function entries(): { entries: Entry[]; manual: Map<number, { parts: number; reason: string }> } {
  const v = (id: string, ts: number, parts: number, reason: string, kind: EntryVersion['kind'], by: string, atT: number, version: number, why?: string, comment?: string): EntryVersion => ({
    id,
    machine: 'plant/mould/m1',
    ts,
    parts,
    kg: undefined,
    reason,
    destination: undefined,
    comment,
    version,
    kind,
    by,
    at: atT,
    why,
  });
  const e1 = v('e1', at(6, 9) + 20 * 60_000, 40, 'short_shot', 'created', 'operator.jansen', at(6, 10), 1, undefined, 'Bak met afkeur na omstellen, geteld');
  const e2a = v('e2', at(14, 15) + 5 * 60_000, 80, 'flash', 'created', 'operator.de.vries', at(14, 16), 1);
  const e2 = v('e2', at(14, 15) + 5 * 60_000, 60, 'flash', 'edited', 'teamleader.bakker', at(15, 8), 2, 'counted twice: 20 parts were already in the machine count');
  const e3a = v('e3', at(20, 11), 15, 'setup', 'created', 'operator.jansen', at(20, 11) + 30 * 60_000, 1);
  const e3 = v('e3', at(20, 11), 15, 'setup', 'deleted', 'teamleader.bakker', at(21, 7), 2, 'wrong machine');
  const manual = new Map([
    [at(6, 9), { parts: 40, reason: 'short_shot' }],
    [at(14, 15), { parts: 60, reason: 'flash' }],
  ]);
  return { entries: [{ current: e1, history: [e1] }, { current: e2, history: [e2a, e2] }, { current: e3, history: [e3a, e3] }], manual };
}

/** The shift a local hour is in: early 06–14, late 14–22, night 22–06 (dated by its start). */
function shiftOf(t: number): { label: string; start: number } {
  const d = local(t);
  const h = d.getUTCHours();
  const day = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - (h < 6 ? 1 : 0)));
  const name = h >= 6 && h < 14 ? 'early' : h >= 14 && h < 22 ? 'late' : 'night';
  const startHour = name === 'early' ? 6 : name === 'late' ? 14 : 22;
  const wall = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), startHour);
  return { label: `${day.toISOString().slice(0, 10)} ${name}`, start: wall - zoneOffset(TIME_ZONE, wall) };
}

function hoursOf(specs: MachineSpec[], p: ReportPeriod, seed: number, until: number, manual: Map<number, { parts: number; reason: string }>): PartialSums[] {
  const out: PartialSums[] = [];
  specs.forEach((s, i) => {
    const rnd = random(seed * 1000 + i);
    for (let t = p.start; t < p.end && t < until; t += H) {
      if (s.gap !== undefined && t >= s.gap[0] && t < s.gap[1]) continue;
      const d = local(t);
      const weekend = d.getUTCDay() === 0 || d.getUTCDay() === 6;
      const parts = Math.round(s.partsPerHour * (weekend ? 0.4 : 1) * (0.85 + 0.3 * rnd()));
      // Setup at the start of each early shift costs scrap; a bad day now and then.
      const setup = d.getUTCHours() === 6 ? 0.05 : 0;
      const badDay = d.getUTCDate() % 9 === 4 ? 0.04 : 0;
      const rate = Math.max(0, s.baseScrap * (0.6 + 0.8 * rnd()) + setup + badDay);
      const material = s.noMaterialHours?.(d.getUTCHours(), d.getUTCDate()) === true ? undefined : s.material;
      out.push(sumsOf(s, t, t + H, parts, rate, rnd, material, s.machine.machine === 'plant/mould/m1' ? manual.get(t) : undefined));
    }
  });
  return out;
}

/** Daily sums of a period before (for the comparisons): coarser spans, as the store's days are. */
function daysOf(specs: MachineSpec[], p: ReportPeriod, seed: number, scrapFactor: number): PartialSums[] {
  const out: PartialSums[] = [];
  specs.forEach((s, i) => {
    const rnd = random(seed * 1000 + i);
    for (let t = p.start; t < p.end; ) {
      const d = local(t);
      const next = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
      const end = Math.min(p.end, next - zoneOffset(TIME_ZONE, next));
      out.push(sumsOf(s, t, end, Math.round((s.partsPerHour * (end - t)) / H), s.baseScrap * scrapFactor * (0.8 + 0.4 * rnd()), rnd, s.material));
      t = end;
    }
  });
  return out;
}

export function fixtureReport(o: FixtureOptions = {}): ReportJson {
  const now = o.now ?? at(33, 8); // 2 November 08:00
  const ctx = { timeZone: TIME_ZONE };
  const period = parsePeriod('2026-10', ctx, now) as ReportPeriod;
  const specs = machineSpecs(o.machines ?? 3);
  const { entries: list, manual } = entries();
  const sums = o.noData === true ? [] : hoursOf(specs, period, 1, now, manual);

  // Each machine's shifts on its material, for the opportunity (from the same hours).
  const shifts = new Map<string, DemonstratedPeriod & { scrap: number }>();
  for (const p of sums) {
    if (p.material === undefined) continue;
    const sh = shiftOf(p.start);
    const key = `${p.machine} ${p.material} ${sh.label}`;
    let d = shifts.get(key);
    if (d === undefined) shifts.set(key, (d = { machine: p.machine, material: p.material, period: sh.label, start: sh.start, scrap_rate: 0, parts_total: 0, scrap: 0 }));
    d.parts_total += p.sums.parts_total!;
    d.scrap += p.sums.parts_scrap!;
    d.scrap_rate = d.scrap / d.parts_total;
  }

  const prev = previousPeriod(period, ctx)!;
  const year = yearBefore(period, ctx)!;
  const scope = { spec: 'all', machines: specs.map((s) => s.machine.machine) };
  const inMachines = (m: string) => scope.machines.includes(m);
  const collapsed = collapseSums(sums, inMachines, inScope(scope), (t) => periodOf(stepOf(period), ctx.timeZone, t)!.start);
  const comparison = (p: ReportPeriod, list: PartialSums[]) => ({ period: p, ...collapseComparison(list, inMachines, inScope(scope)), toDate: false });
  const data: ReportData = {
    period,
    scope,
    now,
    sums: collapsed.sums,
    spans: collapsed.spans,
    keptSpans: collapsed.keptSpans,
    covered: collapsed.covered,
    coveredByStep: collapsed.coveredByStep,
    resolutionMs: H,
    previous: o.noData === true ? undefined : comparison(prev, daysOf(specs, prev, 2, 1.15)),
    // A year earlier only the presses ran.
    yearBefore: o.noData === true ? undefined : comparison(year, daysOf(specs.slice(0, 2), year, 3, 1.4)),
    demonstrated: [...shifts.values()].map(({ scrap: _scrap, ...d }) => d),
    entries: o.noData === true ? [] : list.filter((e) => e.current.at <= now),
    entriesTruncated: false,
  };
  const settings: ReportSettings = {
    method: 'yieldwatch-kpi/2',
    configHash: '3f9a1c0e5b7d2468ace013579bdf2468ace013579bdf2468ace013579bdf2468',
    materialLibraryVersion: '2026.2',
    source: 'store',
    agent: 'edge-hal-3',
    site: 'plant',
    timeZone: TIME_ZONE,
    machines: new Map(specs.map((s) => [s.machine.machine, s.machine])),
    materials: MATERIALS,
    reasons: REASONS,
    opportunity: { basis: 'shift', minParts: 500, lookbackMs: 28 * 86_400_000 },
  };
  return buildReport(data, settings);
}

/** 20 October 2026 12:00 in Amsterdam: a month report made before the month is over. */
export const MID_OCTOBER = at(20, 12);
