import { describe, expect, it } from 'vitest';
import type { PartialSums } from '../core/rollup.js';
import { emptySums } from '../kpi/partials.js';
import { collapseSums } from './collapse.js';
import { buildReport, stepOf, type ReportMaterial, type ReportSettings } from './model.js';
import { parsePeriod, type ReportPeriod } from './period.js';
import { inScope, parseScope, type ReportScope } from './scope.js';
import { periodOf } from '../kpi/periods.js';
import type { Entry } from '../core/entries.js';

const H = 3_600_000;
const ctx = { timeZone: 'UTC' };
const period = parsePeriod('2026-11-02', ctx, Date.parse('2026-11-10T00:00:00Z')) as ReportPeriod;
const [A, B, C] = ['plant/l1/a', 'plant/l1/b', 'plant/l1/c'];
const material = (): ReportMaterial => ({ scrapValuePerKg: 0, currency: 'EUR', crm: {}, hazardousWaste: false, scrapDestination: 'external_recycling' });

function hour(machine: string, i: number, mat: string): PartialSums {
  const p = emptySums(machine, period.start + i * H, period.start + (i + 1) * H, mat, undefined);
  p.windows = 60;
  p.covered = H;
  p.sums = { parts_total: 100, parts_good: 95, parts_scrap: 5 };
  p.ratios = { yield: [95, 100], scrap_rate: [5, 100] };
  return p;
}

const settings: ReportSettings = {
  method: 'yieldwatch-kpi/2',
  configHash: 'x',
  materialLibraryVersion: undefined,
  source: 'store',
  agent: undefined,
  site: 'plant',
  timeZone: 'UTC',
  machines: new Map([
    [A, { machine: A, name: 'A', signals: {}, material: 'Y' }],
    // B is set up for X but sent nothing all day.
    [B, { machine: B, name: 'B', signals: {}, material: 'X' }],
    [C, { machine: C, name: 'C', signals: {}, material: 'Y' }],
  ]),
  materials: { X: material(), Y: material() },
  reasons: {},
  opportunity: { basis: 'day', minParts: 200, lookbackMs: 90 * 86_400_000 },
};

function entryAt(machine: string, ts: number): Entry {
  const v = { id: `e${ts}`, version: 1, kind: 'created' as const, by: 'op', at: ts, why: undefined, machine, ts, parts: 1, kg: undefined, reason: undefined, destination: undefined, comment: undefined };
  return { current: v, history: [v] };
}

function reportOf(scopeSpec: string, sums: PartialSums[], entries: Entry[] = []) {
  const scope = parseScope(scopeSpec, { machines: [A, B, C], materials: ['X', 'Y'], products: [] }) as ReportScope;
  const machines = new Set(scope.machines);
  const c = collapseSums(sums, (m) => machines.has(m), inScope(scope), (t) => periodOf(stepOf(period), 'UTC', t)!.start);
  return buildReport({ period, scope, now: period.end + H, sums: c.sums, spans: c.spans, keptSpans: c.keptSpans, covered: c.covered, coveredByStep: c.coveredByStep, resolutionMs: H, previous: undefined, yearBefore: undefined, demonstrated: [], entries, entriesTruncated: false }, settings);
}

describe('coverage of a material scope', () => {
  // A ran X for 6 hours and Y for 18; C ran Y all day; B sent nothing.
  const sums = [...Array.from({ length: 24 }, (_, i) => hour(A, i, i < 6 ? 'X' : 'Y')), ...Array.from({ length: 24 }, (_, i) => hour(C, i, 'Y'))];

  it('expects the machines set up for the material and those that ran it, and counts all their data', () => {
    const r = reportOf('material:X', sums);
    expect(r.totals.parts_total).toBe(600);
    // A sent data all day (no gap while it ran Y); B, set up for X, sent none.
    expect(r.totals.coverage).toBeCloseTo(0.5, 12);
    const a = r.data_quality.machines.find((m) => m.machine === A)!;
    expect(a.coverage).toBe(1);
    expect(a.gaps).toEqual([]);
    // C, set up for Y and never on X, is no machine of this report.
    expect(r.by_machine.map((m) => m.key)).toEqual([A, B]);
    expect(r.data_quality.machines.map((m) => m.machine)).toEqual([A, B]);
  });

  it('lists the entries of the times a machine ran the material, not those of the rest of its day', () => {
    const r = reportOf('material:X', sums, [entryAt(A, period.start + 2 * H), entryAt(A, period.start + 12 * H)]);
    expect(r.data_quality.entries.map((e) => e.time)).toEqual([period.start + 2 * H]);
  });

  it('of a structural scope is every machine of it', () => {
    expect(reportOf('all', sums).totals.coverage).toBeCloseTo(2 / 3, 12);
  });
});
