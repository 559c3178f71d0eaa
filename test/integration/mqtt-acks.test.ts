import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/src/agent.js';
import { validateConfig } from '../../agent/src/config/load.js';
import { HeldAcks } from '../../agent/src/sources/mqtt/held-acks.js';
import type { MqttSource } from '../../agent/src/sources/mqtt/index.js';
import { mulberry32 } from '../../agent/src/simulator/random.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { requireBinary } from '../helpers/require-binary.js';
import { waitFor } from '../helpers/wait.js';

const hasMosquitto = requireBinary('mosquitto');

/** Publishes QoS 1 messages in order, a chunk in flight at a time. */
async function publishAll(pub: MqttClient, msgs: readonly { topic: string; body: string }[]): Promise<void> {
  for (let i = 0; i < msgs.length; i += 200) await Promise.all(msgs.slice(i, i + 200).map((m) => pub.publishAsync(m.topic, m.body, { qos: 1 })));
}

describe.skipIf(!hasMosquitto)('acknowledge after commit through Mosquitto (MQTT 5)', () => {
  const cleanup: (() => Promise<unknown> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  async function mosquitto(): Promise<Mosquitto> {
    const m = await startMosquitto();
    cleanup.push(() => m.stop());
    return m;
  }

  it('sends as many unacknowledged messages as the client\'s Receive Maximum, not max_inflight_messages (20 by default), and no more', async () => {
    const m = await mosquitto();
    // The helper's mosquitto.conf leaves max_inflight_messages at its default of 20.
    const sub = mqtt.connect(m.url, { clientId: 'acks-receive-maximum', clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 600, receiveMaximum: 2000 }, reconnectPeriod: 0 });
    cleanup.push(() => sub.endAsync(true));
    const acks = new HeldAcks(sub);
    let got = 0;
    sub.on('message', (_t, _p, packet: IPublishPacket) => {
      acks.admit(packet.messageId);
      got++;
    });
    await new Promise<void>((resolve) => sub.once('connect', () => resolve()));
    await sub.subscribeAsync('rm/#', { qos: 1 });
    const pub = await mqtt.connectAsync(m.url, { clientId: 'acks-receive-maximum-pub' });
    cleanup.push(() => pub.endAsync());
    await publishAll(pub, Array.from({ length: 3000 }, (_, i) => ({ topic: 'rm/x', body: String(i) })));
    await waitFor('2,000 messages in flight', () => got === 2000);
    // The broker waits for acknowledgements: the rest stays queued.
    await new Promise((r) => setTimeout(r, 300));
    expect(got).toBe(2000);
    expect(acks.release()).toBe(2000);
    await waitFor('the other 1,000', () => got === 3000);
  });

  it('a delta machine without seqField counts every increment once across dropped connections (redeliveries are not applied again)', { timeout: 60_000 }, async () => {
    const m = await mosquitto();
    const dir = mkdtempSync(join(tmpdir(), 'yw-acks-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const config = validateConfig({
      agent: { id: 'acks', dataDir: dir },
      // A long commit interval keeps messages applied but unacknowledged when the connection drops.
      kpi: { windowSize: '1s', allowedLateness: '200ms', commitInterval: '400ms' },
      machines: [
        { path: 'acks/l1/delta', partMassKg: 0.5, signals: { parts_good: { kind: 'delta' }, parts_scrap: { kind: 'delta' }, material_in_kg: { kind: 'delta' } } },
        { path: 'acks/l1/counter', partMassKg: 0.5, signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' }, material_in_kg: { kind: 'counter' } } },
      ],
      sources: [
        {
          type: 'mqtt',
          id: 'line',
          url: m.url,
          clientId: 'acks-agent',
          reconnectMin: '20ms',
          reconnectMax: '100ms',
          topics: [{ topic: '{site}/{line}/{machine}/counters', fields: { parts_good: 'good', parts_scrap: 'scrap', material_in_kg: 'kg' }, timestamp: { field: 'ts' } }],
        },
      ],
      api: { enabled: false },
    });
    const agent = new Agent({ config, dataDir: dir, baseDir: dir, logger: pino({ level: 'silent' }) });
    cleanup.push(() => agent.stop());
    await agent.start();
    const source = agent.sources[0] as MqttSource;
    const client = (source as unknown as { client: MqttClient }).client;

    const rand = mulberry32(1411);
    const t0 = Date.now();
    const want = { good: 0, scrap: 0, kg: 0 };
    const counter = { good: 1000, scrap: 10, kg: 500 };
    const msgs: { topic: string; body: string }[] = [];
    for (let i = 0; i < 3000; i++) {
      const good = Math.floor(rand.next() * 4);
      const scrap = rand.next() < 0.1 ? 1 : 0;
      // Quarter kilograms add up exactly in floating point, in any order.
      const kg = (good + scrap) * 0.25;
      want.good += good;
      want.scrap += scrap;
      want.kg += kg;
      const ts = t0 + i;
      msgs.push({ topic: 'acks/l1/delta/counters', body: JSON.stringify({ good, scrap, kg, ts }) });
      counter.good += good;
      counter.scrap += scrap;
      counter.kg += kg;
      msgs.push({ topic: 'acks/l1/counter/counters', body: JSON.stringify({ ...counter, ts }) });
    }
    const pub = await mqtt.connectAsync(m.url, { clientId: 'acks-pub' });
    cleanup.push(() => pub.endAsync());
    const published = publishAll(pub, msgs);
    // Drop the agent's connection three times while the stream flows.
    for (let k = 0; k < 3; k++) {
      const before = source.counters().messages;
      await waitFor('messages flowing', () => source.counters().messages > before + 300);
      client.stream.destroy();
      await waitFor('reconnected', () => client.connected);
    }
    await published;
    const counters = () => source.counters();
    await waitFor('every message applied', () => counters().messages - counters().redelivered === msgs.length, 20_000);
    expect(counters().redelivered).toBeGreaterThan(0);
    agent.pipeline.flushAll();
    const sums = (machine: string) =>
      agent.store
        .queryAggregates()
        .filter((a) => a.machine === machine)
        .reduce((s, a) => ({ good: s.good + a.components.parts_good!, scrap: s.scrap + a.components.parts_scrap!, kg: s.kg + a.components.material_in_kg! }), { good: 0, scrap: 0, kg: 0 });
    expect(sums('acks/l1/delta')).toEqual(want);
    // The counter machine's first reading is its baseline.
    const first = JSON.parse(msgs[1]!.body) as { good: number; scrap: number; kg: number };
    expect(sums('acks/l1/counter')).toEqual({ good: counter.good - first.good, scrap: counter.scrap - first.scrap, kg: counter.kg - first.kg });
  });
});
