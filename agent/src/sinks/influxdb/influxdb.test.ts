import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { expectRowsEqualStore } from '../../../../test/helpers/influxdb-assert.js';
import { requireInfluxd, startInfluxdb, type InfluxdbServer } from '../../../../test/helpers/influxdb.js';
import { waitFor } from '../../../../test/helpers/wait.js';
import type { Aggregate } from '../../core/aggregate.js';
import { VirtualClock, systemClock } from '../../core/clock.js';
import { validateConfig } from '../../config/load.js';
import type { SinkConfig } from '../../config/schema.js';
import type { Forwarder } from '../../forward.js';
import { createPipeline } from '../../wiring/pipeline-options.js';
import { Store } from '../../store/store.js';
import { createForwarder, outboxWriter } from '../../wiring/sinks.js';
import { influxdbSinkSchema, type InfluxdbSinkConfig } from './config.js';
import { parseRetryAfter } from '../http.js';
import { classify } from './index.js';
import { parseMachinePath } from '../../core/sample.js';
import { alertLine, windowLine, windowTag } from './line.js';
import type { Alert } from '../../core/alert.js';

const T0 = Date.UTC(2026, 10, 27, 8, 0, 0);

describe('alert points', () => {
  it('one point per change; two rules joining one alert in one commit are two points (the rule is a tag)', () => {
    const hit = { ruleType: 'threshold', severity: 'warning', value: 0.3, threshold: 0.15, parts: 80, firedAt: T0, resolvedAt: undefined } as const;
    const alert: Alert = {
      id: `p/l1/m1|fast|${T0}`,
      machine: 'p/l1/m1',
      line: 'p/l1',
      rule: 'fast',
      ruleType: 'fast',
      severity: 'warning',
      state: 'firing',
      value: 0.3,
      threshold: 0.15,
      parts: 50,
      startedAt: T0,
      windowStart: undefined,
      acknowledgedAt: undefined,
      acknowledgedBy: undefined,
      comment: undefined,
      resolvedAt: undefined,
      updatedAt: T0 + 70_000,
      message: '',
      rules: [
        { ...hit, rule: 'fast', ruleType: 'fast' },
        { ...hit, rule: 'threshold' },
        { ...hit, rule: 'pchart', ruleType: 'pChart' },
      ],
    };
    const at = T0 + 70_000;
    const lines = [alertLine('yw_alert', { kind: 'rule_fired', alert, at, by: 'rule', notify: false, rule: 'threshold' }, 'edge'), alertLine('yw_alert', { kind: 'rule_fired', alert, at, by: 'rule', notify: false, rule: 'pchart' }, 'edge')];
    const seriesAndTime = lines.map((l) => `${l.split(' ')[0]} ${l.split(' ').at(-1)}`);
    expect(new Set(seriesAndTime).size).toBe(2);
    expect(lines[0]).toMatch(/,event=rule_fired,.*,rule=threshold,/);
    expect(alertLine('yw_alert', { kind: 'acknowledged', alert, at, by: 'Anna', notify: true }, 'edge')).toMatch(/,event=acknowledged,.*,rule=fast,/);
    // Late breaches of one rule committed together (an entry revising two windows) are two points: each at its window's start.
    const late = [T0, T0 + 60_000].map((windowStart) => alertLine('yw_alert', { kind: 'late_breach', alert: { ...alert, windowStart }, at, by: 'rule', notify: false }, 'edge'));
    expect(late.map((l) => l.split(' ').at(-1))).toEqual([String(T0), String(T0 + 60_000)]);
    // The rules inside the alert travel with it, for the central dashboard.
    expect(JSON.parse(JSON.parse(`"${/rules="((?:[^"\\]|\\.)*)"/.exec(lines[0]!)![1]!}"`) as string)).toHaveLength(alert.rules.length);
  });
});

function aggregate(over: Partial<Aggregate> = {}): Aggregate {
  return {
    machine: 'plant 1/hall,a/line=1/press 1',
    windowStart: T0,
    windowEnd: T0 + 60_000,
    revision: 0,
    product: 'bracket',
    material: 'steel',
    partMassKg: 0.5,
    components: { parts_good: 90, parts_scrap: 10 },
    quality: { stale: 0, implausible: 1, rebaselined: 0, too_late: 0, skewed: 0, dup: 2, rejected: 0 },
    kpis: { parts_good: 90, parts_scrap: 10, parts_total: 100, yield: 0.9, scrap_rate: 0.1, scrap_kg: 5, loss_co2e_kg: 1e-7 },
    method: 'yieldwatch-kpi/1',
    emittedAt: T0 + 70_000,
    ...over,
  };
}

