/**
 * Material-efficiency reports over a store the real pipeline filled (agent/src/reports/README.md):
 * the numbers of every format equal the sums of the stored windows computed here, independently,
 * for a month across the clock change, a night shift across midnight (and the clock change), an
 * ISO week over two months, and a day with a late-data revision and a manual entry; a machine's
 * outage is a gap, never zero production.
 */
import Database from 'better-sqlite3';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import ExcelJS from 'exceljs';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReportJson } from '../../agent/src/api/report-contract.js';
import { buildApp } from '../../agent/src/api/app.js';
import { CentralDashboard } from '../../agent/src/central.js';
import { validateConfig } from '../../agent/src/config/load.js';
import type { Config } from '../../agent/src/config/schema.js';
import { VirtualClock } from '../../agent/src/core/clock.js';
import type { Sample } from '../../agent/src/core/sample.js';
import { machineList } from '../../agent/src/readers/machine-list.js';
import { storeReader } from '../../agent/src/readers/store/index.js';
import { reportWords } from '../../agent/src/reports/i18n.js';
import { renderReport } from '../../agent/src/reports/render.js';
import { requireInfluxd, startInfluxdb, type InfluxdbServer } from '../helpers/influxdb.js';
import { requireBinary } from '../helpers/require-binary.js';
import { makeReport, type ReportContext } from '../../agent/src/reports/service.js';
import { MIGRATIONS } from '../../agent/src/store/migrations.js';
import { Store } from '../../agent/src/store/store.js';
import { entryService } from '../../agent/src/wiring/entries.js';
import { createPipeline } from '../../agent/src/wiring/pipeline-options.js';
import { reportService } from '../../agent/src/wiring/report.js';
import { packageRoot } from '../../agent/src/core/package-root.js';

/** pdftotext (poppler-utils) reads the PDF back; without it the PDF part is left out (loudly, and it fails in CI). */
const havePoppler = requireBinary('pdftotext');
const hasInfluxd = requireInfluxd();
const M1 = 'plant/line1/m1';
const M2 = 'plant/line1/m2';
const M3 = 'plant/line2/m3';
const STEP = 600_000; // 10-minute windows, one reading each
const FROM = Date.parse('2026-09-28T00:00:00Z');
const TO = Date.parse('2026-11-05T12:00:00Z');
/** M2 sends nothing from here to there (a network outage; the machine stood still). */
const OUTAGE = [Date.parse('2026-10-10T12:00:00Z'), Date.parse('2026-10-12T08:00:00Z')] as const;
/** M1's rework counter reaches the agent late for these two hours (a broker backlog). */
const LATE = [Date.parse('2026-11-04T08:00:00Z'), Date.parse('2026-11-04T10:00:00Z')] as const;

const CONFIG_INPUT = {
  agent: { id: 'reports-test', dataDir: './data' },
  kpi: { windowSize: '10m', allowedLateness: '10s' },
  sites: {
    plant: {
      timeZone: 'Europe/Amsterdam',
      shiftCalendar: [{ validFrom: '2026-01-01', shifts: { early: { start: '06:00', end: '14:00' }, late: { start: '14:00', end: '22:00' }, night: { start: '22:00', end: '06:00' } }, week: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, ['early', 'late', 'night']])) }],
      scrapReasons: { burr: { label: { en: 'Burr', nl: 'Braam' } }, crack: { label: { en: 'Crack', nl: 'Scheur' }, destination: 'landfill' } },
    },
  },
  materials: {
    S235: { pricePerKg: 0.9, scrapValuePerKg: 0.3, co2ePerKg: { value: 1.91, source: 'worldsteel 2023', year: 2022, boundary: 'cradle-to-gate' }, crm: { Mn: 0.01 }, recycledContentShare: 0.2 },
    AlMg3: { pricePerKg: 4.2, scrapValuePerKg: 1.6, co2ePerKg: { value: 15.1, source: 'IAI', year: 2022 }, crm: { Al: 0.96, Mg: 0.03 }, recycledContentShare: 0.35 },
    CuZn37: { pricePerKg: 7.5, scrapValuePerKg: 5, crm: { Cu: 0.63 }, hazardousWaste: true },
  },
  products: { bracket: { partMassKg: 0.5, material: 'S235' }, cover: { partMassKg: 0.2, material: 'AlMg3' }, plug: { partMassKg: 0.05, material: 'CuZn37' } },
  machineDefaults: { targets: { yield: 0.95, scrapRate: 0.04 } },
  machines: [
    { path: M1, name: 'Press 1', product: 'bracket', signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' }, parts_rework: { kind: 'counter' }, material_in_kg: { kind: 'counter' } } },
    { path: M2, name: 'Press 2', product: 'cover', signals: { parts_total: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } },
    { path: M3, name: 'Lathe 3', product: 'plug', scrapDestination: 'internal_reuse', signals: { parts_total: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } },
  ],
  api: { enabled: false },
};

