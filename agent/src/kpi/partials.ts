import { QUALITY_COUNTS, type AggregateKpis, type QualityCounts } from '../core/aggregate.js';
import { addBreakdownsInto } from './breakdowns.js';
import { emptyQuality } from './quality.js';

/** KPIs that add up across windows; every other KPI is a ratio, derived from these sums. */
const ADDITIVE = new Set(['parts_total', 'parts_good', 'parts_scrap', 'parts_rework', 'good_kg', 'scrap_kg', 'material_in_kg', 'material_loss_kg', 'loss_cost', 'loss_co2e_kg', 'manual_scrap_parts', 'manual_scrap_kg']);
const isAdditive = (k: string): boolean => ADDITIVE.has(k) || k.startsWith('crm_loss_kg_');

/** Ratios: name → numerator and denominator, each summed over the windows that define the ratio. */
export const RATIOS: Readonly<Record<string, readonly [string, string]>> = {
  yield: ['parts_good', 'parts_total'],
  scrap_rate: ['parts_scrap', 'parts_total'],
  rework_ratio: ['parts_rework', 'parts_total'],
  first_pass_yield: ['parts_good', 'parts_total'],
  material_efficiency: ['good_kg', 'material_in_kg'],
};

export type { PartialSums } from '../core/rollup.js';
import type { PartialSums } from '../core/rollup.js';

export const HOUR_MS = 3_600_000;

/** Windows of `windowMs` tile an hour exactly, so an hour's sums hold whole windows. */
export function windowsFitHours(windowMs: number): boolean {
  return windowMs <= HOUR_MS && HOUR_MS % windowMs === 0;
}

/**
 * Whether sums over [from, to) may be read as whole hours and give the windows' sums: the span
 * starts and ends on the hour, and windows of `windowMs` tile an hour.
 */
export function onWholeHours(from: number, to: number, windowMs: number): boolean {
  return from % HOUR_MS === 0 && to % HOUR_MS === 0 && windowsFitHours(windowMs);
}

/** `RATIOS` as a list, made once: sums of windows run per window, a month's chart 43,200 times. */
const RATIO_LIST = Object.entries(RATIOS);

/** The sums of one window. */
export function partialOf(a: AggregateKpis): PartialSums {
  const sums: Record<string, number> = {};
  for (const k in a.kpis) if (isAdditive(k)) sums[k] = a.kpis[k]!;
  const ratios: Record<string, [number, number]> = {};
  for (const [name, [num, den]] of RATIO_LIST) if (name in a.kpis) ratios[name] = [a.kpis[num]!, a.kpis[den]!];
  const quality = {} as QualityCounts;
  for (const k of QUALITY_COUNTS) quality[k] = a.quality[k] ?? 0;
  return { machine: a.machine, start: a.windowStart, end: a.windowEnd, material: a.material, product: a.product, windows: 1, covered: a.windowEnd - a.windowStart, sums, ratios, quality, split: a.split };
}

/** `into` plus `sign` × `p`, in place (sign −1 takes back a window's earlier emission when its revision comes). */
export function addPartial(into: PartialSums, p: PartialSums, sign: 1 | -1): void {
  into.windows += sign * p.windows;
  into.covered += sign * p.covered;
  for (const k in p.sums) into.sums[k] = (into.sums[k] ?? 0) + sign * p.sums[k]!;
  for (const k in p.ratios) {
    const [n, d] = p.ratios[k]!;
    const cur = into.ratios[k] ?? [0, 0];
    into.ratios[k] = [cur[0] + sign * n, cur[1] + sign * d];
  }
  for (const k of QUALITY_COUNTS) into.quality[k] += sign * p.quality[k];
  into.split = addBreakdownsInto(into.split, p.split, sign);
}

/** Empty sums of one machine, span (an hour, a site day), material and product, to add windows to. */
export function emptySums(machine: string, start: number, end: number, material: string | undefined, product: string | undefined): PartialSums {
  return {
    machine,
    start,
    end,
    material,
    product,
    windows: 0,
    covered: 0,
    sums: {},
    ratios: {},
    quality: emptyQuality(),
    split: undefined,
  };
}

/** The stored form of an hour's or a day's sums: opaque text to the store, this module's format. */
export function encodeSums(h: PartialSums): string {
  return JSON.stringify({ v: 1, windows: h.windows, covered: h.covered, sums: h.sums, ratios: h.ratios, quality: h.quality, ...(h.split !== undefined ? { split: h.split } : {}) });
}

export function decodeSums(s: { machine: string; start: number; end: number; material: string | undefined; product: string | undefined; data: string }): PartialSums {
  const d = JSON.parse(s.data) as Pick<PartialSums, 'windows' | 'covered' | 'sums' | 'ratios' | 'quality' | 'split'>;
  const { machine, start, end, material, product } = s;
  return { machine, start, end, material, product, windows: d.windows, covered: d.covered, sums: d.sums, ratios: d.ratios, quality: d.quality, split: d.split };
}
