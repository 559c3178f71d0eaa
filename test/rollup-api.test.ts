/** `GET /api/v1/kpis/rollup`: stored windows summed in the site's time through the HTTP API. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../agent/src/api/app.js';
import { validateConfig } from '../agent/src/config/load.js';
import { VirtualClock } from '../agent/src/core/clock.js';
import { createMetrics } from '../agent/src/observe/metrics.js';
import { Store } from '../agent/src/store/store.js';
import { createPipeline } from '../agent/src/wiring/pipeline-options.js';
import { rollupReader } from '../agent/src/readers/store/rollups.js';
import { storeReader } from '../agent/src/readers/store/index.js';
import { shiftList } from '../agent/src/wiring/site-list.js';
import { siteCalendars } from '../agent/src/config/site-calendars.js';
import { rollup, windowSums } from '../agent/src/kpi/rollup.js';
import type { RollupQuery, RollupRowJson } from '../agent/src/api/contract.js';

const cfg = validateConfig({
  kpi: { windowSize: '15m', allowedLateness: '10s' },
  sites: {
    plant: {
      timeZone: 'Europe/Amsterdam',
      shiftCalendar: [{ validFrom: '2026-01-01', shifts: { day: { start: '06:00', end: '18:00' }, night: { start: '18:00', end: '06:00' } }, week: { sat: ['day', 'night'], sun: ['day', 'night'], mon: ['day', 'night'] } }],
      scrapReasons: { burr: { label: { en: 'Burr' } } },
    },
  },
  machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' }, parts_rework: { kind: 'delta' } } },
  machines: [{ path: 'plant/l1/press', partMassKg: 0.5 }, { path: 'plant/l2/lathe', partMassKg: 1 }],
  api: { enabled: false },
});
// Saturday 24 October 2026 12:00 CEST to Monday 26 October 12:00 CET: the clocks go back on the Sunday.
const FROM = Date.parse('2026-10-24T10:00:00Z');
const TO = Date.parse('2026-10-26T11:00:00Z');
const Q = 15 * 60_000;

describe('GET /api/v1/kpis/rollup', () => {
  const store = new Store({ path: ':memory:' });
  let app: FastifyInstance;
  const perMachineGood = new Map<string, number>();

  beforeAll(async () => {
    const clock = new VirtualClock(FROM);
    const pipeline = createPipeline(cfg, store, clock);
    const counts = new Map(cfg.machines.map((m) => [m.path, { good: 0, scrap: 0 }]));
    for (let t = FROM; t <= TO; t += Q / 3) {
      clock.set(t);
      for (const [i, m] of cfg.machines.entries()) {
        const c = counts.get(m.path)!;
        const first = t === FROM;
        const good = 10 + (i + t / Q) % 7;
        const scrap = (t / Q + i) % 4 === 0 ? 2 : 0;
        c.good += good;
        c.scrap += scrap;
        pipeline.ingest([
          { machine: m.path, signal: 'parts_good', value: c.good, ts: t, source: 't' },
          { machine: m.path, signal: 'scrap_reason', value: 'burr', ts: t, source: 't' },
          { machine: m.path, signal: 'parts_scrap', value: c.scrap, ts: t, source: 't' },
        ]);
        if (!first) perMachineGood.set(m.path, (perMachineGood.get(m.path) ?? 0) + good);
      }
      pipeline.tick();
    }
    // Late rework for windows emitted hours ago: each is revised, and its hour with it.
    for (const [i, m] of cfg.machines.entries()) {
      pipeline.ingest([{ machine: m.path, signal: 'parts_rework', value: 3 + i, ts: FROM + 40 * 3_600_000 + 60_000, source: 't', seq: 1 }]);
      pipeline.ingest([{ machine: m.path, signal: 'parts_rework', value: 2, ts: FROM + 30 * 3_600_000 + 60_000, source: 't', seq: 2 }]);
    }
    pipeline.tick();
    clock.set(TO + 3_600_000);
    pipeline.tick();
    pipeline.flushAll();
    expect(store.queryAggregates().filter((a) => a.revision > 0)).toHaveLength(4);
    app = buildApp({
      reader: storeReader(store, cfg, [], clock),
      registry: createMetrics({ pipeline, store, sources: [] }),
      health: () => ({}),
      shifts: shiftList(cfg),
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    store.close();
  });

  const get = async (q: string) => app.inject(`/api/v1/kpis/rollup?${q}`);

  it('by day and machine: the day the clocks go back is 25 hours long, and the rows add up to every stored window', async () => {
    const r = await get(`period=day&by=machine&from=${FROM}&to=${TO + Q}`);
    expect(r.statusCode).toBe(200);
    const items = r.json().items as Record<string, number | string>[];
    expect(items.map((x) => `${x.period} ${x.machine}`)).toEqual([
      '2026-10-24 plant/l1/press', '2026-10-24 plant/l2/lathe', '2026-10-25 plant/l1/press', '2026-10-25 plant/l2/lathe', '2026-10-26 plant/l1/press', '2026-10-26 plant/l2/lathe',
    ]);
    const sunday = items.find((x) => x.period === '2026-10-25' && x.machine === 'plant/l1/press')!;
    expect((sunday.period_end as number) - (sunday.period_start as number)).toBe(25 * 3_600_000);
    expect(sunday.windows).toBe(100);
    expect(sunday.coverage).toBe(1);
    for (const m of cfg.machines) {
      const rows = items.filter((x) => x.machine === m.path);
      expect(rows.reduce((n, x) => n + (x.parts_good as number), 0)).toBe(perMachineGood.get(m.path));
      const stored = store.queryAggregates({ machine: m.path });
      expect(rows.reduce((n, x) => n + (x.windows as number), 0)).toBe(stored.length);
    }
    for (const x of items) expect(x.yield).toBeCloseTo((x.parts_good as number) / (x.parts_total as number), 12);
  });

  it('by shift and site: the night shift across the change of clocks holds 13 hours of windows', async () => {
    const items = (await get(`period=shift&by=site&from=${FROM}&to=${TO}`)).json().items as Record<string, number | string>[];
    const night = items.find((x) => x.period === '2026-10-24 night')!;
    expect(night.site).toBe('plant');
    expect((night.period_end as number) - (night.period_start as number)).toBe(13 * 3_600_000);
    expect(night.windows).toBe(2 * 52);
    // The shifts that start in the query count whole: the Saturday day shift began before it, Sunday's runs on past its end.
    const cut = (await get(`period=shift&by=site&from=${FROM}&to=${Date.parse('2026-10-25T11:00:00Z')}`)).json().items as Record<string, number | string>[];
    expect(cut.map((x) => x.period)).toEqual(['2026-10-24 night', '2026-10-25 day']);
    expect(cut[1]!.windows).toBe(2 * 48);
  });

  it('by reason: the scrap of each reason per day, with its share', async () => {
    const items = (await get(`period=day&by=reason&from=${FROM}&to=${TO}`)).json().items as Record<string, number | string>[];
    const sunday = items.filter((x) => x.period === '2026-10-25');
    expect(sunday.map((x) => x.reason)).toEqual(['burr']);
    expect(sunday[0]!.share_of_scrap).toBe(1);
    const byDay = (await get(`period=day&by=site&from=${FROM}&to=${TO}`)).json().items as Record<string, number | string>[];
    expect(sunday[0]!.parts_scrap).toBe(byDay.find((x) => x.period === '2026-10-25')!.parts_scrap);
  });

  it('format=csv: the same rows and numbers as the JSON, unrounded, one row per period and group, as a file to download', async () => {
    const q = `period=day&by=machine&from=${FROM}&to=${TO}`;
    const json = (await get(q)).json() as { items: RollupRowJson[] };
    const res = await get(`${q}&format=csv`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(/^attachment; filename="yieldwatch-day-by-machine-2026-10-24\.csv"$/);
    const [header, ...lines] = res.body.trimEnd().split('\r\n').map((l) => l.split(','));
    expect(header!.slice(0, 6)).toEqual(['period', 'period_start', 'period_end', 'machine', 'windows', 'coverage']);
    expect(header).toContain('dq_stale');
    expect(lines).toHaveLength(json.items.length);
    lines.forEach((cells, i) => {
      const row = Object.fromEntries(header!.map((h, j) => [h, cells[j]]));
      const want = json.items[i]!;
      expect(row.period).toBe(want.period);
      expect(row.period_start).toBe(new Date(want.period_start).toISOString());
      expect(row.machine).toBe(want.machine);
      for (const k of ['parts_total', 'parts_good', 'yield', 'scrap_rate', 'coverage']) expect(row[k], k).toBe(String(want[k]));
      expect(row.dq_stale).toBe(String(want.quality!.stale));
    });
  });

  it('whole hours are read from the stored hours: the same rows as from the windows, revisions included', async () => {
    const calendars = siteCalendars(cfg);
    const fromWindows = (period: RollupQuery['period'], by: RollupQuery['by']) =>
      rollup(windowSums(store.iterateAggregates({ from: FROM })), { period, by, from: FROM, to: TO, timeZoneOf: () => 'Europe/Amsterdam', calendarOf: () => calendars.get('plant'), machines: cfg.machines.map((m) => m.path) });
    const read = rollupReader(store, cfg);
    const viaHours: Record<string, RollupRowJson[]> = {};
    for (const [period, by] of [['hour', 'machine'], ['day', 'line'], ['shift', 'site'], ['week', 'reason'], ['month', 'destination']] as const) {
      const hours = read({ period, by, from: FROM, to: TO });
      const windows = fromWindows(period, by);
      viaHours[`${period} ${by}`] = hours;
      expect(hours.length, `${period} by ${by}`).toBe(windows.length);
      hours.forEach((h, i) => {
        const w = windows[i]!;
        expect(h[by]).toBe(w.group);
        expect(h.period).toBe(w.period);
        expect(h.windows).toBe(w.windows);
        for (const [k, v] of Object.entries(w.kpis)) expect(h[k] as number, `${period} ${by} ${w.period} ${w.group} ${k}`).toBeCloseTo(v, 9);
        if (w.coverage !== undefined) expect(h.coverage as number).toBeCloseTo(w.coverage, 12);
      });
    }
    expect(viaHours['day line']!.reduce((n, r) => n + (r.parts_rework as number), 0)).toBe(2 * 2 + 3 + 4);
    // Saturday 18:00 CEST to Monday 06:00 CET cuts no shift: read from the stored shifts, the same rows as from the windows.
    const shiftsFrom = Date.parse('2026-10-24T16:00:00Z');
    const shiftsTo = Date.parse('2026-10-26T05:00:00Z');
    const byShift = read({ period: 'shift', by: 'machine', from: shiftsFrom, to: shiftsTo });
    const byShiftWindows = rollup(windowSums(store.iterateAggregates({ from: shiftsFrom })), { period: 'shift', by: 'machine', from: shiftsFrom, to: shiftsTo, timeZoneOf: () => 'Europe/Amsterdam', calendarOf: () => calendars.get('plant'), machines: cfg.machines.map((m) => m.path) });
    expect(byShift.map((r) => `${r.period} ${r.machine}`)).toEqual(byShiftWindows.map((r) => `${r.period} ${r.group}`));
    expect(byShift.map((r) => r.period)).toContain('2026-10-25 night');
    byShift.forEach((r, i) => {
      for (const [k, v] of Object.entries(byShiftWindows[i]!.kpis)) expect(r[k] as number, `${r.period} ${k}`).toBeCloseTo(v, 9);
      expect(r.windows).toBe(byShiftWindows[i]!.windows);
    });
    // With the windows gone, whole hours still answer (from the hours); a query that does not start on the hour reads windows and finds none.
    const db = (store as unknown as { db: { prepare(sql: string): { run(): void } } }).db;
    db.prepare('DELETE FROM aggregates').run();
    expect(read({ period: 'day', by: 'line', from: FROM, to: TO })).toEqual(viaHours['day line']);
    expect(read({ period: 'day', by: 'line', from: FROM + 60_000, to: TO })).toEqual([]);
    // With the hours gone too, shifts that the query does not cut still answer, from the stored shifts.
    db.prepare('DELETE FROM rollup_hours').run();
    expect(read({ period: 'shift', by: 'machine', from: shiftsFrom, to: shiftsTo })).toEqual(byShift);
  });

  it('bad queries are a 400 naming the parameter', async () => {
    for (const [q, name] of [
      [`period=fortnight&from=${FROM}&to=${TO}`, 'period'],
      [`period=day&by=colour&from=${FROM}&to=${TO}`, 'by'],
      [`period=day&to=${TO}`, 'from'],
      [`period=day&from=yesterday&to=${TO}`, 'from'],
      [`period=day&from=${TO}&to=${FROM}`, 'to'],
      [`period=day&from=0&to=${TO}`, 'to'],
    ] as const) {
      const r = await get(q);
      expect(r.statusCode, q).toBe(400);
      expect(r.json().message, q).toContain(name);
    }
  });

  it('GET /api/v1/shifts lists a site\'s shifts for the shift picker, in site time across the clock change; 404 for a site without a calendar', async () => {
    const res = await app.inject(`/api/v1/shifts?site=plant&from=${Date.parse('2026-10-25T00:00:00Z')}&to=${Date.parse('2026-10-26T00:00:00Z')}`);
    expect(res.statusCode).toBe(200);
    const items = (res.json() as { items: { name: string; date: string; start: number; end: number }[] }).items;
    // Saturday's night shift runs into Sunday and is 13 hours long: the clocks go back at 03:00 that night.
    expect(items.map((x) => `${x.date} ${x.name}`)).toEqual(['2026-10-24 night', '2026-10-25 day', '2026-10-25 night']);
    expect(items[1]).toMatchObject({ start: Date.parse('2026-10-25T05:00:00Z'), end: Date.parse('2026-10-25T17:00:00Z') });
    expect(items[0]!.end - items[0]!.start).toBe(13 * 3_600_000);
    expect(items[2]!.end - items[2]!.start).toBe(12 * 3_600_000);
    expect((await app.inject(`/api/v1/shifts?site=nowhere&from=0&to=1000`)).statusCode).toBe(404);
    const tooLong = await app.inject(`/api/v1/shifts?site=plant&from=0&to=${40 * 86_400_000}`);
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().message).toMatch(/"to" must be at most 31 days/);
  });
});
