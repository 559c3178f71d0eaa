import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startAedesBroker } from '../../../../test/helpers/aedes-broker.js';
import { startMosquitto } from '../../../../test/helpers/mosquitto.js';
import { requireBinary } from '../../../../test/helpers/require-binary.js';
import { waitFor } from '../../../../test/helpers/wait.js';
import type { Aggregate } from '../../core/aggregate.js';
import { systemClock } from '../../core/clock.js';
import type { Forwarder } from '../../forward.js';
import { Store } from '../../store/store.js';
import { createForwarder } from '../../wiring/sinks.js';
import { mqttSinkSchema } from './config.js';
import { alertMessage, kpiTopic, windowMessage } from './index.js';
import type { Alert } from '../../core/alert.js';

const T0 = Date.UTC(2026, 10, 27, 8, 0, 0);
const MACHINES = ['plant1/hall/line1/press1', 'plant1/line2/lathe2'];

function aggregate(machine: string, k: number, revision = 0): Aggregate {
  const good = 100 + k + revision;
  return {
    machine,
    windowStart: T0 + k * 60_000,
    windowEnd: T0 + (k + 1) * 60_000,
    revision,
    product: undefined,
    material: 'steel',
    partMassKg: 0.5,
    components: { parts_good: good, parts_scrap: 5 },
    quality: { stale: 0, implausible: 0, rebaselined: 0, too_late: 0, skewed: 0, dup: 0, rejected: 0 },
    kpis: { parts_good: good, parts_scrap: 5, parts_total: good + 5, yield: good / (good + 5) },
    method: 'yieldwatch-kpi/1',
    emittedAt: T0 + (k + 1) * 60_000 + 10_000,
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function setup(url: string) {
  const config = mqttSinkSchema.parse({ type: 'mqtt', id: 'uns', url, topicPrefix: 'uns/', retryMin: '50ms', retryMax: '300ms' });
  const store = new Store({ path: ':memory:' });
  const fwd: Forwarder = createForwarder(config, store.outbox, { id: 'uns', logger: pino({ level: 'silent' }), clock: systemClock, agentId: 'edge-01', isMachine: () => true, baseDir: '.' });
  cleanups.push(async () => {
    await fwd.stop();
    store.close();
  });
  // Three windows per machine, the middle one revised once: seven records in commit order.
  const sent: Aggregate[] = [];
  store.transaction(() => {
    for (const m of MACHINES) {
      for (const a of [aggregate(m, 0), aggregate(m, 1), aggregate(m, 2), aggregate(m, 1, 1)]) {
        sent.push(a);
        store.outbox.append('uns', T0, `window ${a.machine} ${a.windowStart} r${a.revision}`, windowMessage(config.topicPrefix, a, 'edge-01'));
      }
    }
  });
  return { fwd, store, sent };
}

/** Subscribes to everything and keeps the messages (retained ones first). */
async function listen(url: string) {
  const got: { topic: string; body: Record<string, unknown>; retain: boolean; qos: number }[] = [];
  const client = await mqtt.connectAsync(url, { clientId: `listener-${Math.random().toString(36).slice(2)}` });
  cleanups.push(() => client.endAsync(true));
  client.on('message', (topic, payload, packet) => got.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown>, retain: packet.retain, qos: packet.qos }));
  await client.subscribeAsync('uns/#', { qos: 1 });
  return got;
}

function expectLatestRetained(got: Awaited<ReturnType<typeof listen>>, sent: readonly Aggregate[]): void {
  for (const m of MACHINES) {
    const last = sent.filter((a) => a.machine === m).at(-1)!;
    const msgs = got.filter((g) => g.topic === kpiTopic('uns/', m));
    expect(msgs, m).toHaveLength(1);
    expect(msgs[0]!.retain).toBe(true);
    expect(msgs[0]!.body).toMatchObject({ machine: m, window_start: last.windowStart, revision: last.revision, parts_good: last.kpis.parts_good, yield: last.kpis.yield, agent: 'edge-01', window_ms: 60_000 });
  }
}