/** Independent truth: sums of the stored windows whose start is in [from, to), machine by machine. */
function storedSums(store: Store, from: number, to: number, machines = [M1, M2, M3]): Record<string, number | undefined> & { windows: number } {
  const out: Record<string, number> = {};
  let windows = 0;
  for (const a of store.queryAggregates({ from, to, limit: 1_000_000 })) {
    if (!machines.includes(a.machine) || a.windowStart < from || a.windowStart >= to) continue;
    windows++;
    for (const [k, v] of Object.entries(a.kpis)) if (typeof v === 'number' && !['yield', 'scrap_rate', 'rework_ratio', 'first_pass_yield', 'material_efficiency'].includes(k)) out[k] = (out[k] ?? 0) + v;
  }
  return { windows, ...out };
}

/** Equal to the last bits of a double: sums in another order differ only there. Both absent is equal too, for a figure the windows do not have. */
const same = (a: number | undefined, b: number | undefined) => (b === undefined ? expect(a).toBeUndefined() : close(a, b));
const close = (a: number | undefined, b: number | undefined) => {
  expect(a).toBeDefined();
  expect(b).toBeDefined();
  expect(Math.abs(a! - b!)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b!)));
};

/** The CSV's rows as records (no field of these reports holds a comma or a quote). */
function csvRows(text: string): Record<string, string>[] {
  const [head, ...lines] = text.trim().split('\r\n');
  const cols = head!.split(',');
  return lines.map((l) => Object.fromEntries(l.split(',').map((v, i) => [cols[i]!, v])));
}

