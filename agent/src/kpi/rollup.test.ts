import { describe, expect, it } from 'vitest';
import type { Aggregate, Components } from '../core/aggregate.js';
import { manualSums } from './manual.js';
import { deriveKpis, deriveScrapSplit, KPI_METHOD } from './derive.js';
import { rollup, windowSums, type RollupOptions } from './rollup.js';
import type { ShiftCalendar } from './shifts.js';

const ZONE = 'Europe/Amsterdam';
const M1 = 'plant/l1/press';
const M2 = 'plant/l2/lathe';
const MIN = 60_000;
const Q = 15 * MIN;

const calendar: ShiftCalendar = {
  timeZone: ZONE,
  versions: [
    {
      validFrom: '2026-01-01',
      shifts: { early: { start: 360, end: 840 }, late: { start: 840, end: 1320 }, night: { start: 1320, end: 360 } },
      week: { mon: ['early', 'late', 'night'], tue: ['early', 'late', 'night'], wed: ['early', 'late', 'night'], thu: ['early', 'late', 'night'], fri: ['early', 'late', 'night'], sat: ['early', 'late', 'night'], sun: ['early', 'late', 'night'] },
      exceptions: [],
    },
    // From 1 November the early shift starts at 05:00: a calendar change that must not rewrite October.
    {
      validFrom: '2026-11-01',
      shifts: { early: { start: 300, end: 840 }, late: { start: 840, end: 1320 }, night: { start: 1320, end: 300 } },
      week: { mon: ['early', 'late', 'night'], tue: ['early', 'late', 'night'], wed: ['early', 'late', 'night'], thu: ['early', 'late', 'night'], fri: ['early', 'late', 'night'], sat: ['early', 'late', 'night'], sun: ['early', 'late', 'night'] },
      exceptions: [],
    },
  ],
};

/** Deterministic windows of 15 minutes for two machines of very different volume, with scrap by reason. */
function windows(from: number, to: number): Aggregate[] {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const out: Aggregate[] = [];
  for (let t = from; t < to; t += Q) {
    for (const [machine, volume, mass] of [[M1, 400, 0.5], [M2, 20, 2]] as const) {
      const scrap = rnd(Math.ceil(volume / 20));
      const destination = (r: string | undefined) => (r === 'burr' ? 'internal_reuse' : 'external_recycling');
      // Now and then a bin of rejects recorded by hand.
      const manual = rnd(7) === 0 ? manualSums([{ parts: rnd(30) + 1, kg: undefined, reason: 'crack', destination: 'landfill' }], mass, destination) : undefined;
      const c: Components = { parts_good: volume - scrap + rnd(5), parts_scrap: scrap, material_in_kg: volume * mass * 1.1, ...manual?.components };
      const kpis = deriveKpis(c, { partMassKg: mass });
      const burr = rnd(scrap + 1);
      const split = deriveScrapSplit(c, kpis, { reason: { burr: { parts_scrap: burr } }, ...manual?.breakdowns }, mass, destination);
      out.push({ machine, windowStart: t, windowEnd: t + Q, revision: 0, product: undefined, material: machine === M1 ? 'steel' : 'brass', partMassKg: mass, components: c, ...(split ? { split } : {}), quality: { stale: 0, implausible: 0, rebaselined: 0, too_late: 0, skewed: 0, dup: rnd(3) === 0 ? 1 : 0, rejected: 0 }, kpis, method: KPI_METHOD, emittedAt: t + Q });
    }
  }
  return out;
}

/** The site's wall clock of an instant, by the platform's own formatter: independent of the code under test. */
function local(t: number): { date: string; hour: number; minute: number } {
  const s = new Date(t).toLocaleString('sv-SE', { timeZone: ZONE }); // "2026-10-25 02:30:00"
  return { date: s.slice(0, 10), hour: Number(s.slice(11, 13)), minute: Number(s.slice(14, 16)) };
}

