import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.js';
import type { EntryJson } from '../core/entries.js';
import { validateConfig } from '../config/load.js';
import { createMetrics } from '../observe/metrics.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { decodeSums, HOUR_MS } from '../kpi/partials.js';
import { Store } from '../store/store.js';
import { entryService } from '../wiring/entries.js';
import { createPipeline } from '../wiring/pipeline-options.js';
import { outboxWriter } from '../wiring/sinks.js';
import { buildApp } from './app.js';
import { storeReader } from '../readers/store/index.js';

const W = 60_000;
const T0 = Date.UTC(2026, 11, 3, 9, 0, 0);
const M = 'demo/l1/press1';
const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789ab';

const raw = {
  kpi: { windowSize: '60s', allowedLateness: '10s', correctionHorizon: '24h' },
  sites: { demo: { scrapReasons: { burr: { label: { en: 'Burr' } }, contaminated: { label: { en: 'Contaminated' }, destination: 'incineration' } } } },
  materials: { steel: { pricePerKg: 1, scrapDestination: 'external_recycling' } },
  machines: [{ path: M, partMassKg: 0.5, material: 'steel', signals: { parts_good: { kind: 'delta' }, parts_scrap: { kind: 'delta' } } }],
  sinks: [{ type: 'mqtt', id: 'uns', url: 'mqtt://127.0.0.1:1883' }],
  sources: [],
};
const config = validateConfig(raw);

