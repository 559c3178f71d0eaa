/**
 * One reader, two backends: what an agent's store says and what the central dashboard reads back
 * from a real InfluxDB (written by the agent's own `influxdb` sink) are the same numbers — windows,
 * a 30-hour chart, rollups by hour, shift, day, month, line, reason and destination, the overview
 * with its sparkline, and the alerts with their acknowledgement.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OverviewJson } from '../../agent/src/api/contract.js';
import type { KpiReader } from '../../agent/src/api/reader.js';
import { CentralDashboard } from '../../agent/src/central.js';
import { validateConfig } from '../../agent/src/config/load.js';
import { systemClock, VirtualClock } from '../../agent/src/core/clock.js';
import { addPartial, emptySums, HOUR_MS, type PartialSums } from '../../agent/src/kpi/partials.js';
import { influxReader } from '../../agent/src/readers/influxdb/index.js';
import { InfluxQuery } from '../../agent/src/readers/influxdb/query.js';
import { machineList } from '../../agent/src/readers/machine-list.js';
import { storeReader } from '../../agent/src/readers/store/index.js';
import { makeReport } from '../../agent/src/reports/service.js';
import { windowLine } from '../../agent/src/sinks/influxdb/line.js';
import { Store } from '../../agent/src/store/store.js';
import { createPipeline } from '../../agent/src/wiring/pipeline-options.js';
import { createForwarder, outboxWriter } from '../../agent/src/wiring/sinks.js';
import { requireInfluxd, startInfluxdb, type InfluxdbServer } from '../helpers/influxdb.js';
import { waitFor } from '../helpers/wait.js';

const hasInfluxd = requireInfluxd();

const MIN = 60_000;
const HOUR = 3_600_000;
// Thursday 19 November 2026, 06:00 in Amsterdam, to Friday 10:20 (the current hour and shift unfinished).
const FROM = Date.parse('2026-11-19T05:00:00Z');
const NOW = Date.parse('2026-11-20T09:20:00Z');
const MACHINES = ['plant/l1/press', 'plant/hall/l2/lathe', 'plant2/l1/mill'];

/** Numbers equal up to the last bits of a float (InfluxDB and SQLite add in different orders); everything else equal. */
function expectSame(actual: unknown, expected: unknown, path = '$'): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    expect(Math.abs(actual - expected), `${path}: ${actual} vs ${expected}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(expected)));
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    expect(actual, path).toBeTypeOf('object');
    expect(actual, path).not.toBeNull();
    const a = actual as Record<string, unknown>;
    const e = expected as Record<string, unknown>;
    // A key holding undefined is no key: JSON leaves it out.
    const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined).sort();
    expect(keys(a), `${path}: keys`).toEqual(keys(e));
    for (const k of Object.keys(e)) expectSame(a[k], e[k], `${path}.${k}`);
    return;
  }
  expect(actual, path).toEqual(expected);
}

/** Each machine's sums over a read, whatever its buckets: what a report's totals are made of. */
function totalsByMachine(parts: Iterable<PartialSums>): Record<string, PartialSums> {
  const by = new Map<string, PartialSums>();
  for (const p of parts) {
    let t = by.get(p.machine);
    if (t === undefined) by.set(p.machine, (t = emptySums(p.machine, 0, 0, undefined, undefined)));
    addPartial(t, p, 1);
  }
  return Object.fromEntries([...by].sort(([a], [b]) => (a < b ? -1 : 1)));
}

function withoutSignals(o: OverviewJson): OverviewJson {
  return { ...o, items: o.items.map((m) => ({ ...m, signals: {} })) };
}

describe.skipIf(!hasInfluxd)('the central dashboard reads InfluxDB and shows what the agent shows', () => {
  let influx: InfluxdbServer;
  let dir: string;
  let store: Store;
  let local: KpiReader;
  let central: KpiReader;
  let config: ReturnType<typeof validateConfig>;
  let centralConfig: ReturnType<typeof validateConfig>;
  const clock = new VirtualClock(FROM);
  let ackedId = '';

  beforeAll(async () => {
    influx = await startInfluxdb();
    dir = mkdtempSync(join(tmpdir(), 'yw-central-'));
    const raw = {
      agent: { id: 'edge-1', dataDir: dir },
      kpi: { windowSize: '5m', allowedLateness: '10s' },
      sites: {
        plant: {
          timeZone: 'Europe/Amsterdam',
          shiftCalendar: [{ validFrom: '2026-01-01', shifts: { early: { start: '06:00', end: '14:00' }, late: { start: '14:00', end: '22:00' }, night: { start: '22:00', end: '06:00' } }, week: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'].map((d) => [d, ['early', 'late', 'night']])) }],
          scrapReasons: { burr: { label: { en: 'Burr', nl: 'Braam' } }, crack: { label: { en: 'Crack' }, destination: 'landfill' } },
        },
        plant2: { timeZone: 'UTC' },
      },
      materials: {
        steel: { pricePerKg: 1.2, scrapValuePerKg: 0.2, currency: 'EUR', co2ePerKg: { value: 1.9, source: 'test', year: 2024 }, crm: { Mn: 0.01 }, scrapDestination: 'external_recycling' },
      },
      machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } }, targets: { yield: 0.9 } },
      // The lathe weighs its material in, but not in every window: those have good kg and no material efficiency.
      machines: MACHINES.map((path, i) => ({ path, partMassKg: 0.5 + i, material: 'steel', ...(i === 0 ? { name: 'Press 1' } : {}), ...(i === 1 ? { signals: { material_in_kg: { kind: 'delta' } } } : {}) })),
      alerts: { rules: [{ id: 'scrap-threshold', type: 'threshold', scrapRate: 0.3, minParts: 5, cooldown: '5m' }] },
      sinks: [{ type: 'influxdb', id: 'influx', url: influx.url, database: 'plant', createDatabase: true, batchSize: 500, retryMin: '50ms', retryMax: '200ms' }],
      central: { influxdb: { url: influx.url, database: 'plant' } },
      api: { enabled: false },
    };
    config = validateConfig(raw);
    store = new Store({ path: join(dir, 'yieldwatch.db') });
    const pipeline = createPipeline(config, store, clock, {}, [outboxWriter(config.sinks[0]!, 'edge-1')]);
    const counts = MACHINES.map(() => ({ good: 0, scrap: 0 }));
    for (let t = FROM; t <= NOW; t += 100_000) {
      clock.set(t);
      MACHINES.forEach((machine, i) => {
        // The mill stops for two hours: its windows stop, and its hours there are empty.
        if (i === 2 && t > FROM + 10 * HOUR && t < FROM + 12 * HOUR) return;
        const c = counts[i]!;
        const minute = Math.floor(t / MIN);
        c.good += 5 + ((minute + i) % 4);
        // A scrap spike on the press in the small hours fires the threshold rule; otherwise a little scrap.
        const spike = i === 0 && t >= FROM + 20 * HOUR && t < FROM + 20.5 * HOUR;
        const scrap = spike ? 6 : (minute + i) % 5 === 0 ? 1 : 0;
        c.scrap += scrap;
        pipeline.ingest([
          { machine, signal: 'parts_good', value: c.good, ts: t, source: 't' },
          { machine, signal: 'scrap_reason', value: minute % 3 === 0 ? 'crack' : 'burr', ts: t, source: 't' },
          { machine, signal: 'parts_scrap', value: c.scrap, ts: t, source: 't' },
          ...(i === 1 && minute % 40 < 25 ? [{ machine, signal: 'material_in_kg' as const, value: 14 + (minute % 3), ts: t, source: 't' }] : []),
        ]);
      });
      pipeline.tick();
      // The operator acknowledges the spike's alert with a comment while it is open.
      if (ackedId === '' && t >= FROM + 20.3 * HOUR) {
        const open = pipeline.openAlerts('plant/l1/press');
        if (open.length > 0) ackedId = pipeline.acknowledge(open[0]!.id, 'anna', 'die changed')!.id;
      }
    }
    pipeline.checkpoint();
    expect(ackedId, 'the spike fired an alert that was acknowledged').not.toBe('');
    const fwd = createForwarder(config.sinks[0]!, store.outbox, { id: 'influx', logger: pino({ level: 'silent' }), clock: systemClock, agentId: 'edge-1', isMachine: () => true, baseDir: dir });
    fwd.start();
    await waitFor('the outbox delivered to InfluxDB', () => fwd.status().pendingRecords === 0 && fwd.status().delivered > 0, 60_000);
    await fwd.stop();
    local = storeReader(store, config, machineList(config), clock);
    // The central dashboard's own file: the sites, materials, names and targets, but not the agents' kpi keys (1-minute windows by default).
    centralConfig = validateConfig({ sites: raw.sites, materials: raw.materials, machineDefaults: { targets: raw.machineDefaults.targets }, machines: raw.machines.map(({ path, name }) => ({ path, ...(name !== undefined ? { name } : {}) })), central: raw.central });
    expect(centralConfig.kpi.windowSize).toBe(60_000);
    central = influxReader(centralConfig, centralConfig.central!, clock, new InfluxQuery(centralConfig.central!.influxdb, dir));
  }, 120_000);

  afterAll(async () => {
    store?.close();
    await influx?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('finds every machine that writes there, with its name from the config, and as many windows as the store', async () => {
    const [a, b] = await Promise.all([central.machines(), local.machines()]);
    expect(a.map((m) => m.machine)).toEqual(MACHINES);
    expect(a[0]!.name).toBe('Press 1');
    expect(a.map((m) => [m.windows, m.last_window_start])).toEqual(b.map((m) => [m.windows, m.last_window_start]));
    expect(a[0]!.windows).toBeGreaterThan(300);
  });

  it('a ratio over hours sums only the windows that have it: material efficiency leaves out windows without material in', async () => {
    const q = { period: 'hour', by: 'machine', from: FROM, to: FROM + 6 * HOUR, machine: 'plant/hall/l2/lathe' } as const;
    const [a, b] = await Promise.all([central.rollup(q), local.rollup(q)]);
    const windows = await local.windows({ machine: q.machine, from: q.from, to: q.to, limit: 1000 });
    // The data has both kinds of window, so the test can tell the two sums apart.
    expect(windows.some((w) => w.material_efficiency === undefined && (w.good_kg as number) > 0)).toBe(true);
    expect(windows.some((w) => w.material_efficiency !== undefined)).toBe(true);
    expectSame(a, b);
  });

  it('bad input reads nothing and never counts as InfluxDB down: a time beyond its range, a path with a newline, limit 0', async () => {
    expect(await central.windows({ machine: 'plant/l1/press', from: FROM, to: 1e23, limit: 2 })).toHaveLength(2);
    expect(await central.windows({ machine: 'plant/l1/pr\ness', from: FROM, to: NOW, limit: 10 })).toEqual([]);
    expect(await central.windows({ machine: 'plant/l1/press', from: FROM, to: NOW, limit: 0 })).toEqual([]);
  });

  it('lists the same windows with the same KPIs, scrap by reason and destination, data quality and method', async () => {
    const q = { machine: 'plant/hall/l2/lathe', from: FROM + 3 * HOUR, to: FROM + 5 * HOUR, limit: 1000 };
    const [a, b] = await Promise.all([central.windows(q), local.windows(q)]);
    expect(b).toHaveLength(24);
    expectSame(a, b);
    expect(b[0]!.scrap_by_reason).toBeDefined();
  });

  it('draws the same chart of 28 hours: buckets summed, ratios derived, the spread of the windows', async () => {
    const q = { machine: 'plant/l1/press', from: FROM, to: NOW, points: 100 };
    const [a, b] = await Promise.all([central.series(q), local.series(q)]);
    expectSame(a, b);
    expect(b.t.length).toBeGreaterThan(50);
  });

  it.each([
    ['hour', 'machine', FROM + 2 * HOUR, FROM + 8 * HOUR],
    ['shift', 'machine', Date.parse('2026-11-19T05:00:00Z'), Date.parse('2026-11-20T05:00:00Z')],
    ['day', 'line', Date.parse('2026-11-18T23:00:00Z'), Date.parse('2026-11-20T23:00:00Z')],
    ['month', 'reason', Date.parse('2026-10-31T23:00:00Z'), Date.parse('2026-11-30T23:00:00Z')],
    ['month', 'destination', Date.parse('2026-10-31T23:00:00Z'), Date.parse('2026-11-30T23:00:00Z')],
    ['month', 'site', Date.parse('2026-10-31T23:00:00Z'), Date.parse('2026-11-30T23:00:00Z')],
    // Not on whole hours: both read the windows.
    ['hour', 'machine', FROM + 2 * HOUR + 10 * MIN, FROM + 4 * HOUR + 10 * MIN],
  ] as const)('rolls up by %s and %s the same: sums, ratios from the sums, coverage, quality', async (period, by, from, to) => {
    const q = { period, by, from, to };
    const [a, b] = await Promise.all([central.rollup(q), local.rollup(q)]);
    expect(b.length).toBeGreaterThan(0);
    expectSame(a, b);
  });

  it('shows the same overview: newest window, stale or not, shift and day so far, the last 12 hours, open alerts', async () => {
    const [a, b] = await Promise.all([central.overview(), local.overview()]);
    // The central view does not know each signal's kind (the agents' files do); everything else is the same.
    expect(a.items.map((m) => m.signals)).toEqual(a.items.map(() => ({})));
    expectSame(withoutSignals(a), withoutSignals(b));
    const press = b.items[0]!;
    expect(press.shift?.period).toBe('2026-11-20 early');
    expect(press.recent.t).toHaveLength(12);
    expect(press.recent.yield.filter((v) => v !== null).length).toBe(12);
    // The sparkline's hours are the hours' own sums: the 09:00 hour so far holds the windows 09:00 to 09:20.
    const hour = (await local.rollup({ period: 'hour', by: 'machine', from: Date.parse('2026-11-20T09:00:00Z'), to: Date.parse('2026-11-20T10:00:00Z'), machine: 'plant/l1/press' }))[0]!;
    expect(press.recent.yield.at(-1)).toBe(hour.yield);
  });

  it('rebuilds the alerts from their points: the acknowledged spike, who acknowledged it and why, its trail', async () => {
    const [a, b] = await Promise.all([central.alerts({}), local.alerts({})]);
    expect(b.length).toBeGreaterThan(0);
    const pick = (x: typeof a) => x.map(({ id, machine, line, rule, rule_type, severity, state, started_at, acknowledged_by, comment, message, rules }) => ({ id, machine, line, rule, rule_type, severity, state, started_at, acknowledged_by, comment, message, rules }));
    expect(pick(a)).toEqual(pick(b));
    const detail = await central.alert(ackedId);
    expect(detail?.acknowledged_by).toBe('anna');
    expect(detail?.comment).toBe('die changed');
    expect(detail?.events.map((e) => e.event)).toEqual((await local.alert(ackedId))!.events.map((e) => e.event));
    expect((await central.alerts({ state: 'open' })).map((x) => x.id)).toEqual((await local.alerts({ state: 'open' })).map((x) => x.id));
  });

  it('serves it all as `yieldwatch dashboard` does: the overview over HTTP, read-only, with InfluxDB on the status page', async () => {
    const dash = new CentralDashboard({ config: { ...centralConfig, api: { ...centralConfig.api, port: 0 } }, baseDir: dir, dataDir: dir, logger: pino({ level: 'silent' }), clock });
    try {
      const overview = await dash.app.inject('/api/v1/overview');
      expect(overview.statusCode).toBe(200);
      expectSame(withoutSignals(overview.json() as OverviewJson), withoutSignals(await local.overview()));
      expect((await dash.app.inject('/api/v1/session')).json()).toMatchObject({ central: true });
      const status = (await dash.app.inject('/api/v1/status')).json() as { store: { kind: string; url: string }; parts: Record<string, { status: string }> };
      expect(status.store).toMatchObject({ kind: 'influxdb', url: influx.url });
      expect(status.parts.influxdb?.status).toBe('ok');
      const ack = await dash.app.inject({ method: 'POST', url: `/api/v1/alerts/${encodeURIComponent(ackedId)}/ack`, payload: { by: 'x' } });
      expect(ack.statusCode).toBe(404);
      expect(ack.json().error).toMatch(/acknowledge alerts on the agent/);
      expect((await dash.app.inject('/api/v1/stream')).statusCode).toBe(404);
    } finally {
      await dash.stop();
    }
  });
  it('sums whole site days in InfluxDB for a report\'s comparisons (coarse), with the hours\' totals, across the clock change; hours where the sites\' zones differ', async () => {
    const readerOf = (cfg: typeof config, database: string) => influxReader(cfg, cfg.central!, clock, new InfluxQuery({ ...cfg.central!.influxdb, database }, dir));
    const spans = (parts: readonly PartialSums[]) => [...new Set(parts.map((p) => (p.end - p.start) / HOUR_MS))].sort((a, b) => a - b);
    const days = { from: Date.parse('2026-11-18T23:00:00Z'), to: Date.parse('2026-11-20T23:00:00Z') };

    // plant is in Amsterdam, plant2 in UTC: tz() takes one zone, so the hours are read, as the store reads them.
    const mixed = [...(await central.sums({ ...days, coarse: true }))];
    expect(spans(mixed)).toEqual([1]);
    expectSame(totalsByMachine(mixed), totalsByMachine(await local.sums({ ...days, coarse: true })));

    // With both sites in Amsterdam InfluxDB sums the days, and the totals are the store's.
    const oneZone = { ...centralConfig, sites: { ...centralConfig.sites, plant2: { ...centralConfig.sites.plant2!, timeZone: 'Europe/Amsterdam' } } };
    const byDay = [...(await readerOf(oneZone, 'plant').sums({ ...days, coarse: true }))];
    expect(spans(byDay)).toEqual([24]);
    expectSame(totalsByMachine(byDay), totalsByMachine(await local.sums({ ...days, coarse: true })));

    // The same windows, as the sink writes them, moved to the weekend the clocks go back (25 October 2026: a 25-hour day).
    const shift = Date.parse('2026-10-24T20:00:00Z') - FROM;
    const measurement = centralConfig.central!.influxdb.measurement;
    await influx.query('', 'CREATE DATABASE dst');
    const lines = store.queryAggregates({ from: FROM, to: NOW + HOUR_MS, limit: 1_000_000 }).map((a) => windowLine(measurement, { ...a, windowStart: a.windowStart + shift, windowEnd: a.windowEnd + shift }, 'edge-1'));
    await influx.write('dst', lines, { precision: 'ms' });
    const dst = readerOf(oneZone, 'dst');
    const weekend = { from: Date.parse('2026-10-23T22:00:00Z'), to: Date.parse('2026-10-26T23:00:00Z') };
    const [coarse, hours] = await Promise.all([dst.sums({ ...weekend, coarse: true }), dst.sums(weekend)]);
    const dayList = [...coarse];
    expect(spans(dayList)).toEqual([24, 25]);
    expect([...new Set(dayList.map((p) => new Date(p.start).toISOString()))].sort()).toEqual(['2026-10-23T22:00:00.000Z', '2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z']);
    // The press ran all of the 25-hour day: 300 windows of 5 minutes.
    expect(dayList.filter((p) => p.machine === 'plant/l1/press' && p.start === Date.parse('2026-10-24T22:00:00Z')).reduce((n, p) => n + p.windows, 0)).toBe(300);
    expectSame(totalsByMachine(dayList), totalsByMachine(hours));
    expect(totalsByMachine(hours)['plant/l1/press']!.windows).toBe(totalsByMachine(await local.sums({ from: FROM, to: NOW + HOUR_MS }))['plant/l1/press']!.windows);
  });

  it('makes the same report: totals, breakdowns, ESRS tables, the opportunity and the gaps, from InfluxDB as from the store', async () => {
    const ask = (reader: KpiReader, cfg: typeof config) => makeReport({ cfg, clock, reader }, { period: '2026-11-19', scope: 'site:plant' });
    const [a, b] = await Promise.all([ask(central, centralConfig), ask(local, config)]);
    expect(b.totals.windows).toBeGreaterThan(0);
    expect(a.source).toBe('influxdb');
    expectSame(a.period, b.period);
    expectSame(a.totals, b.totals);
    expectSame(a.series, b.series);
    expectSame(a.by_machine, b.by_machine);
    expectSame(a.by_reason, b.by_reason);
    expectSame(a.by_destination, b.by_destination);
    expectSame(a.esrs.e5_5.diverted, b.esrs.e5_5.diverted);
    expectSame(a.esrs.e5_5.directed, b.esrs.e5_5.directed);
    expectSame(a.opportunity, b.opportunity);
    expectSame(a.previous, b.previous);
    const gaps = (r: typeof a) => r.data_quality.machines.map(({ machine, coverage, gaps, missing_ms }) => ({ machine, coverage, gaps, missing_ms }));
    expectSame(gaps(a), gaps(b));
    expectSame(a.factors, b.factors);
    // The central view keeps no manual entries, and says so.
    expect(a.data_quality.entries_available).toBe(false);
  });
});
