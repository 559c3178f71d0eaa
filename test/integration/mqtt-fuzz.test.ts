import { Writable } from 'node:stream';
import fc from 'fast-check';
import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateToJson, type Aggregate } from '../../agent/src/core/aggregate.js';
import { systemClock } from '../../agent/src/core/clock.js';
import { validateConfig } from '../../agent/src/config/load.js';
import type { Config } from '../../agent/src/config/schema.js';
import { createPipeline } from '../../agent/src/wiring/pipeline-options.js';
import { replay } from '../../agent/src/replay.js';
import { mqttSource, type MqttSource } from '../../agent/src/sources/mqtt/index.js';
import type { RejectReason } from '../../agent/src/sources/mqtt/map.js';
import { Store } from '../../agent/src/store/store.js';
import { startAedesBroker } from '../helpers/aedes-broker.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { requireBinary } from '../helpers/require-binary.js';
import { diffWindows } from '../helpers/scenario.js';
import { waitFor } from '../helpers/wait.js';
import type { MqttSourceConfig } from '../../agent/src/sources/mqtt/config.js';

const SEED = 20261127;
const BAD_MESSAGES = 6000;
const GOOD_PER_MACHINE = 150;
const MAX_PAYLOAD = 4096;
const MACHINES = ['plant1/l1/m01', 'plant1/l2/m03'] as const;
const KNOWN_TOPICS = MACHINES.map((m) => `${m}/counters`);

/** What a bad message should become: a rejection reason, or nothing because no subscription matches its topic. */
type Expect = RejectReason | 'not_delivered';

interface BadMessage {
  topic: string;
  payload: Buffer | string;
  expect: Expect;
}

function configFor(url: string): Config {
  return validateConfig({
    agent: { id: 'fuzz' },
    materials: { AlMg3: { pricePerKg: 4.2, co2ePerKg: { value: 8.6, source: 'made up for testing', year: 2026 } } },
    machines: MACHINES.map((path, i) => ({
      path,
      partMassKg: 0.2 + i * 0.1,
      material: 'AlMg3',
      signals: { parts_good: { kind: 'counter', rollover: 65536 }, parts_scrap: { kind: 'counter' } },
    })),
    sources: [
      {
        type: 'mqtt',
        id: 'fuzz',
        url,
        maxPayloadBytes: MAX_PAYLOAD,
        sessionExpiry: '10m',
        topics: [{ topic: '{site}/{line}/{machine}/counters', fields: { parts_good: 'good', parts_scrap: 'c.scrap', state: 'state' }, timestamp: { field: 'ts' }, seqField: 'seq' }],
      },
    ],
    api: { enabled: false },
  });
}