function prevDate(date: string): string {
  const d = new Date(`${date}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() - 1);
  return d.toISOString().slice(0, 10);
}

const options = (o: Pick<RollupOptions, 'period' | 'by' | 'from' | 'to'>): RollupOptions => ({ ...o, timeZoneOf: () => ZONE, calendarOf: () => calendar, machines: [M1, M2] });

/** Sums the test's own way: Σ parts and the yield from the sums, per label and machine. */
function expectedBy(ws: Aggregate[], label: (a: Aggregate) => string | undefined): Map<string, { good: number; total: number; manual: number; windows: number }> {
  const out = new Map<string, { good: number; total: number; manual: number; windows: number }>();
  for (const a of ws) {
    const l = label(a);
    if (l === undefined) continue;
    const key = `${l}|${a.machine}`;
    const e = out.get(key) ?? { good: 0, total: 0, manual: 0, windows: 0 };
    e.good += a.components.parts_good!;
    // Produced = what the machine counted + the manual scrap recorded on top.
    e.total += a.components.parts_good! + a.components.parts_scrap! + (a.components.manual_scrap_parts ?? 0);
    e.manual += a.components.manual_scrap_parts ?? 0;
    e.windows++;
    out.set(key, e);
  }
  return out;
}

function compare(rows: ReturnType<typeof rollup>, expected: ReturnType<typeof expectedBy>): void {
  expect(rows.map((r) => `${r.period}|${r.group}`).sort()).toEqual([...expected.keys()].sort());
  for (const r of rows) {
    const e = expected.get(`${r.period}|${r.group}`)!;
    expect(r.windows, r.period).toBe(e.windows);
    expect(r.kpis.parts_good).toBe(e.good);
    expect(r.kpis.parts_total).toBe(e.total);
    expect(r.kpis.manual_scrap_parts ?? 0).toBe(e.manual);
    expect(r.kpis.yield).toBeCloseTo(e.good / e.total, 12);
  }
}

describe('rollups in site time', () => {
  const from = Date.parse('2026-10-23T22:00:00Z');
  const to = Date.parse('2026-11-03T23:00:00Z');
  const ws = windows(from, to);

  it('by day: equal to the sums over each day\'s windows; the day the clocks go back has 25 hours of windows', () => {
    const rows = rollup(windowSums(ws), options({ period: 'day', by: 'machine', from, to }));
    compare(rows, expectedBy(ws, (a) => local(a.windowStart).date));
    const change = rows.find((r) => r.period === '2026-10-25' && r.group === M1)!;
    expect(change.windows).toBe(100);
    expect(change.period_end - change.period_start).toBe(25 * 3_600_000);
    expect(change.coverage).toBe(1);
  });

  it('by shift: the night shift across midnight and across the change of clocks, and the calendar change on 1 November', () => {
    const shiftLabel = (a: Aggregate) => {
      const l = local(a.windowStart);
      const minutes = l.hour * 60 + l.minute;
      const earlyStart = l.date >= '2026-11-01' ? 300 : 360;
      if (minutes >= earlyStart && minutes < 840) return `${l.date} early`;
      if (minutes >= 840 && minutes < 1320) return `${l.date} late`;
      // Before the early shift: the night shift of the day before (whose end is the early start of this day).
      return minutes >= 1320 ? `${l.date} night` : `${prevDate(l.date)} night`;
    };
    const rows = rollup(windowSums(ws), options({ period: 'shift', by: 'machine', from, to }));
    // A shift rollup counts the shifts that start in the query, whole: the night shift that started the evening before is not one of them.
    compare(rows, expectedBy(ws, (a) => {
      const label = shiftLabel(a);
      return label.startsWith('2026-10-23') ? undefined : label;
    }));
    const night = rows.find((r) => r.period === '2026-10-24 night' && r.group === M2)!;
    expect(night.windows).toBe(36); // 22:00 CEST to 06:00 CET is 9 hours
    expect(rows.find((r) => r.period === '2026-11-02 early' && r.group === M1)!.windows).toBe(36); // 05:00 to 14:00
  });

  it('by ISO week and by month, with the boundaries of the site\'s midnight', () => {
    const ys = windows(Date.parse('2026-12-27T20:00:00Z'), Date.parse('2027-01-05T02:00:00Z'));
    const weekOf = (a: Aggregate) => {
      const d = new Date(`${local(a.windowStart).date}T12:00:00Z`);
      const thursday = new Date(d);
      thursday.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7) + 3);
      const week = Math.floor((thursday.getTime() - Date.UTC(thursday.getUTCFullYear(), 0, 1)) / 86_400_000 / 7) + 1;
      return `${thursday.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
    };
    const weeks = rollup(windowSums(ys), options({ period: 'week', by: 'machine', from: 0, to: Date.parse('2030-01-01T00:00:00Z') }));
    compare(weeks, expectedBy(ys, weekOf));
    expect([...new Set(weeks.map((r) => r.period))]).toEqual(['2026-W52', '2026-W53', '2027-W01']);
    const months = rollup(windowSums(ys), options({ period: 'month', by: 'site', from: 0, to: Date.parse('2030-01-01T00:00:00Z') }));
    expect(months.map((r) => r.period)).toEqual(['2026-12', '2027-01']);
    // 23:00 UTC on 31 December is midnight in Amsterdam: from then on it is January.
    const jan = ys.filter((a) => a.windowStart >= Date.parse('2026-12-31T23:00:00Z'));
    expect(months[1]!.kpis.parts_total).toBe(jan.reduce((n, a) => n + a.kpis.parts_total!, 0));
  });

  it('ratios come from the sums, never from averaging ratios', () => {
    const [row] = rollup(windowSums(ws), options({ period: 'year', by: 'site', from, to }));
    const good = ws.reduce((n, a) => n + a.kpis.parts_good!, 0);
    const total = ws.reduce((n, a) => n + a.kpis.parts_total!, 0);
    const scrapKg = ws.reduce((n, a) => n + a.kpis.scrap_kg!, 0);
    expect(row!.kpis.yield).toBeCloseTo(good / total, 12);
    const meanOfYields = ws.reduce((n, a) => n + a.kpis.yield!, 0) / ws.length;
    expect(Math.abs(row!.kpis.yield! - meanOfYields)).toBeGreaterThan(1e-4);
    expect(row!.kpis.scrap_kg).toBeCloseTo(scrapKg, 9);
    expect(row!.quality.dup).toBe(ws.reduce((n, a) => n + a.quality.dup, 0));
    const parts = Object.values(row!.scrap_by_reason!).reduce((n, m) => n + m.parts_scrap!, 0);
    expect(parts).toBe(row!.kpis.parts_scrap);
  });

  it('by reason: each reason\'s parts per day, and their shares of the day\'s scrap add up to 1', () => {
    const rows = rollup(windowSums(ws), options({ period: 'day', by: 'reason', from, to }));
    const day = rows.filter((r) => r.period === '2026-10-25');
    expect(day.map((r) => r.group).sort()).toEqual(['burr', 'crack', 'unassigned']);
    const ofDay = ws.filter((a) => local(a.windowStart).date === '2026-10-25');
    const burr = ofDay.reduce((n, a) => n + (a.split?.reason?.burr?.parts_scrap ?? 0), 0);
    expect(day.find((r) => r.group === 'burr')!.kpis.parts_scrap).toBe(burr);
    // Cracks are the manual entries: all of their parts are manual.
    const manual = ofDay.reduce((n, a) => n + (a.components.manual_scrap_parts ?? 0), 0);
    expect(manual).toBeGreaterThan(0);
    expect(day.find((r) => r.group === 'crack')!.kpis).toMatchObject({ parts_scrap: manual, manual_scrap_parts: manual });
    expect(day.reduce((n, r) => n + r.kpis.share_of_scrap!, 0)).toBeCloseTo(1, 12);
  });

  it('coverage: the share of the period the windows cover, per machine of the group, clipped to the query', () => {
    const some = ws.filter((a) => !(a.machine === M2 && local(a.windowStart).date === '2026-10-27' && local(a.windowStart).hour < 12));
    const rows = rollup(windowSums(some), options({ period: 'day', by: 'line', from, to }));
    expect(rows.find((r) => r.period === '2026-10-27' && r.group === 'plant/l2')!.coverage).toBeCloseTo(0.5, 12);
    expect(rows.find((r) => r.period === '2026-10-27' && r.group === 'plant/l1')!.coverage).toBe(1);
    // The query starts at 22:00 UTC on 23 October, midnight in Amsterdam: the first day is whole.
    expect(rows.find((r) => r.period === '2026-10-24' && r.group === 'plant/l1')!.coverage).toBe(1);
  });
});