describe('mqtt sink', () => {
  it('publishes every window on its Unified-Namespace topic with QoS 1; a late subscriber gets the latest one retained', async () => {
    const broker = await startAedesBroker();
    cleanups.push(() => broker.close());
    const live = await listen(broker.url);
    const { fwd, store, sent } = setup(broker.url);
    fwd.start();
    await waitFor('all published', () => store.outbox.stats('uns').pendingRecords === 0, 10_000);
    await waitFor('all received live', () => live.length === sent.length, 5000);
    expect(live.map((g) => [g.topic, g.body.window_start, g.body.revision])).toEqual(sent.map((a) => [kpiTopic('uns/', a.machine), a.windowStart, a.revision]));
    expect(live.every((g) => g.qos === 1)).toBe(true);
    expect(live[0]!.topic).toBe('uns/plant1/hall/line1/press1/yieldwatch/kpi');

    const late = await listen(broker.url);
    await waitFor('the retained messages', () => late.length === MACHINES.length, 5000);
    expectLatestRetained(late, sent);
  });

  it('with the broker down the records wait in the outbox; once it is up they are all published', async () => {
    const broker = await startAedesBroker();
    const port = broker.port;
    await broker.close();
    const { fwd, store, sent } = setup(`mqtt://127.0.0.1:${port}`);
    fwd.start();
    await waitFor('failed attempts', () => fwd.status().errors.retryable >= 2, 10_000);
    expect(fwd.status().health.status).toBe('degraded');
    expect(fwd.status().lastError).toContain('not connected');
    expect(store.outbox.stats('uns').pendingRecords).toBe(sent.length);
    const again = await startAedesBroker({ port });
    cleanups.push(() => again.close());
    await waitFor('all published', () => store.outbox.stats('uns').pendingRecords === 0, 15_000);
    const late = await listen(again.url);
    await waitFor('the retained messages', () => late.length === MACHINES.length, 5000);
    expectLatestRetained(late, sent);
  });

  it.skipIf(!requireBinary('mosquitto'))('works the same against Mosquitto', async () => {
    const broker = await startMosquitto();
    cleanups.push(() => broker.stop());
    const { fwd, store, sent } = setup(broker.url);
    fwd.start();
    await waitFor('all published', () => store.outbox.stats('uns').pendingRecords === 0, 10_000);
    const late = await listen(broker.url);
    await waitFor('the retained messages', () => late.length === MACHINES.length, 5000);
    expectLatestRetained(late, sent);
  });
});

describe('alert state on MQTT', () => {
  it('the retained active alerts of a machine carry the rules that fired inside each', () => {
    const machine = MACHINES[1]!;
    const alert: Alert = {
      id: `${machine}|fast|${T0}`,
      machine,
      line: 'plant1/line2',
      rule: 'fast',
      ruleType: 'fast',
      severity: 'critical',
      state: 'acknowledged',
      value: 0.3,
      threshold: 0.15,
      parts: 50,
      startedAt: T0,
      windowStart: undefined,
      acknowledgedAt: T0 + 30_000,
      acknowledgedBy: 'Anna',
      comment: undefined,
      resolvedAt: undefined,
      updatedAt: T0 + 70_000,
      message: '',
      rules: [
        { rule: 'fast', ruleType: 'fast', severity: 'warning', value: 0.3, threshold: 0.15, parts: 50, firedAt: T0, resolvedAt: undefined },
        { rule: 'sustained', ruleType: 'sustained', severity: 'critical', value: 0.3, threshold: 0.15, parts: 100, firedAt: T0 + 60_000, resolvedAt: undefined },
      ],
    };
    const [topic, body] = alertMessage('', { kind: 'rule_fired', alert, at: T0 + 70_000, by: 'rule', notify: true, rule: 'sustained' }, [alert], 'edge').split('\n') as [string, string];
    expect(topic).toBe(`${machine}/yieldwatch/alerts`);
    const msg = JSON.parse(body) as { active: { id: string; rules: { rule: string }[] }[]; change: { event: string; rule: string } };
    expect(msg.active.map((a) => [a.id, a.rules.map((h) => h.rule)])).toEqual([[alert.id, ['fast', 'sustained']]]);
    expect(msg.change).toMatchObject({ event: 'rule_fired', rule: 'sustained' });
  });
});