/** Manual scrap entries through the HTTP API, on a real store and pipeline with the agent's time in hand. */
describe('manual scrap entries API', () => {
  let clock: VirtualClock;
  let store: Store;
  let pipeline: Pipeline;
  let app: FastifyInstance;

  const ingest = (good: number, scrap: number, ts: number) => pipeline.ingest([{ machine: M, signal: 'parts_good', value: good, ts, source: 't' }, { machine: M, signal: 'parts_scrap', value: scrap, ts, source: 't' }]);
  const request = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, body?: unknown, token: string | null = OPERATOR) =>
    app.inject({ method, url, ...(body !== undefined ? { payload: body as Record<string, unknown> } : {}), headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  const window = (start: number) => store.getAggregate(M, start);
  const outboxKeys = () => store.outbox.next('uns', 1000).map((r) => r.key);

  beforeEach(() => {
    clock = new VirtualClock(T0);
    store = new Store({ path: ':memory:' });
    pipeline = createPipeline(config, store, clock, {}, [outboxWriter(config.sinks[0]!, 'test')]);
    app = buildApp({
      reader: storeReader(store, config, [], clock),
      registry: createMetrics({ pipeline, store, sources: [] }),
      health: () => ({}),
      entries: entryService(config, store, pipeline, clock, (() => {
        let n = 0;
        return () => `e${++n}`;
      })()),
      tokens: [
        { name: 'Anna (shift lead)', token: OPERATOR, role: 'operator' },
        { name: 'wallboard', token: VIEWER, role: 'viewer' },
      ],
    });
    // Two windows of machine counts, both emitted: 0..1 min and 1..2 min.
    ingest(20, 1, T0 + 5000);
    ingest(30, 2, T0 + W + 5000);
    clock.set(T0 + 2 * W + 10_000);
    pipeline.tick();
  });
  afterEach(async () => {
    await app.close();
    store.close();
  });

  it('only an operator records, edits or deletes; a viewer may read; without a token nothing', async () => {
    const body = { machine: M, time: T0 + 1000, parts: 5 };
    expect((await request('POST', '/api/v1/entries', body, null)).statusCode).toBe(401);
    expect((await request('POST', '/api/v1/entries', body, VIEWER)).statusCode).toBe(403);
    const created = await request('POST', '/api/v1/entries', body);
    expect(created.statusCode).toBe(201);
    const id = created.json<EntryJson>().id;
    expect((await request('PATCH', `/api/v1/entries/${id}`, { parts: 6, why: 'recount' }, VIEWER)).statusCode).toBe(403);
    expect((await request('DELETE', `/api/v1/entries/${id}`, { why: 'wrong machine' }, VIEWER)).statusCode).toBe(403);
    expect((await request('GET', `/api/v1/entries?machine=${M}`, undefined, VIEWER)).json<{ items: EntryJson[] }>().items).toHaveLength(1);
    // The viewer's attempts changed nothing.
    expect(window(T0)!.kpis.manual_scrap_parts).toBe(5);
    expect((await request('GET', `/api/v1/entries/${id}`, undefined, VIEWER)).json<EntryJson>().history).toHaveLength(1);
  });

  it.each([
    ['an unknown machine', { machine: 'demo/l1/nope', parts: 1 }, 'machine'],
    ['an unknown reason', { machine: M, parts: 1, reason: 'dent' }, 'reason'],
    ['an unknown destination', { machine: M, parts: 1, destination: 'river' }, 'destination'],
    ['negative parts', { machine: M, parts: -2 }, 'parts'],
    ['an absurd quantity', { machine: M, kg: 5_000_000 }, 'kg'],
    ['no quantity', { machine: M, reason: 'burr' }, 'parts'],
    ['a time outside the correction horizon', { machine: M, parts: 1, time: T0 - 25 * 3_600_000 }, 'time'],
    ['a time that is no time', { machine: M, parts: 1, time: 'yesterday-ish' }, 'time'],
    ['parts that are not a number', { machine: M, parts: 'ten' }, 'parts'],
    ['an unknown field', { machine: M, parts: 1, colour: 'red' }, 'colour'],
    ['parts given as true', { machine: M, parts: true }, 'parts'],
    ['parts given as a string', { machine: M, parts: '5' }, 'parts'],
    ['a time without its offset', { machine: M, parts: 1, time: '2026-12-03T09:01:30' }, 'time'],
    ['a time as a date only', { machine: M, parts: 1, time: '2026-12-03' }, 'time'],
  ])('%s: 400 naming the field, nothing stored', async (_what, body, field) => {
    const res = await request('POST', '/api/v1/entries', body);
    expect(res.statusCode).toBe(400);
    expect(res.json<{ message: string }>().message).toContain(field);
    expect(store.entries.query()).toEqual([]);
    expect(window(T0)!.revision).toBe(0);
  });

  it('an entry in an emitted window revises it at once: new revision, manual components and split, its hour sums and an outbox record', async () => {
    const before = outboxKeys().length;
    const res = await request('POST', '/api/v1/entries', { machine: M, time: new Date(T0 + 30_000).toISOString(), parts: 8, reason: 'contaminated', comment: 'bin found at the end of the run' });
    expect(res.statusCode).toBe(201);
    expect(res.json<EntryJson>()).toMatchObject({ machine: M, time: T0 + 30_000, parts: 8, reason: 'contaminated', by: 'Anna (shift lead)', at: clock.now(), event: 'created', version: 1, deleted: false });
    const a = window(T0)!;
    expect(a.revision).toBe(1);
    expect(a.kpis).toMatchObject({ parts_good: 20, parts_scrap: 9, parts_total: 29, manual_scrap_parts: 8, manual_scrap_kg: 4, scrap_kg: 4.5 });
    expect(a.split!.reason!.contaminated).toEqual({ parts_scrap: 8, scrap_kg: 4, manual_scrap_parts: 8, manual_scrap_kg: 4 });
    expect(a.split!.destination).toEqual({ external_recycling: { scrap_kg: 0.5 }, incineration: { scrap_kg: 4, manual_scrap_kg: 4 } });
    // The other window is untouched.
    expect(window(T0 + W)!.revision).toBe(0);
    const hour = decodeSums({ machine: M, start: T0, end: T0 + HOUR_MS, material: 'steel', product: undefined, data: store.getRollupSums('hour', M, T0, 'steel', undefined)! });
    expect(hour.sums).toMatchObject({ parts_scrap: 11, parts_total: 61, manual_scrap_parts: 8 });
    expect(hour.windows).toBe(2);
    expect(outboxKeys().slice(before)).toEqual([`window ${M} ${T0} r1`]);
  });

  it('an edit that moves the entry to another window revises both; a delete takes it out; the audit trail keeps every version', async () => {
    const id = (await request('POST', '/api/v1/entries', { machine: M, time: T0 + 1000, parts: 4, reason: 'burr' })).json<EntryJson>().id;
    clock.advance(60_000);
    const edited = await request('PATCH', `/api/v1/entries/${id}`, { time: T0 + W + 1000, parts: 6, why: 'it was the second batch' });
    expect(edited.statusCode).toBe(200);
    expect(window(T0)!).toMatchObject({ revision: 2, kpis: { manual_scrap_parts: 0, parts_scrap: 1 } });
    expect(window(T0)!.split!.reason!.burr).toEqual({ parts_scrap: 0, scrap_kg: 0, manual_scrap_parts: 0, manual_scrap_kg: 0 });
    expect(window(T0 + W)!).toMatchObject({ revision: 1, kpis: { manual_scrap_parts: 6, parts_scrap: 8, parts_total: 38 } });
    clock.advance(60_000);
    const deleted = await request('DELETE', `/api/v1/entries/${id}`, { why: 'the parts were reworked after all' });
    expect(deleted.statusCode).toBe(200);
    expect(window(T0 + W)!).toMatchObject({ revision: 2, kpis: { manual_scrap_parts: 0, parts_scrap: 2, parts_total: 32 } });
    const e = (await request('GET', `/api/v1/entries/${id}`, undefined, VIEWER)).json<EntryJson>();
    expect(e).toMatchObject({ deleted: true, version: 3, event: 'deleted' });
    expect(e.history.map((v) => [v.version, v.event, v.by, v.at, v.why, v.time, v.parts])).toEqual([
      [1, 'created', 'Anna (shift lead)', T0 + 2 * W + 10_000, undefined, T0 + 1000, 4],
      [2, 'edited', 'Anna (shift lead)', T0 + 3 * W + 10_000, 'it was the second batch', T0 + W + 1000, 6],
      [3, 'deleted', 'Anna (shift lead)', T0 + 4 * W + 10_000, 'the parts were reworked after all', T0 + W + 1000, 6],
    ]);
    // A deleted entry stays deleted; an unknown one is not found.
    expect((await request('PATCH', `/api/v1/entries/${id}`, { parts: 1, why: 'undo' })).statusCode).toBe(409);
    expect((await request('DELETE', `/api/v1/entries/${id}`, { why: 'again' })).statusCode).toBe(409);
    expect((await request('DELETE', '/api/v1/entries/nope', { why: 'x' })).statusCode).toBe(404);
    expect((await request('PATCH', `/api/v1/entries/${id}`, { parts: 1 })).statusCode).toBe(400);
    // The list shows it, with its history, by the machine and its current time.
    const listed = (await request('GET', `/api/v1/entries?machine=${M}&from=${T0 + W}&to=${T0 + 2 * W}`, undefined, VIEWER)).json<{ items: EntryJson[] }>().items;
    expect(listed.map((x) => [x.id, x.history.length])).toEqual([[id, 3]]);
    expect((await request('GET', `/api/v1/entries?from=${T0}&to=${T0 + W}`, undefined, VIEWER)).json<{ items: EntryJson[] }>().items).toEqual([]);
  });

  it('an edit with an invalid field is refused and leaves the entry and its window as they were', async () => {
    const id = (await request('POST', '/api/v1/entries', { machine: M, time: T0 + 1000, parts: 4 })).json<EntryJson>().id;
    const res = await request('PATCH', `/api/v1/entries/${id}`, { reason: 'dent', why: 'typo' });
    expect(res.statusCode).toBe(400);
    expect(res.json<{ field: string }>().field).toBe('reason');
    expect(store.entries.get(id)!.history).toHaveLength(1);
    expect(window(T0)!.revision).toBe(1);
  });

  it('an entry in the window the engine still holds open is taken by its first emission', async () => {
    ingest(10, 0, T0 + 2 * W + 1000);
    expect((await request('POST', '/api/v1/entries', { machine: M, time: T0 + 2 * W + 2000, kg: 1.25 })).statusCode).toBe(201);
    expect(window(T0 + 2 * W)).toBeUndefined();
    clock.set(T0 + 3 * W + 10_000);
    pipeline.tick();
    expect(window(T0 + 2 * W)!).toMatchObject({ revision: 0, kpis: { parts_good: 10, parts_scrap: 0, parts_total: 10, manual_scrap_kg: 1.25, scrap_kg: 1.25 } });
    expect(window(T0 + 2 * W)!.kpis.manual_scrap_parts).toBeUndefined();
  });

  it('an entry in the current window before the machine sent anything in it: the window is not emitted early, its first emission holds both', async () => {
    expect((await request('POST', '/api/v1/entries', { machine: M, parts: 3 })).statusCode).toBe(201);
    expect(window(T0 + 2 * W)).toBeUndefined();
    ingest(7, 1, T0 + 2 * W + 30_000);
    clock.set(T0 + 3 * W + 9_999);
    pipeline.tick();
    expect(window(T0 + 2 * W)).toBeUndefined();
    clock.set(T0 + 3 * W + 10_000);
    pipeline.tick();
    expect(window(T0 + 2 * W)!).toMatchObject({ revision: 0, kpis: { parts_good: 7, parts_scrap: 4, parts_total: 11, manual_scrap_parts: 3 } });
  });

  it('an entry in a past window the machine sent nothing for makes that window, with only the manual scrap', async () => {
    const t = T0 - 3 * 3_600_000;
    expect((await request('POST', '/api/v1/entries', { machine: M, time: t, parts: 12, reason: 'burr' })).statusCode).toBe(201);
    expect(window(t)!).toMatchObject({ revision: 0, kpis: { parts_total: 12, parts_good: 0, parts_scrap: 12, manual_scrap_parts: 12, yield: 0 } });
  });

  it('an entry older than the correction horizon can no longer be edited', async () => {
    const id = (await request('POST', '/api/v1/entries', { machine: M, time: T0 + 1000, parts: 4 })).json<EntryJson>().id;
    clock.set(T0 + 1000 + 24 * 3_600_000 + 1);
    const res = await request('PATCH', `/api/v1/entries/${id}`, { parts: 5, why: 'late recount' });
    expect(res.statusCode).toBe(409);
    expect(res.json<{ error: string }>().error).toContain('kpi.correctionHorizon');
  });
});

describe('manual scrap entries without API tokens', () => {
  it('the body says who records; without it, 400', async () => {
    const clock = new VirtualClock(T0);
    const store = new Store({ path: ':memory:' });
    const pipeline = createPipeline(config, store, clock);
    const app = buildApp({ reader: storeReader(store, config, [], clock), registry: createMetrics({ pipeline, store, sources: [] }), health: () => ({}), entries: entryService(config, store, pipeline, clock) });
    const missing = await app.inject({ method: 'POST', url: '/api/v1/entries', payload: { machine: M, parts: 2 } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json<{ message: string }>().message).toContain('body/by');
    const ok = await app.inject({ method: 'POST', url: '/api/v1/entries', payload: { machine: M, parts: 2, by: 'Piet' } });
    expect(ok.statusCode).toBe(201);
    expect(ok.json<EntryJson>()).toMatchObject({ by: 'Piet', time: T0 });
    await app.close();
    store.close();
  });
});

describe('manual scrap entries and the alert rules', () => {
  it('an entry\'s windows are judged like late data: a breach is recorded, no alert is raised live', async () => {
    const cfg = validateConfig({ ...raw, alerts: { rules: [{ id: 'threshold', type: 'threshold', scrapRate: 0.15, minParts: 5, severity: 'critical' }] } });
    const clock = new VirtualClock(T0 + 2 * W + 10_000);
    const store = new Store({ path: ':memory:' });
    const pipeline = createPipeline(cfg, store, clock);
    const entries = entryService(cfg, store, pipeline, clock);
    pipeline.ingest([{ machine: M, signal: 'parts_good', value: 50, ts: T0 + 5000, source: 't' }, { machine: M, signal: 'parts_scrap', value: 0, ts: T0 + 5000, source: 't' }]);
    pipeline.tick();
    expect('entry' in entries.create({ machine: M, ts: T0 + 1000, parts: 40, kg: undefined, reason: 'burr', destination: undefined, comment: undefined }, 'Anna')).toBe(true);
    expect('entry' in entries.create({ machine: M, ts: T0 - 3_600_000, parts: 40, kg: undefined, reason: 'burr', destination: undefined, comment: undefined }, 'Anna')).toBe(true);
    expect(store.getAggregate(M, T0)!.kpis.scrap_rate).toBeCloseTo(40 / 90, 12);
    expect(store.alerts.query({ state: 'open' })).toEqual([]);
    expect(pipeline.openAlerts(M)).toEqual([]);
    expect(store.alerts.events({ machine: M }).map((e) => [e.kind, e.alert.windowStart])).toEqual([
      ['late_breach', T0],
      ['late_breach', T0 - 3_600_000],
    ]);
    store.close();
  });
});

describe('manual scrap entries across a change of kpi.windowSize', () => {
  it('an entry belongs to the stored window that holds its time, whatever size the windows have now: none counted twice', () => {
    const store = new Store({ path: ':memory:' });
    const clock = new VirtualClock(T0);
    const ingestInto = (p: Pipeline, ts: number) => p.ingest([{ machine: M, signal: 'parts_good', value: 10, ts, source: 't' }, { machine: M, signal: 'parts_scrap', value: 0, ts, source: 't' }]);
    const before = createPipeline(config, store, clock);
    ingestInto(before, T0 + 1000);
    ingestInto(before, T0 + W + 1000);
    clock.set(T0 + 2 * W + 10_000);
    before.tick();
    const old = entryService(config, store, before, clock);
    old.create({ machine: M, ts: T0 + 30_000, parts: 6, kg: undefined, reason: undefined, destination: undefined, comment: undefined }, 'Anna');
    old.create({ machine: M, ts: T0 + W + 30_000, parts: 3, kg: undefined, reason: undefined, destination: undefined, comment: undefined }, 'Anna');
    // The agent restarts with 3-minute windows.
    const wider = validateConfig({ ...raw, kpi: { ...raw.kpi, windowSize: '180s' } });
    const after = createPipeline(wider, store, clock);
    const now = entryService(wider, store, after, clock);
    now.create({ machine: M, ts: T0 + 500, parts: 1, kg: undefined, reason: undefined, destination: undefined, comment: undefined }, 'Anna');
    expect(store.queryAggregates({ machine: M }).map((a) => [a.windowStart, a.windowEnd - a.windowStart, a.kpis.manual_scrap_parts])).toEqual([
      [T0, W, 7],
      [T0 + W, W, 3],
    ]);
    store.close();
  });
});