describe('influxdb line protocol', () => {
  it('one line per window: sorted, escaped tags; every KPI a float, data quality and revision integers; timestamp = window start in ms', () => {
    const line = windowLine('yieldwatch_window', aggregate(), 'edge 01');
    expect(line).toBe(
      'yieldwatch_window,agent=edge\\ 01,area=hall\\,a,line=line\\=1,machine=press\\ 1,material=steel,product=bracket,site=plant\\ 1,window=1m ' +
        'loss_co2e_kg=1e-7,parts_good=90.0,parts_scrap=10.0,parts_total=100.0,scrap_kg=5.0,scrap_rate=0.1,yield=0.9,' +
        'dq_stale=0i,dq_implausible=1i,dq_rebaselined=0i,dq_too_late=0i,dq_skewed=0i,dq_dup=2i,dq_rejected=0i,method="yieldwatch-kpi/1",revision=0i ' +
        `${T0}`,
    );
  });

  it('a revision has the same series and timestamp; absent tags are left out; the same aggregate gives the same bytes', () => {
    const first = windowLine('m', aggregate({ machine: 's/l/m', material: undefined, product: undefined }), 'a');
    const rev = windowLine('m', aggregate({ machine: 's/l/m', material: undefined, product: undefined, revision: 1, kpis: { parts_good: 95 } }), 'a');
    const key = (l: string) => [l.split(' ')[0], l.split(' ')[2]];
    expect(key(rev)).toEqual(key(first));
    expect(first.startsWith('m,agent=a,line=l,machine=m,site=s,window=1m ')).toBe(true);
    expect(windowLine('m', aggregate(), 'a')).toBe(windowLine('m', aggregate(), 'a'));
  });

  it('names window lengths and machine levels', () => {
    expect([500, 1000, 60_000, 900_000, 3_600_000, 86_400_000].map(windowTag)).toEqual(['500ms', '1s', '1m', '15m', '1h', '24h']);
    expect(parseMachinePath('s/a/l/m')).toEqual({ site: 's', area: 'a', line: 'l', machine: 'm' });
    expect(parseMachinePath('s/l/m')).toEqual({ site: 's', area: undefined, line: 'l', machine: 'm' });
  });
});

