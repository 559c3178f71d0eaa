import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateToJson, type Aggregate } from '../../agent/src/core/aggregate.js';
import { systemClock } from '../../agent/src/core/clock.js';
import type { PluginContext, SampleSink } from '../../agent/src/core/plugin.js';
import { validateConfig } from '../../agent/src/config/load.js';
import type { Config, ConfigInput } from '../../agent/src/config/schema.js';
import type { Pipeline } from '../../agent/src/pipeline/pipeline.js';
import { createPipeline } from '../../agent/src/wiring/pipeline-options.js';
import { replay, type RecordedMessage } from '../../agent/src/replay.js';
import { mqttSource, type MqttSource } from '../../agent/src/sources/mqtt/index.js';
import { Store } from '../../agent/src/store/store.js';
import { startAedesBroker } from '../helpers/aedes-broker.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { requireBinary } from '../helpers/require-binary.js';
import { diffWindows } from '../helpers/scenario.js';
import { mulberry32 } from '../../agent/src/simulator/random.js';
import { waitFor } from '../helpers/wait.js';
import type { MqttSourceConfig } from '../../agent/src/sources/mqtt/config.js';

const ROLLOVER = 65536;
const TOPIC = '{site}/{line}/{machine}/counters';
const M01 = 'plant1/l1/m01'; // 16-bit counters that roll over
const M02 = 'plant1/l1/m02'; // counter reset half way
const M03 = 'plant1/l2/m03'; // plain counters, with rework