/** Bad messages of every kind, each labelled by construction with the reason it must be rejected for. */
function badMessageArb(ts: number, emptyLevels: boolean): fc.Arbitrary<BadMessage> {
  const known = fc.constantFrom(...KNOWN_TOPICS);
  const json = (v: unknown) => JSON.stringify(v);
  const on = (payload: fc.Arbitrary<Buffer | string>, expect: Expect) => fc.record({ topic: known, payload, expect: fc.constant(expect) });
  const level = fc.stringMatching(/^[a-zA-Z0-9_\-äöü€ .]{1,16}$/);
  const nonNumber = fc.oneof(
    fc.constantFrom('NaN', 'Infinity', '-Infinity', '12', '1e5', '-0', '0x1F', ' 7 ', ''),
    fc.string(),
    fc.boolean(),
    fc.array(fc.integer(), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  );
  const arbs: fc.Arbitrary<BadMessage>[] = [
    // Random bytes behind a byte that is never valid UTF-8, so they cannot be JSON by accident.
    on(fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.concat([Buffer.from([0xff]), Buffer.from(b)])), 'invalid_json'),
    on(fc.constantFrom('{"good":NaN}', '{"good":1,', '{good:1}', "{'good':1}", 'NaN', 'undefined', '', '{"good":1}}', '\u0000'), 'invalid_json'),
    on(fc.integer({ min: MAX_PAYLOAD + 1, max: 4 * MAX_PAYLOAD }).map((n) => json({ good: 1, ts, pad: 'x'.repeat(n) })), 'payload_too_large'),
    on(fc.integer({ min: MAX_PAYLOAD + 1, max: 2 * MAX_PAYLOAD }).map((n) => Buffer.alloc(n, 0x5b)), 'payload_too_large'),
    on(fc.integer({ min: 20, max: 600 }).map((d) => `${'{"a":'.repeat(d)}1${'}'.repeat(d)}`), 'no_mapped_fields'),
    on(fc.integer({ min: 20, max: 1500 }).map((d) => `${'['.repeat(d)}${']'.repeat(d)}`), 'not_an_object'),
    on(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }).map(json).filter((s) => s.length <= MAX_PAYLOAD), 'not_an_object'),
    on(fc.oneof(fc.double(), fc.string(), fc.boolean(), fc.constant(null)).map(json), 'not_an_object'),
    on(nonNumber.map((good) => json({ good, ts })), 'wrong_type'),
    on(fc.constantFrom(`{"good":1e999,"ts":${ts}}`, `{"good":-1e999}`, `{"c":{"scrap":"3"}}`, `{"good":1,"state":7}`, `{"good":{"__proto__":1}}`), 'wrong_type'),
    on(fc.oneof(fc.string(), fc.boolean()).map((t) => json({ good: 1, ts: t })), 'invalid_timestamp'),
    on(fc.constantFrom(json({ good: 1, ts: String(ts) }), json({ good: 1, ts: [ts] }), '{"good":1,"ts":1e999}', '{"good":1,"ts":-1e999}'), 'invalid_timestamp'),
    on(fc.oneof(fc.string(), fc.boolean()).map((seq) => json({ good: 1, seq })), 'invalid_seq'),
    on(
      fc.constantFrom(
        '{}',
        '{"good":null}',
        '{"__proto__":{"good":5}}',
        '{"constructor":{"prototype":{"good":5}}}',
        '{"c":{"__proto__":{"scrap":2}}}',
        '{"__proto__":{"c":{"scrap":1}},"x":1}',
        '{"toString":1,"valueOf":2,"hasOwnProperty":3}',
      ),
      'no_mapped_fields',
    ),
    // Topics the subscription matches but no configured machine has.
    fc.record({
      topic: fc.tuple(fc.oneof(fc.constant('plant1'), level), level, level).filter(([s, l, m]) => !MACHINES.includes(`${s}/${l}/${m}` as (typeof MACHINES)[number])).map(([s, l, m]) => `${s}/${l}/${m}/counters`),
      payload: fc.constant(json({ good: 1, ts })),
      expect: fc.constant<Expect>('unknown_machine'),
    }),
    fc.record({ topic: fc.constant(`plant1/${'x'.repeat(1000)}/m01/counters`), payload: fc.constant(json({ good: 1 })), expect: fc.constant<Expect>('unknown_machine') }),
    // Topics outside the subscription: the broker never delivers them.
    fc.record({
      topic: fc.oneof(
        fc.constantFrom('plant1/l1/m01', 'plant1/l1/m01/counters/x', 'plant1/l1/m01/status', 'counters', 'plant1/l1/m01/Counters'),
        fc.array(level, { minLength: 1, maxLength: 8 }).filter((a) => a.length !== 4 || a[3] !== 'counters').map((a) => a.join('/')),
      ),
      payload: fc.constant(json({ good: 1, ts })),
      expect: fc.constant<Expect>('not_delivered'),
    }),
  ];
  if (emptyLevels) {
    arbs.push(
      fc.record({
        topic: fc.constantFrom('plant1//m01/counters', '/l1/m01/counters', 'plant1/l1//counters', '///counters'),
        payload: fc.constant(json({ good: 1, ts })),
        expect: fc.constant<Expect>('unmatched_topic'),
      }),
    );
  }
  return fc.oneof(...arbs);
}

/** Well-formed counters of the two machines, one message per machine every 2 s of event time from `startTs`. */
function goodMessages(startTs: number): { topic: string; payload: Record<string, unknown> }[] {
  const rand = fc.sample(fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 9 })), { seed: SEED, numRuns: GOOD_PER_MACHINE * MACHINES.length });
  const good = [65_400, 10];
  const scrap = [0, 0];
  const out: { topic: string; payload: Record<string, unknown> }[] = [];
  for (let i = 0; i < GOOD_PER_MACHINE; i++) {
    MACHINES.forEach((m, k) => {
      const [g, s] = rand[i * MACHINES.length + k]!;
      good[k] = (good[k]! + g) % 65536;
      if (s === 0) scrap[k]!++;
      out.push({ topic: `${m}/counters`, payload: { good: good[k], c: { scrap: scrap[k] }, ts: startTs + i * 2000 + k * 311 } });
    });
  }
  return out;
}

function flat(aggs: readonly Aggregate[]): Record<string, number | string>[] {
  return aggs.map((a) => {
    const { quality: _q, revision: _r, ...rest } = aggregateToJson(a);
    return rest as Record<string, number | string>;
  });
}

const hasMosquitto = requireBinary('mosquitto');

const BROKERS = [
  {
    name: 'aedes in-process',
    skip: false,
    // aedes 1.2 drops a persistent subscriber on topics with empty levels (see mqtt-broker.test.ts).
    emptyLevels: false,
    start: async () => {
      const b = await startAedesBroker();
      return { url: b.url, stop: () => b.close() };
    },
  },
  {
    name: 'Mosquitto',
    skip: !hasMosquitto,
    emptyLevels: true,
    start: async () => {
      const m = await startMosquitto();
      return { url: m.url, stop: () => m.stop() };
    },
  },
];

