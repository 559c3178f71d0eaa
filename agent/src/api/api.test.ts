import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { validateConfig } from '../config/load.js';
import type { Health } from '../core/health.js';
import { createMetrics } from '../observe/metrics.js';
import { replay } from '../replay.js';
import { Store } from '../store/store.js';
import { createPipeline } from '../wiring/pipeline-options.js';
import { VirtualClock, systemClock } from '../core/clock.js';
import { pino } from 'pino';
import { createForwarder } from '../wiring/sinks.js';
import { freePort } from '../../../test/helpers/free-port.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { buildApp } from './app.js';
import { loadScenario, scenarioConfig, scenarioMessages, expectedWindows, diffWindows } from '../../../test/helpers/scenario.js';
import { storeReader } from '../readers/store/index.js';

describe('HTTP API', () => {
  const s = loadScenario('basic');
  const cfg = validateConfig(scenarioConfig(s));
  const store = new Store({ path: ':memory:' });
  let app: FastifyInstance;
  let sourceHealth: Health = { status: 'ok' };

  beforeAll(async () => {
    replay(cfg, scenarioMessages(s), store);
    const pipeline = createPipeline(cfg, store, new VirtualClock(0));
    pipeline.reject('invalid_json');
    app = buildApp({
      reader: storeReader(store, cfg, cfg.machines.map((m) => ({ machine: m.path, site: 'plant1', line: 'l1', name: 'x', signals: {}, not_measured: [] })), new VirtualClock(0)),
      registry: createMetrics({ pipeline, store, sources: [] }),
      health: () => ({ store: { status: 'ok' }, 'source:scenario': sourceHealth }),
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    store.close();
  });

  it('answers /livez', async () => {
    const r = await app.inject('/livez');
    expect(r.statusCode).toBe(200);
    expect(r.json()).toEqual({ status: 'ok' });
  });

  it('/readyz is 503 naming the part that is down, 200 when all are up', async () => {
    sourceHealth = { status: 'down', reason: 'broker unreachable' };
    const down = await app.inject('/readyz');
    expect(down.statusCode).toBe(503);
    expect(down.json().parts['source:scenario']).toEqual({ status: 'down', reason: 'broker unreachable' });
    sourceHealth = { status: 'ok' };
    expect((await app.inject('/readyz')).statusCode).toBe(200);
  });

  it('/api/v1/kpis returns every stored window with the replay field names and values', async () => {
    const r = await app.inject('/api/v1/kpis');
    expect(r.statusCode).toBe(200);
    const items = r.json().items as Record<string, unknown>[];
    expect(items.length).toBe(s.expected.aggregates.length);
    expect(diffWindows(items, expectedWindows(s))).toEqual([]);
  });

  it('/api/v1/kpis filters by machine and time range (ISO or epoch ms)', async () => {
    const epoch = s.config.epoch_ms;
    const from = new Date(epoch + 120_000).toISOString();
    const r = await app.inject(`/api/v1/kpis?machine=plant1/l1/m01&from=${encodeURIComponent(from)}&to=${epoch + 300_000}`);
    const items = r.json().items as { machine: string; window_start: number }[];
    expect(items.map((i) => i.window_start)).toEqual([epoch + 120_000, epoch + 180_000, epoch + 240_000]);
    expect(new Set(items.map((i) => i.machine))).toEqual(new Set(['plant1/l1/m01']));
  });

  it('rejects a bad time with 400 and says what is expected', async () => {
    const r = await app.inject('/api/v1/kpis?from=yesterday');
    expect(r.statusCode).toBe(400);
    expect(r.json().message).toMatch(/"from" must be epoch milliseconds or an ISO 8601/);
    expect((await app.inject('/api/v1/kpis?color=red')).statusCode).toBe(400);
  });

  it('/api/v1/machines lists configured machines with their stored window count', async () => {
    const items = (await app.inject('/api/v1/machines')).json().items as { machine: string; windows: number }[];
    expect(items.map((i) => i.machine).sort()).toEqual(Object.keys(s.config.machines).sort());
    expect(items.every((i) => i.windows === 10)).toBe(true);
  });

  it('/metrics exposes Prometheus text with rejections by reason', async () => {
    const r = await app.inject('/metrics');
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/text\/plain/);
    expect(r.body).toMatch(/yieldwatch_rejected_total\{reason="invalid_json"\} 1/);
    expect(r.body).toMatch(/yieldwatch_store_size_bytes 0/);
  });
});

describe('HTTP API: sink status', () => {
  it('/api/v1/status and /metrics show a failing sink: backlog, oldest age, errors by kind, last error; /readyz stays ready while it only retries', async () => {
    const port = await freePort();
    const cfg = validateConfig({
      machines: [{ path: 'p/l/m', partMassKg: 1 }],
      sinks: [{ type: 'influxdb', id: 'influx', url: `http://127.0.0.1:${port}`, database: 'yw', retryMin: '20ms', retryMax: '100ms' }],
    });
    const store = new Store({ path: ':memory:' });
    const clock = new VirtualClock(0);
    const pipeline = createPipeline(cfg, store, clock);
    const fwd = createForwarder(cfg.sinks[0]!, store.outbox, { id: 'influx', logger: pino({ level: 'silent' }), clock: systemClock, agentId: 'a', isMachine: () => true, baseDir: '.' });
    const createdAt = Date.now() - 90_000;
    store.transaction(() => {
      for (let i = 0; i < 3; i++) store.outbox.append('influx', createdAt, `w${i}`, `m f=${i} ${i}`);
    });
    fwd.start();
    const app = buildApp({
      reader: storeReader(store, cfg, [], clock),
      registry: createMetrics({ pipeline, store, sources: [], sinks: () => [fwd.status()] }),
      health: () => ({ 'sink:influx': fwd.status().health }),
      sinks: () => [fwd.status()],
    });
    try {
      await waitFor('a failed write', () => fwd.status().errors.retryable >= 2, 5000);
      const status = (await app.inject('/api/v1/status')).json() as { sinks: Record<string, unknown>[]; parts: Record<string, Health> };
      expect(status.sinks).toHaveLength(1);
      const s = status.sinks[0]!;
      expect(s).toMatchObject({ sink: 'influx', type: 'influxdb', status: 'degraded', backlog_records: 3, backlog_bytes: 21, delivered_records: 0, dropped_records: 0, dead_letters: 0, lost_records: 0, last_success_at: null });
      expect(s.oldest_record_age_s as number).toBeGreaterThanOrEqual(90);
      expect((s.errors as Record<string, number>).retryable).toBeGreaterThanOrEqual(2);
      expect(String(s.last_error)).toContain('ECONNREFUSED');
      expect(status.parts['sink:influx']!.status).toBe('degraded');
      expect((await app.inject('/readyz')).statusCode).toBe(200);
      const metrics = (await app.inject('/metrics')).body;
      expect(metrics).toContain('yieldwatch_sink_backlog_records{sink="influx",type="influxdb"} 3');
      expect(metrics).toContain('yieldwatch_sink_up{sink="influx",type="influxdb"} 0.5');
      expect(metrics).toMatch(/yieldwatch_sink_errors_total\{sink="influx",kind="retryable"\} [1-9]/);
    } finally {
      await fwd.stop();
      await app.close();
      store.close();
    }
  });
});