describe('influxdb answers', () => {
  it('classifies: 2xx accepted, 400/413 malformed, 401/403/404 blocked, 429/5xx retryable with Retry-After', () => {
    expect(classify(204, '', undefined)).toBeUndefined();
    expect(classify(400, '{"error":"partial write: unable to parse \'x\'"}', undefined)).toMatchObject({ kind: 'malformed', message: "HTTP 400: partial write: unable to parse 'x'" });
    expect(classify(413, '', undefined)?.kind).toBe('malformed');
    expect(classify(401, '{"error":"authorization failed"}', undefined)).toMatchObject({ kind: 'blocked' });
    expect(classify(404, '{"error":"database not found: \\"yw\\""}', undefined)?.message).toContain('createDatabase');
    expect(classify(503, '<html>busy</html>', 5000)).toMatchObject({ kind: 'retryable', options: { retryAfterMs: 5000 } });
    expect(classify(302, '', undefined)?.kind).toBe('retryable');
    expect(parseRetryAfter('120', 0)).toBe(120_000);
    expect(parseRetryAfter(new Date(T0 + 30_000).toUTCString(), T0)).toBe(30_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });
});

/** A stand-in InfluxDB whose answers the test scripts: what it accepted (204) is recorded line by line. */
async function fakeInflux(answer: (lines: string[], n: number) => { status: number; body?: string; headers?: Record<string, string> }) {
  const accepted: string[] = [];
  const requests: { url: string; lines: string[]; status: number; headers: Record<string, string | string[] | undefined> }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw).toString() : raw.toString();
      const lines = text.split('\n').filter((l) => l !== '');
      const a = answer(lines, requests.length + 1);
      requests.push({ url: req.url ?? '', lines, status: a.status, headers: req.headers });
      if (a.status === 204) accepted.push(...lines);
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(a.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, accepted, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

function sinkConfig(url: string, extra: Record<string, unknown> = {}): InfluxdbSinkConfig {
  return influxdbSinkSchema.parse({ type: 'influxdb', id: 'influx', url, database: 'yw', retryMin: '20ms', retryMax: '200ms', batchSize: 50, ...extra });
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function forwarderFor(cfg: SinkConfig, store: Store): Forwarder {
  const fwd = createForwarder(cfg, store.outbox, { id: cfg.id, logger: pino({ level: 'silent' }), clock: systemClock, agentId: 'test', isMachine: () => true, baseDir: '.' });
  cleanups.push(() => fwd.stop());
  return fwd;
}

describe('influxdb sink against a scripted HTTP server', () => {
  it('503 several times, then 400 for one bad line: every good line lands once, the bad line is dead-lettered with the answer', async () => {
    const BAD = 'yieldwatch_window,machine=m parts_good=';
    const fake = await fakeInflux((lines, n) => {
      if (n <= 3) return { status: 503, body: '{"error":"engine busy"}', headers: { 'retry-after': '0' } };
      if (lines.includes(BAD)) return { status: 400, body: `{"error":"unable to parse '${BAD}': missing field value"}` };
      return { status: 204 };
    });
    cleanups.push(fake.close);
    const cfg = sinkConfig(fake.url, { auth: { type: 'token', token: 's3cret' } });
    const store = new Store({ path: ':memory:' });
    cleanups.push(async () => store.close());
    const good = Array.from({ length: 120 }, (_, i) => windowLine('yieldwatch_window', aggregate({ machine: `s/l/m${i % 4}`, windowStart: T0 + i * 60_000, windowEnd: T0 + (i + 1) * 60_000 }), 'test'));
    store.transaction(() => {
      good.forEach((l, i) => {
        store.outbox.append('influx', T0, `w${i}`, l);
        if (i === 77) store.outbox.append('influx', T0, 'the bad one', BAD);
      });
    });
    const fwd = forwarderFor(cfg, store);
    fwd.start();
    await waitFor('the outbox drained', () => store.outbox.stats('influx').pendingRecords === 0, 10_000);

    expect([...fake.accepted].sort()).toEqual([...good].sort());
    expect(new Set(fake.accepted).size).toBe(fake.accepted.length);
    const dead = store.outbox.deadLetters('influx');
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ key: 'the bad one', payload: BAD });
    expect(dead[0]!.error).toContain('HTTP 400: unable to parse');
    expect(fwd.status()).toMatchObject({ delivered: 120, deadLettered: 1, errors: { retryable: 3 } });
    expect(fwd.status().errors.malformed).toBeGreaterThan(0);
    // The requests as InfluxDB's v1 API expects them.
    const r = fake.requests.at(-1)!;
    expect(r.url).toBe('/write?db=yw&precision=ms');
    expect(r.headers.authorization).toBe('Token s3cret');
    expect(r.headers['content-encoding']).toBe('gzip');
  });

  it('401 keeps everything and reports the sink down, naming the cause; it delivers once the credentials work', async () => {
    let allowed = false;
    const fake = await fakeInflux(() => (allowed ? { status: 204 } : { status: 401, body: '{"error":"authorization failed"}' }));
    cleanups.push(fake.close);
    const store = new Store({ path: ':memory:' });
    cleanups.push(async () => store.close());
    store.transaction(() => store.outbox.append('influx', T0, 'w', windowLine('m', aggregate(), 'a')));
    const fwd = forwarderFor(sinkConfig(fake.url, { auth: { type: 'password', userName: 'yw', password: 'pw' } }), store);
    fwd.start();
    await waitFor('down', () => fwd.status().health.status === 'down', 5000);
    expect(fwd.status().health.reason).toContain('authorization failed');
    expect(store.outbox.stats('influx').pendingRecords).toBe(1);
    expect(fake.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('yw:pw').toString('base64')}`);
    allowed = true;
    await waitFor('delivered', () => fake.accepted.length === 1, 5000);
  });
});

const hasInfluxd = requireInfluxd();

describe.skipIf(!hasInfluxd)('influxdb sink against a real InfluxDB', () => {
  let influx: InfluxdbServer;
  beforeAll(async () => {
    influx = await startInfluxdb();
  }, 30_000);
  afterAll(async () => {
    await influx?.stop();
  });

  it('windows land with exactly the values the store holds, and a revision replaces its point', async () => {
    const cfg = validateConfig({
      agent: { id: 'influx-test' },
      kpi: { windowSize: '60s', allowedLateness: '10s' },
      machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } },
      machines: [
        { path: 'plant1/line1/press1', partMassKg: 0.25 },
        { path: 'plant1/hall2/line2/lathe2', partMassKg: 1.5 },
      ],
      sinks: [{ type: 'influxdb', id: 'influx', url: influx.url, database: 'yw_values', createDatabase: true, retryMin: '50ms', retryMax: '500ms' }],
      api: { enabled: false },
    });
    const clock = new VirtualClock(T0);
    const store = new Store({ path: ':memory:' });
    cleanups.push(async () => store.close());
    const pipeline = createPipeline(cfg, store, clock, {}, cfg.sinks.map((s) => outboxWriter(s, cfg.agent.id)));
    const machines = cfg.machines.map((m) => m.path);
    const counts = new Map(machines.map((m) => [m, { good: 1000, scrap: 50 }]));
    // Scrap by reason from a reason field beside the scrap counter: what the reason points must add up to.
    const byReason = new Map<string, number>();
    const reasonOf = (t: number) => ((t / 10_000) % 2 === 0 ? 'burr' : 'crack');
    // Five minutes of counters every 10 s, with an uneven scrap pattern.
    for (let t = T0; t <= T0 + 300_000; t += 10_000) {
      clock.set(t);
      machines.forEach((m, i) => {
        const c = counts.get(m)!;
        c.good += 7 + ((t / 10_000 + i) % 5);
        const inc = (t / 10_000 + i) % 3 === 0 ? 2 : 0;
        c.scrap += inc;
        pipeline.ingest([
          { machine: m, signal: 'parts_good', value: c.good, ts: t, source: 'test' },
          { machine: m, signal: 'scrap_reason', value: reasonOf(t), ts: t, source: 'test' },
          { machine: m, signal: 'parts_scrap', value: c.scrap, ts: t, source: 'test' },
        ]);
        // The first reading of a counter is its baseline.
        if (t > T0 && inc > 0) byReason.set(`${m} ${reasonOf(t)}`, (byReason.get(`${m} ${reasonOf(t)}`) ?? 0) + inc);
      });
      pipeline.tick();
    }
    clock.set(T0 + 400_000);
    pipeline.tick();
    // A late reading of press1 inside its second window: that window is revised.
    const press = counts.get(machines[0]!)!;
    pipeline.ingest([
      { machine: machines[0]!, signal: 'scrap_reason', value: 'burr', ts: T0 + 305_000, source: 'test' },
      { machine: machines[0]!, signal: 'parts_scrap', value: press.scrap + 9, ts: T0 + 305_000, source: 'test' },
    ]);
    byReason.set(`${machines[0]} burr`, byReason.get(`${machines[0]} burr`)! + 9);
    clock.set(T0 + 420_000);
    pipeline.tick();
    const stored = store.queryAggregates();
    expect(stored.some((a) => a.revision > 0)).toBe(true);

    const fwd = forwarderFor(cfg.sinks[0]!, store);
    fwd.start();
    await waitFor('the outbox drained', () => store.outbox.stats('influx').pendingRecords === 0, 15_000);
    const rows = await influx.query('yw_values', 'SELECT * FROM yieldwatch_window GROUP BY *', { epoch: 'ms' });
    expectRowsEqualStore(rows, stored, 'influx-test');

    // Scrap by reason: one point per window and reason, revised with its window, adding up to the window's scrap and to what the machines counted.
    const revised = stored.find((a) => a.machine === machines[0] && a.windowStart === T0 + 300_000)!;
    expect(revised.revision).toBe(1);
    expect(revised.split?.reason?.burr?.parts_scrap).toBeGreaterThanOrEqual(9);
    const reasonRows = await influx.query('yw_values', 'SELECT * FROM yieldwatch_window_by_reason GROUP BY *', { epoch: 'ms' });
    const asStored = stored.flatMap((a) => Object.entries(a.split?.reason ?? {}).map(([reason, m]) => `${a.machine} ${a.windowStart} ${reason} ${m.parts_scrap} ${m.scrap_kg} r${a.revision}`));
    const inInflux = reasonRows.map((r) => `${r.site}/${r.area ? `${r.area}/` : ''}${r.line}/${r.machine} ${r.time} ${r.reason} ${r.parts_scrap} ${r.scrap_kg} r${r.revision}`);
    expect(inInflux.sort()).toEqual(asStored.sort());
    const summed = new Map<string, number>();
    for (const r of reasonRows) {
      const key = `${r.site}/${r.area ? `${r.area}/` : ''}${r.line}/${r.machine} ${r.reason}`;
      summed.set(key, (summed.get(key) ?? 0) + Number(r.parts_scrap));
    }
    expect(Object.fromEntries(summed)).toEqual(Object.fromEntries(byReason));
    for (const a of stored) {
      const parts = Object.values(a.split?.reason ?? {}).reduce((n, m) => n + m.parts_scrap!, 0);
      expect(parts, `${a.machine} ${a.windowStart}`).toBe(a.kpis.parts_scrap);
    }
    // By destination: the kg of each window add up to its scrap_kg (steel-less machines: destination unknown).
    const destRows = await influx.query('yw_values', 'SELECT * FROM yieldwatch_window_by_destination GROUP BY *', { epoch: 'ms' });
    const kgByWindow = new Map<string, number>();
    for (const r of destRows) {
      const key = `${r.site}/${r.area ? `${r.area}/` : ''}${r.line}/${r.machine} ${r.time}`;
      expect(r.destination).toBe('unknown');
      kgByWindow.set(key, (kgByWindow.get(key) ?? 0) + Number(r.scrap_kg));
    }
    for (const a of stored) {
      if ((a.kpis.scrap_kg ?? 0) > 0) expect(kgByWindow.get(`${a.machine} ${a.windowStart}`), `${a.machine} ${a.windowStart}`).toBeCloseTo(a.kpis.scrap_kg!, 9);
    }
  }, 60_000);
});