describe.each(BROKERS)('fuzz: malformed MQTT input through $name', ({ name, skip, emptyLevels, start }) => {
  let broker: { url: string; stop: () => Promise<void> } | undefined;
  let pub: mqtt.MqttClient | undefined;
  let src: MqttSource | undefined;

  beforeAll(async () => {
    if (skip) return;
    broker = await start();
    pub = await mqtt.connectAsync(broker.url, { clientId: `fuzz-publisher-${name.split(' ')[0]}` });
  });
  afterAll(async () => {
    await src?.stop();
    await pub?.endAsync(true);
    await broker?.stop();
  });

  it.skipIf(skip)(`${BAD_MESSAGES} bad messages among good ones: the source stays up, every rejection is counted, the KPIs are those of the good messages`, { timeout: 60_000 }, async () => {
    const cfg = configFor(broker!.url);
    const store = new Store({ path: ':memory:' });
    const pipeline = createPipeline(cfg, store, systemClock);
    const warnings: string[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          warnings.push(chunk.toString());
          cb();
        },
      }),
    );
    src = mqttSource.create(
      { ...(cfg.sources[0] as MqttSourceConfig), clientId: `fuzz-${name.split(' ')[0]}` },
      { id: 'fuzz', logger, clock: systemClock, agentId: 'fuzz', isMachine: (p) => pipeline.hasMachine(p), baseDir: process.cwd() },
    );
    await src.start({ samples: (b) => pipeline.ingest(b), reject: (r, m) => pipeline.reject(r, m) });
    expect(src.health().status).toBe('ok');

    // Good data ends minutes before now, so the windows that rejections open at arrival time stay empty.
    const now = Date.now();
    const startTs = now - 20 * 60_000;
    const good = goodMessages(startTs);
    const bad = fc.sample(badMessageArb(now - 60_000, emptyLevels), { seed: SEED, numRuns: BAD_MESSAGES });
    bad.push(...[1, 2, 3].map((i) => ({ topic: KNOWN_TOPICS[0]!, payload: Buffer.alloc(i << 20, 0x7b), expect: 'payload_too_large' as const })));

    const expected: Record<string, number> = {};
    let delivered = 0;
    for (const b of bad) {
      if (b.expect === 'not_delivered') continue;
      delivered++;
      expected[b.expect] = (expected[b.expect] ?? 0) + 1;
    }
    // Every deterministic reason is exercised (unmatched_topic only where the broker delivers empty levels).
    expect(Object.keys(expected).sort()).toEqual(
      ['invalid_json', 'invalid_seq', 'invalid_timestamp', 'no_mapped_fields', 'not_an_object', 'payload_too_large', 'unknown_machine', 'wrong_type', ...(emptyLevels ? ['unmatched_topic'] : [])].sort(),
    );
    expect(bad.length - delivered).toBeGreaterThan(100);

    // Interleave: one good message after every few bad ones; QoS 1 keeps each topic in order.
    const stream: { topic: string; payload: Buffer | string }[] = [];
    const every = Math.floor(bad.length / good.length);
    let g = 0;
    bad.forEach((b, i) => {
      stream.push(b);
      if (i % every === every - 1 && g < good.length) stream.push({ topic: good[g]!.topic, payload: JSON.stringify(good[g++]!.payload) });
    });
    while (g < good.length) stream.push({ topic: good[g]!.topic, payload: JSON.stringify(good[g++]!.payload) });
    for (let i = 0; i < stream.length; i += 200) {
      await Promise.all(stream.slice(i, i + 200).map((m) => pub!.publishAsync(m.topic, m.payload, { qos: 1 })));
    }
    await waitFor('every deliverable message', () => src!.counters().messages >= good.length + delivered);

    expect(src.health().status).toBe('ok');
    expect(src.counters()).toMatchObject({ messages: good.length + delivered, rejected: delivered, reconnects: 0, sink_errors: 0 });
    expect(src.rejectedByReason()).toEqual(expected);
    expect(Object.fromEntries(pipeline.stats().ingest.rejected)).toEqual(expected);
    expect(pipeline.stats().ingest.samples).toBe(good.length * 2);
    // Rate-limited logging: one warning per machine and reason in this run (rejectLogInterval is 60 s), not one per message.
    const warnLines = warnings.map((l) => JSON.parse(l) as { level: number; reason?: string; machine?: string }).filter((l) => l.level === 40);
    const keys = warnLines.map((l) => `${l.machine ?? '-'} ${l.reason}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect([...new Set(warnLines.map((l) => l.reason))].sort()).toEqual(Object.keys(expected).sort());
    expect(warnLines.length).toBeLessThanOrEqual(Object.keys(expected).length * (MACHINES.length + 1));

    pipeline.flushAll();
    expect(pipeline.stats().commits.commitErrors).toBe(0);
    const live = store.queryAggregates();
    const want = replay(cfg, good.map((m) => ({ arrival: now, topic: m.topic, payload: m.payload })));
    expect(want.stats.rollovers).toBeGreaterThan(0);
    expect(live.length).toBe(want.aggregates.length);
    expect(diffWindows(flat(live), new Map(flat(want.aggregates).map((w) => [`${w.machine}@${w.window_start}`, w]))).slice(0, 20)).toEqual([]);
    const qualities = (aggs: readonly Aggregate[]) => Object.fromEntries(aggs.map((a) => [`${a.machine}@${a.windowStart}`, a.quality]));
    expect(qualities(live)).toEqual(qualities(want.aggregates));
    expect(Object.prototype).not.toHaveProperty('good');
  });
});
