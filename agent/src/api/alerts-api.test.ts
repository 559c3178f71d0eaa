import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScenario, scenarioConfig, scenarioMessages } from '../../../test/helpers/scenario.js';
import { openEventStream } from '../../../test/helpers/sse.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { VirtualClock } from '../core/clock.js';
import { validateConfig } from '../config/load.js';
import { createMetrics } from '../observe/metrics.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { createPipeline } from '../wiring/pipeline-options.js';
import { replay } from '../replay.js';
import { Store } from '../store/store.js';
import { buildApp } from './app.js';
import { EventHub } from './events.js';
import { storeReader } from '../readers/store/index.js';

const SPIKE = 'plant1/l2/m02';
const OPERATOR = 'operator-token-0123456789';
const VIEWER = 'viewer-token-0123456789ab';

/**
 * The basic scenario cut off in the middle of its spike (minute 5.5): the spiking machine has an
 * open alert in which both rules fired (threshold opened it, sustained joined). A fresh pipeline
 * on the same store restores it, as after an agent restart.
 */
describe('alerts API', () => {
  const s = loadScenario('basic');
  const cfg = validateConfig({
    ...scenarioConfig(s),
    alerts: { rules: [{ id: 'threshold', type: 'threshold', scrapRate: 0.15, minParts: 30, severity: 'critical' }, { id: 'sustained', type: 'sustained', scrapRate: 0.15, m: 2, n: 3 }] },
  });
  const store = new Store({ path: ':memory:' });
  const events = new EventHub();
  let app: FastifyInstance;
  let pipeline: Pipeline;
  let url = '';

  beforeAll(async () => {
    const cut = s.config.epoch_ms + 5.5 * 60_000;
    replay(cfg, scenarioMessages(s).filter((m) => m.arrival < cut), store);
    pipeline = createPipeline(cfg, store, new VirtualClock(cut + 60_000), { onAlerts: (changes) => events.publish({ type: 'alerts', changes }) });
    app = buildApp({
      reader: storeReader(store, cfg, [], new VirtualClock(cut + 60_000)),
      registry: createMetrics({ pipeline, store, sources: [] }),
      health: () => ({}),
      events,
      acknowledge: (id, by, comment) => pipeline.acknowledge(id, by, comment),
      tokens: [
        { name: 'Anna (shift lead)', token: OPERATOR, role: 'operator' },
        { name: 'wallboard', token: VIEWER, role: 'viewer' },
      ],
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
    store.close();
  });

  const auth = (token: string) => ({ authorization: `Bearer ${token}` });

  it('needs a token: 401 without, 403 with an unknown one; health stays open', async () => {
    expect((await app.inject('/api/v1/alerts')).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/v1/alerts', headers: auth('nope-nope-nope-nope') })).statusCode).toBe(403);
    expect((await app.inject('/livez')).statusCode).toBe(200);
    // However the path is spelt, a route of the API is behind the token.
    for (const url of ['/%61pi/v1/alerts', '/api/%761/alerts', '/api/v1/alerts/x/ack']) {
      expect((await app.inject({ url, method: url.endsWith('ack') ? 'POST' : 'GET', payload: url.endsWith('ack') ? { by: 'x' } : undefined })).statusCode, url).toBe(401);
    }
  });

  it('lists open alerts with filters, one per machine with the rules that fired inside it; the restarted pipeline knows them', async () => {
    const r = await app.inject({ url: '/api/v1/alerts?state=open', headers: auth(VIEWER) });
    expect(r.statusCode).toBe(200);
    const items = r.json().items as Record<string, unknown>[];
    expect(items.map((a) => [a.machine, a.rule, a.state, a.severity])).toEqual([[SPIKE, 'threshold', 'firing', 'critical']]);
    const e = s.config.epoch_ms;
    expect(items[0]!.rules).toEqual([
      { rule: 'threshold', rule_type: 'threshold', severity: 'critical', value: 21 / 82, threshold: 0.15, parts: 82, fired_at: e + 3 * 60_000, resolved_at: null },
      { rule: 'sustained', rule_type: 'sustained', severity: 'warning', value: expect.any(Number), threshold: 0.15, parts: expect.any(Number), fired_at: e + 4 * 60_000, resolved_at: null },
    ]);
    expect(pipeline.openAlerts(SPIKE)).toHaveLength(1);
    const critical = (await app.inject({ url: '/api/v1/alerts?severity=critical', headers: auth(VIEWER) })).json().items as Record<string, unknown>[];
    expect(critical.map((a) => a.rule)).toEqual(['threshold']);
    expect((await app.inject({ url: '/api/v1/alerts?line=plant1/l1', headers: auth(VIEWER) })).json().items).toEqual([]);
    expect((await app.inject({ url: '/api/v1/alerts?state=maybe', headers: auth(VIEWER) })).statusCode).toBe(400);
  });

  it('the live stream filters by severity and line', async () => {
    const first = async (query: string) => {
      const stream = openEventStream(`${url}/api/v1/stream?token=${VIEWER}&${query}`);
      try {
        return (await waitFor('the first event', () => stream.events[0], 5000)).data;
      } finally {
        stream.close();
      }
    };
    const critical = await first('severity=critical');
    expect((critical.items as { rule: string }[]).map((a) => a.rule)).toEqual(['threshold']);
    expect(((await first('line=plant1/l1')).items as unknown[]).length).toBe(0);
    expect(((await first('line=plant1/l2&only=alerts')).items as unknown[]).length).toBe(1);
    expect((await app.inject({ url: '/api/v1/stream?severity=loud', headers: auth(VIEWER) })).statusCode).toBe(400);
  });

  it('acknowledging: viewers may not, operators may (named by their token), once for the alert and all its rules; the audit trail and the live stream show it', async () => {
    const open = (await app.inject({ url: '/api/v1/alerts?state=open&severity=critical', headers: auth(VIEWER) })).json().items as { id: string }[];
    const id = open[0]!.id;
    const path = `/api/v1/alerts/${encodeURIComponent(id)}/ack`;

    // A live-stream client, over a real socket: first the open alerts, then changes as they commit.
    const stream = openEventStream(`${url}/api/v1/stream?token=${VIEWER}`);
    const received = stream.events;
    expect((await stream.headers)['content-type']).toContain('text/event-stream');
    try {
      await waitFor('the initial open alerts', () => received.some((e) => e.event === 'alerts'), 5000);
      expect((received[0]!.data.items as unknown[]).length).toBe(1);

      expect((await app.inject({ method: 'POST', url: path, headers: auth(VIEWER), payload: {} })).statusCode).toBe(403);
      const ok = await app.inject({ method: 'POST', url: path, headers: auth(OPERATOR), payload: { comment: 'die change, tool 4 worn' } });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json()).toMatchObject({ id, state: 'acknowledged', acknowledged_by: 'Anna (shift lead)', comment: 'die change, tool 4 worn' });
      expect((ok.json() as { rules: { rule: string }[] }).rules.map((h) => h.rule)).toEqual(['threshold', 'sustained']);
      expect(pipeline.openAlerts(SPIKE).map((a) => a.state)).toEqual(['acknowledged']);
      expect((await app.inject({ method: 'POST', url: path, headers: auth(OPERATOR), payload: {} })).statusCode).toBe(409);

      await waitFor('the acknowledgement on the stream', () => received.some((e) => e.event === 'alert'), 5000);
      const ev = received.find((e) => e.event === 'alert')!;
      expect(ev.data).toMatchObject({ event: 'acknowledged', by: 'Anna (shift lead)', rule: null, alert: { id, state: 'acknowledged', rules: [{ rule: 'threshold' }, { rule: 'sustained' }] } });
    } finally {
      stream.close();
    }

    const one = (await app.inject({ url: `/api/v1/alerts/${encodeURIComponent(id)}`, headers: auth(VIEWER) })).json();
    expect(one.rules.map((h: { rule: string }) => h.rule)).toEqual(['threshold', 'sustained']);
    expect(one.events.map((e: { event: string; rule: string | null }) => `${e.event} ${e.rule}`)).toEqual(['fired threshold', 'rule_fired sustained', 'acknowledged null']);
    const history = (await app.inject({ url: `/api/v1/alerts/history?machine=${SPIKE}`, headers: auth(VIEWER) })).json().items as { event: string; rule: string | null; alert: { id: string } }[];
    expect(history.map((e) => `${e.event} ${e.rule} ${e.alert.id === id}`)).toEqual(['fired threshold true', 'rule_fired sustained true', 'acknowledged null true']);
    expect((await app.inject({ url: '/api/v1/alerts/nope/ack', method: 'POST', headers: auth(OPERATOR), payload: {} })).statusCode).toBe(404);
  });
});

describe('alerts API without tokens', () => {
  it('an acknowledgement must name its author', async () => {
    const s = loadScenario('basic');
    const cfg = validateConfig({ ...scenarioConfig(s), alerts: { rules: [{ id: 't', type: 'threshold', scrapRate: 0.15, minParts: 30 }] } });
    const store = new Store({ path: ':memory:' });
    const cut = s.config.epoch_ms + 5.5 * 60_000;
    replay(cfg, scenarioMessages(s).filter((m) => m.arrival < cut), store);
    const pipeline = createPipeline(cfg, store, new VirtualClock(cut));
    const app = buildApp({ reader: storeReader(store, cfg, [], new VirtualClock(cut)), registry: createMetrics({ pipeline, store, sources: [] }), health: () => ({}), acknowledge: (id, by, c) => pipeline.acknowledge(id, by, c) });
    try {
      const id = (store.alerts.query({ state: 'open' })[0]!).id;
      const path = `/api/v1/alerts/${encodeURIComponent(id)}/ack`;
      expect((await app.inject({ method: 'POST', url: path, payload: {} })).statusCode).toBe(400);
      const r = await app.inject({ method: 'POST', url: path, payload: { by: 'night shift' } });
      expect(r.json()).toMatchObject({ state: 'acknowledged', acknowledged_by: 'night shift' });
      expect((app.server.address() as AddressInfo | null)).toBeNull();
    } finally {
      await app.close();
      store.close();
    }
  });
});

describe('ISA-18.2: returned to normal, unacknowledged', () => {
  it('an alert that resolved before anyone acknowledged it still takes one acknowledgement; it stays resolved, and the trail shows both', async () => {
    const s = loadScenario('basic');
    const cfg = validateConfig({ ...scenarioConfig(s), alerts: { rules: [{ id: 't', type: 'threshold', scrapRate: 0.15, minParts: 30 }] } });
    const store = new Store({ path: ':memory:' });
    // The whole scenario: press2's spike fires and resolves with nobody looking.
    replay(cfg, scenarioMessages(s), store);
    const end = s.config.epoch_ms + 60 * 60_000;
    const pipeline = createPipeline(cfg, store, new VirtualClock(end));
    const app = buildApp({ reader: storeReader(store, cfg, [], new VirtualClock(end)), registry: createMetrics({ pipeline, store, sources: [] }), health: () => ({}), acknowledge: (id, by, c) => pipeline.acknowledge(id, by, c) });
    try {
      const returned = store.alerts.query({ state: 'resolved' }).filter((a) => a.acknowledgedAt === undefined);
      expect(returned.length).toBeGreaterThan(0);
      const id = returned[0]!.id;
      const path = `/api/v1/alerts/${encodeURIComponent(id)}/ack`;
      const r = await app.inject({ method: 'POST', url: path, payload: { by: 'morning shift', comment: 'seen: die was changed at night' } });
      expect(r.statusCode, r.body).toBe(200);
      expect(r.json()).toMatchObject({ id, state: 'resolved', acknowledged_by: 'morning shift', acknowledged_at: end, comment: 'seen: die was changed at night' });
      expect((await app.inject({ method: 'POST', url: path, payload: { by: 'someone else' } })).statusCode).toBe(409);
      const one = (await app.inject(`/api/v1/alerts/${encodeURIComponent(id)}`)).json();
      expect(one.events.map((e: { event: string }) => e.event)).toEqual(['fired', 'resolved', 'acknowledged']);
      expect(store.alerts.get(id)!.state).toBe('resolved');
    } finally {
      await app.close();
      store.close();
    }
  });
});
