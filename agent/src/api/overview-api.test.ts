import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.js';
import { validateConfig } from '../config/load.js';
import { createMetrics } from '../observe/metrics.js';
import { Store } from '../store/store.js';
import { machineList } from '../readers/machine-list.js';
import { createPipeline } from '../wiring/pipeline-options.js';
import { buildApp } from './app.js';
import type { OverviewJson } from './contract.js';
import { storeReader } from '../readers/store/index.js';

const W = 60_000;
const A = 'plant/l1/a';
const B = 'plant/l1/b';
// 05:50 in Amsterdam (UTC+1 in December): the night shift until 06:00, then the early shift.
const T0 = Date.UTC(2026, 11, 3, 4, 50);

const config = validateConfig({
  kpi: { windowSize: '60s', allowedLateness: '10s' },
  sites: {
    plant: {
      timeZone: 'Europe/Amsterdam',
      shiftCalendar: [
        {
          validFrom: '2026-01-01',
          shifts: { early: { start: '06:00', end: '14:00' }, late: { start: '14:00', end: '22:00' }, night: { start: '22:00', end: '06:00' } },
          week: { mon: ['early', 'late', 'night'], tue: ['early', 'late', 'night'], wed: ['early', 'late', 'night'], thu: ['early', 'late', 'night'], fri: ['early', 'late', 'night'] },
        },
      ],
    },
  },
  machineDefaults: { targets: { yield: 0.9, scrapRate: 0.05, band: 0.03 } },
  machines: [
    { path: A, signals: { parts_good: { kind: 'delta' }, parts_scrap: { kind: 'delta' } } },
    { path: B, name: 'Press B (250 t)', targets: { yield: 0.97 }, signals: { parts_good: { kind: 'delta' }, parts_scrap: { kind: 'delta' } } },
  ],
  alerts: { rules: [{ id: 'threshold', type: 'threshold', scrapRate: 0.3, minParts: 5, severity: 'critical' }] },
  sources: [],
});

/** The overview: each machine's newest window, its shift and day so far from the sums, its open alerts, and whether its data stopped. */
describe('GET /api/v1/overview', () => {
  it('sums each machine\'s current shift and day in the site\'s time, shows its newest window and open alerts, and says when its data stopped', async () => {
    const clock = new VirtualClock(T0);
    const store = new Store({ path: ':memory:' });
    const pipeline = createPipeline(config, store, clock);
    // 17 minutes: A makes 10 good and 1 scrap a minute, and 10 scrap in minute 15 (an alert); B stops after minute 5.
    const made: { machine: string; t: number; good: number; scrap: number }[] = [];
    for (let k = 0; k < 17; k++) {
      const t = T0 + k * W + 1000;
      made.push({ machine: A, t, good: 10, scrap: k === 15 ? 10 : 1 });
      if (k < 5) made.push({ machine: B, t, good: 5, scrap: 0 });
    }
    for (const m of made) {
      clock.set(m.t);
      pipeline.ingest([{ machine: m.machine, signal: 'parts_good', value: m.good, ts: m.t, source: 't' }, { machine: m.machine, signal: 'parts_scrap', value: m.scrap, ts: m.t, source: 't' }]);
      pipeline.tick();
    }
    clock.set(T0 + 16 * W + 10_000);
    pipeline.tick();
    const app = buildApp({ reader: storeReader(store, config, machineList(config), clock), registry: createMetrics({ pipeline, store, sources: [] }), health: () => ({}) });
    const read = async () => (await app.inject('/api/v1/overview')).json<OverviewJson>();

    const o = await read();
    expect(o.time_zones).toEqual({ plant: 'Europe/Amsterdam' });
    expect(o.items.map((m) => m.machine)).toEqual([A, B]);
    // People see the configured name; the path stays the identifier.
    expect(o.items.map((m) => m.name)).toEqual(['a', 'Press B (250 t)']);
    // Targets: the defaults, a machine's own key replacing the same one.
    expect(o.items.map((m) => m.targets)).toEqual([{ yield: 0.9, scrap_rate: 0.05, band: 0.03 }, { yield: 0.97, scrap_rate: 0.05, band: 0.03 }]);
    const [a, b] = o.items;
    // The early shift began at 06:00 local = 05:00 UTC, ten minutes in; the windows of 05:00..05:15 are in it.
    const early = made.filter((m) => m.machine === A && m.t >= T0 + 10 * W && m.t < T0 + 16 * W);
    expect(a!.shift).toMatchObject({ period: '2026-12-03 early', period_start: Date.UTC(2026, 11, 3, 5), kpis: { parts_good: early.reduce((s, m) => s + m.good, 0), parts_scrap: early.reduce((s, m) => s + m.scrap, 0) } });
    const day = made.filter((m) => m.machine === A && m.t < T0 + 16 * W);
    expect(a!.day).toMatchObject({ period: '2026-12-03', period_start: Date.UTC(2026, 11, 2, 23), kpis: { parts_total: day.reduce((s, m) => s + m.good + m.scrap, 0) } });
    expect(a!.day.kpis!.yield).toBeCloseTo(day.reduce((s, m) => s + m.good, 0) / day.reduce((s, m) => s + m.good + m.scrap, 0), 12);
    expect(a!.window).toMatchObject({ window_start: T0 + 15 * W, parts_scrap: 10 });
    expect(a!.alerts.map((x) => [x.rule, x.state])).toEqual([['threshold', 'firing']]);
    expect(a!.stale).toBe(false);
    // B's data stopped after minute 5: stale, with its last window kept, never shown as zero.
    expect(b!.stale).toBe(true);
    expect(b!.window).toMatchObject({ window_start: T0 + 4 * W, parts_good: 5 });
    expect(b!.shift!.kpis).toBeUndefined();
    // A machine is stale when its newest window ended more than two windows and the lateness ago.
    clock.set(T0 + 16 * W + 2 * W + 10_000);
    expect((await read()).items[0]!.stale).toBe(false);
    clock.set(T0 + 16 * W + 2 * W + 10_001);
    expect((await read()).items[0]!.stale).toBe(true);
    // The last 12 hours for the sparkline, hour by hour (now 05:08 UTC): the 05:00 hour so far holds the early
    // shift's windows (its sums, its yield from them); the 04:00 hour the ten minutes before; the hours before, nothing.
    const recent = (await read()).items[0]!.recent;
    expect(recent.t).toHaveLength(12);
    expect(recent.t.at(-1)).toBe(Date.UTC(2026, 11, 3, 5));
    expect(recent.yield.at(-1)).toBeCloseTo(a!.shift!.kpis!.yield!, 12);
    expect(recent.parts_total.at(-1)).toBe(a!.shift!.kpis!.parts_total);
    const before = made.filter((m) => m.machine === A && m.t < T0 + 10 * W);
    expect(recent.parts_total.at(-2)).toBe(before.reduce((s, m) => s + m.good + m.scrap, 0));
    expect(recent.yield.slice(0, -2).every((v) => v === null)).toBe(true);
    // A browser on a slow link gets it gzipped; the JSON inside is the same.
    const zipped = await app.inject({ url: '/api/v1/overview', headers: { 'accept-encoding': 'gzip' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(JSON.parse(gunzipSync(zipped.rawPayload).toString('utf8'))).toEqual(await read());
    await app.close();
    store.close();
  });
});