function configFor(url: string): Config {
  const input: ConfigInput = {
    agent: { id: 'itest' },
    kpi: { windowSize: '60s', allowedLateness: '10s' },
    materials: { AlMg3: { pricePerKg: 4.2, scrapValuePerKg: 1.5, co2ePerKg: { value: 8.6, source: 'made up for testing', year: 2026 }, crm: { Mg: 0.03 } } },
    machines: [
      {
        path: M01,
        partMassKg: 0.25,
        material: 'AlMg3',
        signals: { parts_good: { kind: 'counter', rollover: ROLLOVER }, parts_scrap: { kind: 'counter', rollover: ROLLOVER }, material_in_kg: { kind: 'counter' } },
      },
      { path: M02, partMassKg: 0.5, material: 'AlMg3', signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' }, material_in_kg: { kind: 'counter' } } },
      { path: M03, partMassKg: 0.1, material: 'AlMg3', signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' }, parts_rework: { kind: 'counter' } } },
    ],
    sources: [
      {
        type: 'mqtt',
        id: 'line',
        url,
        sessionExpiry: '10m',
        reconnectMin: '100ms',
        reconnectMax: '1s',
        topics: [
          {
            topic: TOPIC,
            fields: { parts_good: 'good', parts_scrap: 'scrap', parts_rework: 'rework', material_in_kg: 'material_in_kg' },
            timestamp: { field: 'ts', format: 'epoch_ms' },
          },
        ],
      },
    ],
    api: { enabled: false },
  };
  return validateConfig(input);
}

interface Msg {
  topic: string;
  payload: Record<string, number>;
}

/**
 * Three machines, one message each per second of event time from `startTs`: m01 crosses the
 * 16-bit rollover, m02 is reset to 0 half way, m03 counts plainly. Deterministic for a seed.
 */
function generateStream(seed: number, startTs: number, seconds: number, machines = [M01, M02, M03]): Msg[] {
  const rand = mulberry32(seed);
  const state = new Map<string, { good: number; scrap: number; rework: number; kg: number }>([
    [M01, { good: ROLLOVER - 150, scrap: ROLLOVER - 5, rework: 0, kg: 0 }],
    [M02, { good: 500, scrap: 20, rework: 0, kg: 1000 }],
    [M03, { good: 1000, scrap: 0, rework: 0, kg: 0 }],
  ]);
  const out: Msg[] = [];
  for (let s = 0; s < seconds; s++) {
    machines.forEach((m, i) => {
      const st = state.get(m)!;
      const good = Math.floor(rand.next() * 4);
      const scrap = rand.next() < 0.15 ? 1 : 0;
      if (m === M02 && s === Math.floor(seconds / 2)) {
        st.good = 0;
        st.scrap = 0;
        st.kg = 0;
      }
      st.good = m === M01 ? (st.good + good) % ROLLOVER : st.good + good;
      st.scrap = m === M01 ? (st.scrap + scrap) % ROLLOVER : st.scrap + scrap;
      st.kg = Math.round((st.kg + (good + scrap) * 0.27) * 1e4) / 1e4;
      if (m === M03 && rand.next() < 0.1) st.rework++;
      const [site, line, machine] = m.split('/');
      const payload: Record<string, number> = { good: st.good, scrap: st.scrap, ts: startTs + s * 1000 + i * 137 };
      if (m === M03) payload.rework = st.rework;
      else payload.material_in_kg = st.kg;
      out.push({ topic: `${site}/${line}/${machine}/counters`, payload });
    });
  }
  return out;
}

/** Publishes with QoS 1 in order (chunks in flight together) and records each publish time as the arrival. */
async function publish(pub: mqtt.MqttClient, msgs: readonly { topic: string; payload: string | Buffer | Record<string, unknown> }[], record?: RecordedMessage[]): Promise<void> {
  for (let i = 0; i < msgs.length; i += 100) {
    const chunk = msgs.slice(i, i + 100);
    await Promise.all(
      chunk.map((m) => {
        record?.push({ arrival: Date.now(), topic: m.topic, payload: m.payload });
        const body = typeof m.payload === 'string' || Buffer.isBuffer(m.payload) ? m.payload : JSON.stringify(m.payload);
        return pub.publishAsync(m.topic, body, { qos: 1 });
      }),
    );
  }
}

function pipelineSink(p: Pipeline): SampleSink {
  return { samples: (b) => p.ingest(b), reject: (r, m) => p.reject(r, m) };
}

function ctxFor(cfg: Config, pipeline: () => Pipeline): PluginContext {
  return {
    id: 'line',
    logger: pino({ level: 'silent' }),
    clock: systemClock,
    agentId: cfg.agent.id,
    isMachine: (p) => pipeline().hasMachine(p),
    baseDir: process.cwd(),
  };
}

/** Windows as flat JSON without the data-quality object (compared on its own) and the revision (a transport detail). */
function flat(aggs: readonly Aggregate[]): Record<string, number | string>[] {
  return aggs.map((a) => {
    const { quality: _q, revision: _r, ...rest } = aggregateToJson(a);
    return rest as Record<string, number | string>;
  });
}

function byKey(rows: Record<string, number | string>[]): Map<string, Record<string, number | string>> {
  return new Map(rows.map((r) => [`${r.machine}@${r.window_start}`, r]));
}

function qualities(aggs: readonly Aggregate[]): Record<string, unknown> {
  return Object.fromEntries(aggs.map((a) => [`${a.machine}@${a.windowStart}`, a.quality]));
}

const hasMosquitto = requireBinary('mosquitto');

interface BrokerCase {
  name: string;
  protocolVersion: 4 | 5;
  skip: boolean;
  /**
   * Whether a topic with an empty level (`plant1//m01/counters`) may be sent to a `+` filter.
   * aedes 1.2 matches it when routing but not in its session store, and then drops the
   * subscriber's connection ("no such packet"), so such topics are only sent through Mosquitto.
   */
  emptyLevels: boolean;
  /** Keeps sessions and queued messages on disk across its own restart (aedes here is in-memory). */
  restartable: boolean;
  start: () => Promise<RunningBroker>;
}

interface RunningBroker {
  url: string;
  stop: () => Promise<void>;
  /** Stops the broker cleanly and starts it again on the same port, when it can keep sessions on disk. */
  restart?: () => Promise<void>;
}

const BROKERS: BrokerCase[] = [
  {
    name: 'aedes in-process (MQTT 3.1.1)',
    protocolVersion: 4,
    skip: false,
    emptyLevels: false,
    restartable: false,
    start: async () => {
      const b = await startAedesBroker();
      return { url: b.url, stop: () => b.close() };
    },
  },
  {
    name: 'Mosquitto (MQTT 5)',
    protocolVersion: 5,
    skip: !hasMosquitto,
    emptyLevels: true,
    restartable: true,
    start: async () => {
      const m = await startMosquitto();
      return { url: m.url, stop: () => m.stop(), restart: () => m.restart() };
    },
  },
];

describe.each(BROKERS)('MQTT source over $name', ({ name, protocolVersion, skip, emptyLevels, restartable, start }) => {
  let broker: RunningBroker | undefined;
  let pub: mqtt.MqttClient | undefined;
  const sources: MqttSource[] = [];
  const tag = name.split(' ')[0]!.toLowerCase();

  beforeAll(async () => {
    if (skip) return;
    broker = await start();
    pub = await mqtt.connectAsync(broker.url, { clientId: `itest-publisher-${tag}` });
  });
  afterAll(async () => {
    await Promise.all(sources.splice(0).map((s) => s.stop()));
    await pub?.endAsync(true);
    await broker?.stop();
  });

  function newSource(cfg: Config, pipeline: () => Pipeline, clientId: string): MqttSource {
    const c = cfg.sources[0] as MqttSourceConfig;
    const src = mqttSource.create({ ...c, clientId }, ctxFor(cfg, pipeline));
    sources.push(src);
    return src;
  }

  it.skipIf(skip)('messages in, windows out: the stored windows equal a replay of the same messages', async () => {
    const cfg = configFor(broker!.url);
    const store = new Store({ path: ':memory:' });
    const pipeline = createPipeline(cfg, store, systemClock);
    const src = newSource(cfg, () => pipeline, `itest-windows-${tag}`);
    await src.start(pipelineSink(pipeline));
    expect(src.health()).toMatchObject({ status: 'ok', details: { protocolVersion } });

    // Four minutes of event time ending a minute ago: within the skew and correction limits of the agent clock.
    const startTs = Math.floor((Date.now() - 6 * 60_000) / 60_000) * 60_000 + 250;
    const msgs = generateStream(7, startTs, 240);
    const recorded: RecordedMessage[] = [];
    await publish(pub!, msgs, recorded);
    await waitFor(`${msgs.length} messages`, () => src.counters().messages >= msgs.length);
    expect(src.counters()).toMatchObject({ messages: msgs.length, rejected: 0 });
    pipeline.flushAll();

    const live = store.queryAggregates();
    const expected = replay(cfg, recorded);
    expect(expected.stats.rollovers).toBeGreaterThan(0);
    expect(expected.stats.resets).toBeGreaterThan(0);
    expect(live.length).toBe(expected.aggregates.length);
    expect(live.length).toBeGreaterThanOrEqual(12);
    expect(diffWindows(flat(live), byKey(flat(expected.aggregates))).slice(0, 20)).toEqual([]);
    expect(qualities(live)).toEqual(qualities(expected.aggregates));
    const { rejected: _lr, ...liveStats } = pipeline.stats().ingest;
    const { rejected: _er, ...replayStats } = expected.stats;
    expect(liveStats).toEqual(replayStats);
  });

  it.skipIf(skip)('persistent session: QoS 1 messages published while the agent is stopped arrive after its restart', async () => {
    const cfg = configFor(broker!.url);
    const store = new Store({ path: ':memory:' });
    let pipeline = createPipeline(cfg, store, systemClock);
    const clientId = `itest-session-${tag}`;
    const startTs = Date.now() - 10 * 60_000;
    const msgs = generateStream(11, startTs, 210, [M03]);
    const before = msgs.slice(0, 60);
    const during = msgs.slice(60);

    const first = newSource(cfg, () => pipeline, clientId);
    await first.start(pipelineSink(pipeline));
    expect(first.health().status).toBe('ok');
    await publish(pub!, before);
    await waitFor('the first batch', () => first.counters().messages >= before.length);
    // An agent shutdown: checkpoint, then disconnect without unsubscribing.
    pipeline.checkpoint();
    await first.stop();
    expect(first.health()).toMatchObject({ status: 'down', reason: 'stopped' });

    await publish(pub!, during);

    // A restarted agent: a new pipeline restores the checkpoint, a new source has the same client id.
    pipeline = createPipeline(cfg, store, systemClock);
    const second = newSource(cfg, () => pipeline, clientId);
    await second.start(pipelineSink(pipeline));
    await waitFor('the queued batch', () => second.counters().messages >= during.length);
    expect(second.health()).toMatchObject({ status: 'ok', details: { sessionPresent: true, protocolVersion } });
    expect(first.counters().messages).toBe(before.length);
    pipeline.flushAll();

    const windows = store.queryAggregates({ machine: M03 });
    const sum = (k: 'parts_good' | 'parts_scrap' | 'parts_rework') => windows.reduce((acc, w) => acc + (w.components[k] ?? 0), 0);
    const firstMsg = msgs[0]!.payload;
    const lastMsg = msgs.at(-1)!.payload;
    expect(sum('parts_good')).toBe(lastMsg.good! - firstMsg.good!);
    expect(sum('parts_scrap')).toBe(lastMsg.scrap! - firstMsg.scrap!);
    expect(sum('parts_rework')).toBe(lastMsg.rework! - firstMsg.rework!);
    expect(pipeline.stats().ingest.resets).toBe(0);
    // QoS 1 is at least once: a redelivery may add a message, never a count (checked above).
    expect(second.counters().messages).toBeGreaterThanOrEqual(during.length);
  });

  // aedes keeps sessions in memory only: a broker restart is a Mosquitto-only case, not a skipped one.
  if (restartable) {
    it.skipIf(skip)('broker restart: the queued messages of a stopped agent survive on the broker disk', async () => {
      const cfg = configFor(broker!.url);
      const store = new Store({ path: ':memory:' });
      const pipeline = createPipeline(cfg, store, systemClock);
      const clientId = `itest-broker-restart-${tag}`;
      const msgs = generateStream(31, Date.now() - 5 * 60_000, 100, [M03]);

      const first = newSource(cfg, () => pipeline, clientId);
      await first.start(pipelineSink(pipeline));
      expect(first.health().status).toBe('ok');
      await first.stop();
      await publish(pub!, msgs);
      await broker!.restart!();

      const second = newSource(cfg, () => pipeline, clientId);
      await second.start(pipelineSink(pipeline));
      await waitFor('the messages queued before the broker restart', () => second.counters().messages >= msgs.length);
      expect(second.health()).toMatchObject({ status: 'ok', details: { sessionPresent: true } });
      pipeline.flushAll();
      const windows = store.queryAggregates({ machine: M03 });
      expect(windows.reduce((acc, w) => acc + (w.components.parts_good ?? 0), 0)).toBe(msgs.at(-1)!.payload.good! - msgs[0]!.payload.good!);
    });
  }

  it.skipIf(skip)('a finite but absurd value (1e308) is a counted out_of_range rejection: windows stay those of the good messages, every sum finite', async () => {
    const cfg = configFor(broker!.url);
    const store = new Store({ path: ':memory:' });
    const pipeline = createPipeline(cfg, store, systemClock);
    const src = newSource(cfg, () => pipeline, `itest-huge-${tag}`);
    await src.start(pipelineSink(pipeline));

    // On a window boundary: two whole windows of production. Unaligned, the first window could hold
    // the counter's baseline alone, whose yield is absent by the KPI method (no parts), not by the 1e308.
    const startTs = Math.floor((Date.now() - 10 * 60_000) / 60_000) * 60_000;
    const good = generateStream(31, startTs, 120, [M03]);
    const huge = [
      { topic: 'plant1/l2/m03/counters', payload: `{"good":1e308,"ts":${startTs + 30_500}}` },
      { topic: 'plant1/l2/m03/counters', payload: `{"good":1e308,"scrap":1e308,"ts":${startTs + 30_600}}` },
      { topic: 'plant1/l2/m03/counters', payload: `{"good":-1e300,"ts":${startTs + 61_500}}` },
    ];
    const stream = [...good.slice(0, 31), huge[0]!, huge[1]!, ...good.slice(31, 62), huge[2]!, ...good.slice(62)];
    await publish(pub!, stream);
    await waitFor('every message', () => src.counters().messages >= stream.length);

    // The source read them (they are JSON numbers); the KPI core refuses each value, counted per sample.
    expect(src.counters()).toMatchObject({ messages: stream.length, rejected: 0 });
    expect(Object.fromEntries(pipeline.stats().ingest.rejected)).toEqual({ out_of_range: 4 });
    pipeline.flushAll();
    const live = store.queryAggregates();
    const expected = replay(cfg, good.map((g) => ({ arrival: Date.now(), topic: g.topic, payload: g.payload })));
    expect(diffWindows(flat(live), byKey(flat(expected.aggregates))).slice(0, 20)).toEqual([]);
    for (const w of live) {
      for (const v of Object.values(w.components)) expect(Number.isFinite(v)).toBe(true);
      expect(w.kpis.yield).toBeTypeOf('number');
    }
  });

  it.skipIf(skip)('bad input while running: a burst of malformed payloads and topics does not stop delivery', async () => {
    const cfg = configFor(broker!.url);
    const store = new Store({ path: ':memory:' });
    const pipeline = createPipeline(cfg, store, systemClock);
    const src = newSource(cfg, () => pipeline, `itest-bad-${tag}`);
    await src.start(pipelineSink(pipeline));

    // Good data ends well before now, so the windows that rejections open at arrival time stay empty and unemitted.
    const startTs = Date.now() - 15 * 60_000;
    const good = generateStream(23, startTs, 90, [M01, M03]);
    const bad: { topic: string; payload: string | Buffer; reason: string }[] = [
      { topic: 'plant1/l1/m01/counters', payload: '{"good": 1,', reason: 'invalid_json' },
      { topic: 'plant1/l1/m01/counters', payload: Buffer.from([0xff, 0x00, 0x7b]), reason: 'invalid_json' },
      { topic: 'plant1/l1/m01/counters', payload: '{"good":"12","ts":1}', reason: 'wrong_type' },
      { topic: 'plant1/l2/m03/counters', payload: '[1,2,3]', reason: 'not_an_object' },
      { topic: 'plant1/l2/m03/counters', payload: '{"ts":1}', reason: 'no_mapped_fields' },
      { topic: 'plant1/l2/m03/counters', payload: '{"good":1,"ts":"soon"}', reason: 'invalid_timestamp' },
      { topic: 'plant1/l9/m99/counters', payload: '{"good":1}', reason: 'unknown_machine' },
      { topic: 'plant1/l1/m01/counters', payload: JSON.stringify({ good: 1, pad: 'x'.repeat(70_000) }), reason: 'payload_too_large' },
    ];
    if (emptyLevels) bad.push({ topic: 'plant1//m01/counters', payload: '{"good":1}', reason: 'unmatched_topic' });
    const expectedRejects: Record<string, number> = {};
    const interleaved: { topic: string; payload: string | Buffer | Record<string, unknown> }[] = [];
    good.forEach((g, i) => {
      interleaved.push(g);
      const b = bad[i % bad.length]!;
      interleaved.push(b);
      expectedRejects[b.reason] = (expectedRejects[b.reason] ?? 0) + 1;
    });
    await publish(pub!, interleaved);
    await waitFor('every message', () => src.counters().messages >= interleaved.length);

    expect(src.health().status).toBe('ok');
    expect(src.counters()).toMatchObject({ messages: interleaved.length, rejected: good.length, sink_errors: 0 });
    expect(src.rejectedByReason()).toEqual(expectedRejects);
    expect(Object.fromEntries(pipeline.stats().ingest.rejected)).toEqual(expectedRejects);

    pipeline.flushAll();
    const recorded = good.map((g) => ({ arrival: Date.now(), topic: g.topic, payload: g.payload }));
    const expected = replay(cfg, recorded);
    const live = store.queryAggregates();
    expect(diffWindows(flat(live), byKey(flat(expected.aggregates))).slice(0, 20)).toEqual([]);
    expect(qualities(live)).toEqual(qualities(expected.aggregates));
  });
});