describe('material-efficiency reports', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-reports-'));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir);
  let cfg: Config;
  let store: Store;
  let clock: VirtualClock;
  let ctx: ReportContext;
  const report = (period: string, scope?: string) => makeReport(ctx, { period, scope });

  beforeAll(() => {
    cfg = validateConfig(CONFIG_INPUT);
    store = new Store({ path: join(dataDir, 'yieldwatch.db') });
    clock = new VirtualClock(FROM);
    const pipeline = createPipeline(cfg, store, clock);
    const c = { m1: { good: 0, scrap: 0, rework: 0, kg: 0 }, m2: { total: 0, scrap: 0 }, m3: { total: 0, scrap: 0 } };
    const held: Sample[] = [];
    const entries = entryService(cfg, store, pipeline, clock);
    let step = 0;
    for (let t = FROM; t < TO; t += STEP, step++) {
      clock.set(t + 60_000);
      const ts = t + 30_000;
      const hour = new Date(t).getUTCHours();
      // M1: a scrap spike every 7th window, so its shifts differ and its best one is below its average.
      const scrap = step % 7 === 0 ? 4 : 1;
      c.m1.good += 20;
      c.m1.scrap += scrap;
      if (step % 5 === 0) c.m1.rework += 1;
      c.m1.kg += (20 + scrap + (step % 5 === 0 ? 1 : 0)) * 0.5 * 1.04;
      const m1: Sample[] = [
        { machine: M1, signal: 'scrap_reason', value: step % 3 === 0 ? 'crack' : 'burr', ts, source: 't' },
        { machine: M1, signal: 'parts_good', value: c.m1.good, ts, source: 't' },
        { machine: M1, signal: 'parts_scrap', value: c.m1.scrap, ts, source: 't' },
        { machine: M1, signal: 'material_in_kg', value: c.m1.kg, ts, source: 't' },
      ];
      const rework: Sample = { machine: M1, signal: 'parts_rework', value: c.m1.rework, ts, source: 't' };
      if (t >= LATE[0] && t < LATE[1]) held.push(rework);
      else m1.push(rework);
      pipeline.ingest(m1);
      // M2: more scrap at night; nothing during the outage.
      if (!(t >= OUTAGE[0] && t < OUTAGE[1])) {
        c.m2.total += 30;
        c.m2.scrap += hour >= 21 || hour < 5 ? 3 : 1;
        pipeline.ingest([
          { machine: M2, signal: 'parts_total', value: c.m2.total, ts, source: 't' },
          { machine: M2, signal: 'parts_scrap', value: c.m2.scrap, ts, source: 't' },
        ]);
      }
      // M3: always 1 in 10 scrapped: every shift is its best.
      c.m3.total += 10;
      c.m3.scrap += 1;
      pipeline.ingest([
        { machine: M3, signal: 'parts_total', value: c.m3.total, ts, source: 't' },
        { machine: M3, signal: 'parts_scrap', value: c.m3.scrap, ts, source: 't' },
      ]);
      pipeline.tick();
      if (t === LATE[1] + STEP) {
        // The backlog arrives: the two hours' windows are revised with their rework.
        pipeline.ingest(held);
        pipeline.tick();
        // A bin of 5 rejects recorded by hand, then corrected to 6.
        const made = entries.create({ machine: M1, ts: Date.parse('2026-11-04T09:05:00Z'), parts: 5, kg: undefined, reason: 'burr', destination: undefined, comment: 'bin at start-up' }, 'Anna');
        if (!('entry' in made)) throw new Error(JSON.stringify(made));
        const edited = entries.edit(made.entry.current.id, { parts: 6 }, 'recounted', 'Bram');
        if (!('entry' in edited)) throw new Error(JSON.stringify(edited));
      }
    }
    clock.set(TO + 60_000);
    pipeline.flushAll();
    ctx = { cfg, clock, reader: storeReader(store, cfg, machineList(cfg), clock), entries, agentId: 'reports-test' };
  });
  afterAll(() => {
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Each report, its bounds in UTC, and its kind. */
  const PERIODS: [string, number, number, string][] = [
    ['2026-10', Date.parse('2026-09-30T22:00:00Z'), Date.parse('2026-10-31T23:00:00Z'), 'month'],
    ['2026-10-24 night', Date.parse('2026-10-24T20:00:00Z'), Date.parse('2026-10-25T05:00:00Z'), 'shift'],
    ['2026-W44', Date.parse('2026-10-25T23:00:00Z'), Date.parse('2026-11-01T23:00:00Z'), 'week'],
    ['2026-11-04', Date.parse('2026-11-03T23:00:00Z'), Date.parse('2026-11-04T23:00:00Z'), 'day'],
  ];

  for (const [period, start, end, kind] of PERIODS) {
    it(`${period}: the totals and every machine's figures are the stored windows' sums, in JSON, CSV, XLSX and PDF`, async () => {
      const r = await report(period);
      expect(r.period).toEqual({ kind, label: period, start, end });
      const want = storedSums(store, start, end);
      expect(r.totals.windows).toBe(want.windows);
      for (const k of ['parts_total', 'parts_good', 'parts_scrap', 'parts_rework', 'good_kg', 'scrap_kg', 'material_in_kg', 'material_loss_kg', 'loss_co2e_kg', 'manual_scrap_parts'] as const) same(r.totals[k], want[k]);
      close(r.totals.yield, want.parts_good! / want.parts_total!);
      close(r.totals.scrap_rate, want.parts_scrap! / want.parts_total!);
      close(r.totals.loss_cost?.EUR, want.loss_cost);
      close(r.totals.crm_loss_kg?.Cu, want.crm_loss_kg_Cu);
      for (const m of [M1, M2, M3]) {
        const w = storedSums(store, start, end, [m]);
        const row = r.by_machine.find((x) => x.key === m)!;
        close(row.figures.parts_total, w.parts_total);
        close(row.figures.scrap_kg, w.scrap_kg);
      }
      // The CSV holds the same numbers, unrounded.
      const csv = csvRows((await renderReport(r, 'csv', 'en')).body.toString('utf8'));
      const cell = (section: string, key: string, measure: string, unit?: string) => {
        const row = csv.find((x) => x.section === section && x.key === key && x.measure === measure && (unit === undefined || x.unit === unit));
        return row === undefined ? undefined : Number(row.value);
      };
      for (const k of ['parts_total', 'parts_scrap', 'scrap_kg', 'material_loss_kg', 'yield'] as const) expect(cell('totals', '', k)).toBe(r.totals[k]);
      expect(cell('totals', '', 'loss_cost', 'EUR')).toBe(r.totals.loss_cost!.EUR);
      expect(cell('machine', M2, 'parts_total')).toBe(r.by_machine.find((x) => x.key === M2)!.figures.parts_total);
      expect(cell('esrs_e5_5', 'waste', 'total_kg')).toBe(r.esrs.e5_5.total_kg);
      expect(cell('opportunity', 'total', 'saved_kg')).toBe(r.opportunity.total.saved_kg);
      expect(csv.every((x) => x.period !== '' && x.method === r.method)).toBe(true);
      // JSON is the model itself.
      expect(JSON.parse((await renderReport(r, 'json', 'en')).body.toString('utf8'))).toEqual(r);
      // The workbook read back holds the same numbers, as numbers.
      const book = new ExcelJS.Workbook();
      await book.xlsx.load((await renderReport(r, 'xlsx', 'nl')).body as unknown as ArrayBuffer);
      const numbers = new Set<number>();
      book.eachSheet((sheet) => sheet.eachRow((row) => row.eachCell((c) => void (typeof c.value === 'number' && numbers.add(c.value)))));
      const inBook = [r.totals.parts_total, r.totals.scrap_kg, r.totals.yield, r.totals.loss_cost!.EUR, r.esrs.e5_5.total_kg, r.opportunity.total.saved_kg, ...r.by_machine.flatMap((m) => [m.figures.parts_total, m.figures.scrap_kg])];
      for (const v of inBook) expect(numbers.has(v!), `${v} in the workbook`).toBe(true);
      expect(numbers.has(cell('machine', M2, 'parts_total')!)).toBe(true);
      // The PDF has the headline figures as text, as its language writes them.
      if (havePoppler) {
        const pdfFile = join(dir, `${kind}.pdf`);
        writeFileSync(pdfFile, (await renderReport(r, 'pdf', 'en')).body);
        const text = execFileSync('pdftotext', ['-enc', 'UTF-8', pdfFile, '-']).toString('utf8').replace(/\s+/g, ' ');
        const w = reportWords('en', r.time_zone);
        for (const shown of [w.share(r.totals.yield), w.share(r.totals.scrap_rate), w.number(r.totals.parts_total), w.money(r.totals.loss_cost!.EUR, 'EUR')]) expect(text).toContain(shown);
        expect(text).toContain(period.split(' ')[0]!);
      }
    });
  }

  it('the month across the clock change has 745 hours: a 25-hour day, and the October coverage counts it', async () => {
    const r = await report('2026-10', 'machine:m3');
    // M3 sent every window of the month: 745 hours × 6.
    expect(r.totals.windows).toBe(745 * 6);
    expect(r.totals.coverage).toBe(1);
    const oct25 = r.series.points.find((p) => p.label === '2026-10-25')!;
    expect(oct25.end - oct25.start).toBe(25 * 3_600_000);
    expect(oct25.figures.windows).toBe(25 * 6);
  });

  it('the night shift of the clock change lasts 9 hours and holds its windows after midnight', async () => {
    const r = await report('2026-10-24/night', 'machine:m3');
    expect(r.totals.windows).toBe(9 * 6);
    expect(r.series.step).toBe('hour');
    expect(r.series.points.map((p) => p.label)).toContain('2026-10-25T02+02:00');
    expect(r.series.points.map((p) => p.label)).toContain('2026-10-25T02+01:00');
  });

  it('an outage is a gap in the data-quality section, never zero production', async () => {
    const r = await report('2026-10', 'machine:plant/line1/m2');
    const q = r.data_quality.machines.find((m) => m.machine === M2)!;
    expect(q.gaps).toEqual([{ start: OUTAGE[0], end: OUTAGE[1] }]);
    expect(q.missing_ms).toBe(OUTAGE[1] - OUTAGE[0]);
    expect(q.coverage).toBeCloseTo(1 - (OUTAGE[1] - OUTAGE[0]) / (745 * 3_600_000), 12);
    expect(r.totals.coverage).toBe(q.coverage);
    // 11 October has no point in the chart rather than a point with 0 parts.
    expect(r.series.points.find((p) => p.label === '2026-10-11')).toBeUndefined();
    expect(r.series.points.find((p) => p.label === '2026-10-10')!.figures.coverage).toBeCloseTo(14 / 24, 12);
  });

  it('the day with the late rework and the manual entry: revised windows count once, the entry is listed with who and why', async () => {
    const r = await report('2026-11-04', 'machine:m1');
    const want = storedSums(store, PERIODS[3]![1], PERIODS[3]![2], [M1]);
    // The held-back rework landed in its own windows: one rework part every fifth window, all day.
    expect(r.totals.parts_rework).toBe(want.parts_rework);
    expect(r.totals.windows).toBe(144);
    expect(r.totals.manual_scrap_parts).toBe(6);
    expect(r.data_quality.entries).toEqual([
      expect.objectContaining({ machine: M1, time: Date.parse('2026-11-04T09:05:00Z'), parts: 6, reason: 'burr', comment: 'bin at start-up', by: 'Bram', version: 2, event: 'edited', why: 'recounted', deleted: false }),
    ]);
    const burr = r.by_reason.find((x) => x.key === 'burr')!;
    expect(burr.manual_scrap_parts).toBe(6);
    expect(burr.label).toEqual({ en: 'Burr', nl: 'Braam' });
  });

  it('ESRS E5-4: inflows weighed where the machine weighs them, else estimated, with the recycled content share', async () => {
    const r = await report('2026-W44');
    const e4 = r.esrs.e5_4;
    const byMat = Object.fromEntries(e4.rows.map((x) => [x.material, x]));
    expect(byMat.S235!.measured).toBe(true);
    close(byMat.S235!.kg, r.by_material.find((x) => x.key === 'S235')!.figures.material_in_kg);
    expect(byMat.AlMg3!.measured).toBe(false);
    const al = r.by_material.find((x) => x.key === 'AlMg3')!.figures;
    close(byMat.AlMg3!.kg, al.good_kg! + al.scrap_kg!);
    close(byMat.AlMg3!.secondary_kg, byMat.AlMg3!.kg * 0.35);
    expect(byMat.CuZn37!.recycled_content_share).toBeUndefined();
    expect(e4.secondary_share).toBeUndefined();
    expect(e4.estimate).toBe(true);
  });

  it('ESRS E5-5: the split adds up to the total waste, which is the scrap kg; hazardous by material, reuse by the machine, landfill by the reason', async () => {
    const r = await report('2026-10');
    const e5 = r.esrs.e5_5;
    close(e5.total_kg, r.totals.scrap_kg);
    close(e5.diverted.total_kg + e5.directed.total_kg + e5.unassigned_kg, e5.total_kg);
    close(e5.diverted.preparation_for_reuse_kg + e5.diverted.recycling_kg + e5.diverted.other_recovery_kg, e5.diverted.total_kg);
    close(e5.directed.incineration_kg + e5.directed.landfill_kg + e5.directed.other_disposal_kg, e5.directed.total_kg);
    close(e5.hazardous_kg + e5.non_hazardous_kg, e5.total_kg);
    close(e5.hazardous_kg, r.by_material.find((x) => x.key === 'CuZn37')!.figures.scrap_kg);
    close(e5.diverted.preparation_for_reuse_kg, r.by_machine.find((x) => x.key === M3)!.figures.scrap_kg);
    close(e5.directed.landfill_kg, r.by_reason.find((x) => x.key === 'crack')!.scrap_kg);
    close(e5.non_recycled_kg, e5.total_kg - e5.diverted.preparation_for_reuse_kg - e5.diverted.recycling_kg);
    // M2's kg are counted parts × part mass: an estimate, and the report says so.
    expect(e5.estimate).toBe(true);
    expect(r.data_quality.machines.find((m) => m.machine === M2)!.mass_basis.scrap_kg).toBe('estimated');
  });

  it('the opportunity: never negative, zero for the machine at its best, and its saving is the excess over the best shift', async () => {
    const r = await report('2026-10');
    for (const row of r.opportunity.rows) {
      expect(row.saved_parts).toBeGreaterThanOrEqual(0);
      expect(row.saved_kg ?? 0).toBeGreaterThanOrEqual(0);
    }
    const m3 = r.opportunity.rows.find((x) => x.machine === M3)!;
    expect(m3.best!.scrap_rate).toBeCloseTo(0.1, 12);
    expect(m3.saved_parts).toBe(0);
    expect(m3.saved_kg).toBe(0);
    const m2 = r.opportunity.rows.find((x) => x.machine === M2)!;
    // Its best shifts are the day shifts without night hours: 1 scrap in 30.
    expect(m2.best!.scrap_rate).toBeCloseTo(1 / 30, 12);
    expect(m2.best!.parts_total).toBeGreaterThanOrEqual(cfg.reports.opportunity.minParts);
    close(m2.saved_parts, m2.parts_scrap - m2.parts_total / 30);
    close(m2.saved_kg, m2.saved_parts * 0.2);
    close(m2.saved_cost?.EUR, m2.saved_kg! * (4.2 - 1.6));
    close(m2.saved_co2e_kg, m2.saved_kg! * 15.1);
    close(m2.saved_crm_kg?.Al, m2.saved_kg! * 0.96);
    close(r.opportunity.total.saved_kg, r.opportunity.rows.reduce((a, x) => a + (x.saved_kg ?? 0), 0));
  });

  it('comparisons: the previous period and the same period a year earlier (none: no data), and targets weighted by parts', async () => {
    const r = await report('2026-W44');
    expect(r.previous!.period.label).toBe('2026-W43');
    const prev = storedSums(store, Date.parse('2026-10-18T22:00:00Z'), Date.parse('2026-10-25T23:00:00Z'));
    close(r.previous!.figures.parts_total, prev.parts_total);
    expect(r.year_before).toBeNull();
    expect(r.targets.yield!.target).toBeCloseTo(0.95, 12);
    close(r.targets.scrap_rate!.actual, r.totals.scrap_rate);
    expect(r.targets.yield!.share_of_parts).toBe(1);
  });

  it('a running period is compared with as much of the previous one as has passed of it', async () => {
    // Now is 5 November 12:01 UTC, 13:01 in Amsterdam: the day so far against 4 November until 13:01.
    const r = await report('2026-11-05');
    expect(r.data_quality.partial_period).toBe(true);
    const dayStart = Date.parse('2026-11-03T23:00:00Z');
    // As far as the day has windows due: those that ended allowedLateness ago, not up to now.
    const { windowSize, allowedLateness } = cfg.kpi;
    const due = Math.floor((clock.now() - allowedLateness) / windowSize) * windowSize;
    const cut = dayStart + (due - Date.parse('2026-11-04T23:00:00Z'));
    expect(r.previous!.to_date).toBe(true);
    expect(r.previous!.period).toMatchObject({ label: '2026-11-04', start: dayStart, end: cut });
    close(r.previous!.figures.parts_total, storedSums(store, dayStart, cut).parts_total);
    // A whole day would have been about twice as many parts.
    expect(r.previous!.figures.parts_total!).toBeLessThan(storedSums(store, dayStart, dayStart + 86_400_000).parts_total! * 0.6);
    const done = await report('2026-11-04');
    expect(done.previous!.to_date).toBe(false);
    expect(done.previous!.period.end - done.previous!.period.start).toBe(86_400_000);
  });

  it('the coverage of a material scope is that of the machines that ran it, of all their data', async () => {
    // M2 runs AlMg3 all month, with one outage: its coverage is the scope's, whatever the others ran.
    const alu = await report('2026-10', 'material:AlMg3');
    const all = await report('2026-10', `machine:${M2}`);
    close(alu.totals.coverage, all.totals.coverage);
    expect(alu.totals.coverage!).toBeLessThan(1);
    expect(alu.totals.coverage!).toBeGreaterThan(0.9);
  });

  it('a scope of one line or one material sums only those', async () => {
    const line = await report('2026-10', 'line:line1');
    expect(line.scope.machines).toEqual([M1, M2]);
    close(line.totals.parts_total, storedSums(store, PERIODS[0]![1], PERIODS[0]![2], [M1, M2]).parts_total);
    const alu = await report('2026-10', 'material:AlMg3');
    close(alu.totals.parts_total, storedSums(store, PERIODS[0]![1], PERIODS[0]![2], [M2]).parts_total);
    expect(alu.by_material.map((x) => x.key)).toEqual(['AlMg3']);
  });

  it('a period or scope that does not exist is a plain sentence', async () => {
    await expect(report('2026-13')).rejects.toThrow(/"2026-13" is not a period/);
    await expect(report('2026-W54')).rejects.toThrow(/does not exist/);
    await expect(report('2026-10-24/lunch')).rejects.toThrow(/no shift "lunch" on 2026-10-24; that day has early, late, night/);
    await expect(report('2026-10', 'line:nope')).rejects.toThrow(/unknown line "nope"; expected one of: plant\/line1, plant\/line2/);
    await expect(report('2027-01')).rejects.toThrow(/has not started yet/);
  });

  it('GET /api/v1/reports answers the model, the CSV as a download, and a 400 that says what is wrong', async () => {
    const app = buildApp({ reader: ctx.reader, registry: new Registry(), health: () => ({}), reports: reportService(ctx) });
    try {
      const json = await app.inject('/api/v1/reports?period=2026-W44&scope=line:line1');
      expect(json.statusCode).toBe(200);
      expect(json.json<ReportJson>()).toEqual(await report('2026-W44', 'line:line1'));
      const csv = await app.inject('/api/v1/reports?period=2026-W44&format=csv');
      expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
      expect(csv.headers['content-disposition']).toBe('attachment; filename="yieldwatch-all-2026-W44.csv"');
      const bad = await app.inject('/api/v1/reports?period=last-fortnight');
      expect(bad.statusCode).toBe(400);
      expect(bad.json<{ message: string }>().message).toMatch(/"last-fortnight" is not a period/);
      // Six months asked for at once: one is made, four wait, the sixth is told to come back.
      const burst = await Promise.all(Array.from({ length: 6 }, () => app.inject('/api/v1/reports?period=2026-10&format=csv')));
      expect(burst.map((r) => r.statusCode).sort()).toEqual([200, 200, 200, 200, 200, 503]);
      const busy = burst.find((r) => r.statusCode === 503)!;
      expect(busy.headers['retry-after']).toBe('10');
      expect(busy.json<{ message: string }>().message).toMatch(/reports are already waiting/);
      // Made one after the other, they are the same report.
      expect(new Set(burst.filter((r) => r.statusCode === 200).map((r) => r.body)).size).toBe(1);
    } finally {
      await app.close();
    }
  });

  it('yieldwatch report: writes the file, and exits 2 with a sentence on a bad period', () => {
    const configFile = join(dir, 'agent.yaml');
    writeFileSync(configFile, stringify(CONFIG_INPUT));
    const cli = [join(packageRoot(), 'node_modules', 'tsx', 'dist', 'cli.mjs'), join(packageRoot(), 'agent', 'src', 'cli.ts')];
    const out = join(dir, 'october.csv');
    const ok = spawnSync(process.execPath, [...cli, 'report', '--config', configFile, '--period', '2026-10', '--scope', 'line:line1', '--out', out], { encoding: 'utf8' });
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/wrote .*october\.csv .*line:plant\/line1, 2026-10 \(Europe\/Amsterdam\)/);
    const rows = csvRows(readFileSync(out, 'utf8'));
    expect(rows.find((x) => x.section === 'totals' && x.measure === 'parts_total')!.value).toBe(String(storedSums(store, PERIODS[0]![1], PERIODS[0]![2], [M1, M2]).parts_total));
    const bad = spawnSync(process.execPath, [...cli, 'report', '--config', configFile, '--period', 'October'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/^No report: "October" is not a period; expected 2026-11 \(month\)/m);
  });

  it('yieldwatch report runs beside the agent: it reads while another process owns the store and holds its write lock, and never migrates it', { timeout: 60_000 }, async () => {
    const configFile = join(dir, 'agent.yaml');
    writeFileSync(configFile, stringify(CONFIG_INPUT));
    const tsx = join(packageRoot(), 'node_modules', 'tsx', 'dist', 'cli.mjs');
    const cli = [tsx, join(packageRoot(), 'agent', 'src', 'cli.ts')];
    // Another process opens the store as the agent does and stays in a transaction, as in the middle of a commit.
    const ownerScript = join(dir, 'owner.ts');
    writeFileSync(
      ownerScript,
      `import { Store } from ${JSON.stringify(join(packageRoot(), 'agent', 'src', 'store', 'store.ts'))};
const store = new Store({ path: process.argv[2]! });
store.transaction(() => {
  process.stdout.write('owning\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
});
`,
    );
    const owner = spawn(process.execPath, [tsx, ownerScript, join(dataDir, 'yieldwatch.db')], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<void>((r) => owner.once('exit', () => r()));
    try {
      await new Promise<void>((resolve, reject) => {
        owner.stdout.on('data', (b: Buffer) => b.toString().includes('owning') && resolve());
        owner.once('exit', (code) => reject(new Error(`the owner exited (${code}) before it held the store`)));
      });
      const out = join(dir, 'beside.csv');
      const run = spawnSync(process.execPath, [...cli, 'report', '--config', configFile, '--period', '2026-W44', '--out', out], { encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const rows = csvRows(readFileSync(out, 'utf8'));
      expect(rows.find((x) => x.section === 'totals' && x.measure === 'parts_total')!.value).toBe(String(storedSums(store, PERIODS[2]![1], PERIODS[2]![2]).parts_total));
    } finally {
      owner.kill();
      await exited;
    }

    // A store of an older schema (an upgraded yieldwatch beside the agent that has not restarted yet) is refused, not migrated.
    const old = mkdtempSync(join(tmpdir(), 'yw-reports-old-'));
    try {
      const oldFile = join(old, 'data', 'yieldwatch.db');
      new Store({ path: oldFile }).close();
      const db = new Database(oldFile);
      db.pragma(`user_version = ${MIGRATIONS.length - 1}`);
      db.close();
      writeFileSync(join(old, 'agent.yaml'), stringify(CONFIG_INPUT));
      const refused = spawnSync(process.execPath, [...cli, 'report', '--config', join(old, 'agent.yaml'), '--period', '2026-10', '--format', 'json'], { encoding: 'utf8' });
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/older than this yieldwatch's .*start the agent of this version once/);
      const after = new Database(oldFile, { readonly: true });
      expect(after.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length - 1);
      after.close();
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!hasInfluxd)('reports of the central dashboard while InfluxDB is down', () => {
  let influx: InfluxdbServer;
  let dir: string;
  let dash: CentralDashboard;

  beforeAll(async () => {
    influx = await startInfluxdb();
    await influx.query('', 'CREATE DATABASE plant');
    dir = mkdtempSync(join(tmpdir(), 'yw-reports-central-'));
    const config = validateConfig({
      sites: { plant: { timeZone: 'Europe/Amsterdam' } },
      machines: [{ path: M1 }],
      central: { influxdb: { url: influx.url, database: 'plant', timeout: '2s' } },
      api: { port: 0 },
    });
    dash = new CentralDashboard({ config, baseDir: dir, dataDir: dir, logger: pino({ level: 'silent' }), clock: new VirtualClock(Date.parse('2026-11-20T09:00:00Z')) });
  }, 60_000);
  afterAll(async () => {
    await dash?.stop();
    await influx?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('GET /api/v1/reports answers 503 with why while InfluxDB does not answer, as the other views do, and reports again once it is back', { timeout: 60_000 }, async () => {
    const ask = (format: string) => dash.app.inject(`/api/v1/reports?period=2026-11-19&format=${format}`);
    expect((await ask('json')).statusCode).toBe(200);

    await influx.stopProcess();
    for (const format of ['json', 'pdf']) {
      const down = await ask(format);
      expect(down.statusCode, format).toBe(503);
      expect(down.headers['content-type']).toMatch(/^application\/json/);
      expect(down.json()).toMatchObject({ statusCode: 503, error: 'Service Unavailable', message: expect.stringMatching(new RegExp(`cannot read InfluxDB: .*127\\.0\\.0\\.1:${influx.port}`)) });
    }
    // The same answer as the overview's: the dashboard is up, what it reads is not.
    expect((await dash.app.inject('/api/v1/overview')).statusCode).toBe(503);

    await influx.startProcess();
    expect((await ask('json')).statusCode).toBe(200);
  });
});
