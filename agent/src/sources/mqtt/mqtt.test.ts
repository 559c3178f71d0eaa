import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAedesBroker, type AedesBroker } from '../../../../test/helpers/aedes-broker.js';
import { freePort } from '../../../../test/helpers/free-port.js';
import { requireBinary } from '../../../../test/helpers/require-binary.js';
import { systemClock, VirtualClock, type Scheduler } from '../../core/clock.js';
import { parseDuration } from '../../core/duration.js';
import type { CommitGate } from '../../core/commit-gate.js';
import type { PluginContext } from '../../core/plugin.js';
import type { Sample } from '../../core/sample.js';
import { CollectingSink } from '../../../../test/helpers/sources.js';
import { mqttSourceSchema, type MqttTopicConfig } from './config.js';
import { redactUrl } from '../../connections/mqtt/connection.js';
import { mqttSource, topicFilter, type MqttSource } from './index.js';
import { MqttMapper, REJECT_REASONS, type RejectReason } from './map.js';
import { waitFor } from '../../../../test/helpers/wait.js';

const HERE = new URL('./', import.meta.url);

function topic(t: Partial<MqttTopicConfig> & { topic: string; fields: MqttTopicConfig['fields'] }): MqttTopicConfig {
  return { ...t } as MqttTopicConfig;
}

function mapOne(mapper: MqttMapper, t: string, payload: unknown): { reason: RejectReason | undefined; samples: Sample[]; machine: string | undefined } {
  const out: Sample[] = [];
  const raw = typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload);
  const reason = mapper.map(t, raw, out);
  return { reason, samples: out, machine: mapper.lastMachine };
}

describe('MqttMapper edge cases', () => {
  const known = new Set(['p1/a1/l1/m1', 'p1/l1/m1', 'p2/a9/l3/m7']);
  const isMachine = (p: string) => known.has(p);

  it('captures site, area, line and machine from the topic', () => {
    const m = new MqttMapper([topic({ topic: '{site}/{area}/{line}/{machine}/data', fields: { parts_good: 'good' } })], 'src', isMachine, 1024);
    const r = mapOne(m, 'p2/a9/l3/m7/data', { good: 4 });
    expect(r.reason).toBeUndefined();
    expect(r.samples).toEqual([{ machine: 'p2/a9/l3/m7', signal: 'parts_good', value: 4, ts: undefined, seq: undefined, source: 'src' }]);
  });

  it('fills fixed site and area when the template does not capture them', () => {
    const m = new MqttMapper([topic({ topic: 'factory/{line}/{machine}', site: 'p1', area: 'a1', fields: { parts_good: 'good' } })], 'src', isMachine, 1024);
    expect(mapOne(m, 'factory/l1/m1', { good: 1 }).samples[0]?.machine).toBe('p1/a1/l1/m1');
    // Without an area the path has three levels.
    const m3 = new MqttMapper([topic({ topic: 'factory/{line}/{machine}', site: 'p1', fields: { parts_good: 'good' } })], 'src', isMachine, 1024);
    expect(mapOne(m3, 'factory/l1/m1', { good: 1 }).samples[0]?.machine).toBe('p1/l1/m1');
  });

  it('captures the area while the site is fixed', () => {
    const m = new MqttMapper([topic({ topic: '{area}/{line}/{machine}', site: 'p2', fields: { parts_good: 'good' } })], 'src', isMachine, 1024);
    expect(mapOne(m, 'a9/l3/m7', { good: 1 }).machine).toBe('p2/a9/l3/m7');
  });

  it('reaches into nested objects with dotted fields, and skips null or missing ones', () => {
    const m = new MqttMapper(
      [topic({ topic: '{site}/{line}/{machine}', fields: { parts_good: 'counters.good', parts_scrap: 'counters.scrap.total', state: 'status.state' } })],
      'src',
      isMachine,
      1024,
    );
    const r = mapOne(m, 'p1/l1/m1', { counters: { good: 10, scrap: { total: 2 } }, status: { state: null } });
    expect(r.reason).toBeUndefined();
    expect(r.samples.map((s) => [s.signal, s.value])).toEqual([
      ['parts_good', 10],
      ['parts_scrap', 2],
    ]);
    // A dotted path through a scalar finds nothing.
    expect(mapOne(m, 'p1/l1/m1', { counters: 5 }).reason).toBe('no_mapped_fields');
  });

  it('reads epoch seconds (fractions included), epoch milliseconds and ISO 8601 timestamps', () => {
    const mk = (format: 'epoch_ms' | 'epoch_s' | 'iso8601') =>
      new MqttMapper([topic({ topic: '{site}/{line}/{machine}', fields: { parts_good: 'good' }, timestamp: { field: 'meta.t', format } })], 'src', isMachine, 1024);
    expect(mapOne(mk('epoch_s'), 'p1/l1/m1', { good: 1, meta: { t: 1767225600.25 } }).samples[0]?.ts).toBe(1767225600250);
    expect(mapOne(mk('epoch_ms'), 'p1/l1/m1', { good: 1, meta: { t: 1767225600250 } }).samples[0]?.ts).toBe(1767225600250);
    expect(mapOne(mk('iso8601'), 'p1/l1/m1', { good: 1, meta: { t: '2026-01-01T00:00:00.250Z' } }).samples[0]?.ts).toBe(1767225600250);
    expect(mapOne(mk('iso8601'), 'p1/l1/m1', { good: 1, meta: { t: '2026-01-01T01:00:00+01:00' } }).samples[0]?.ts).toBe(1767225600000);
  });

  it('rejects timestamps of the wrong type or that do not parse', () => {
    const iso = new MqttMapper([topic({ topic: '{site}/{line}/{machine}', fields: { parts_good: 'good' }, timestamp: { field: 'ts', format: 'iso8601' } })], 'src', isMachine, 1024);
    const ms = new MqttMapper([topic({ topic: '{site}/{line}/{machine}', fields: { parts_good: 'good' }, timestamp: { field: 'ts', format: 'epoch_ms' } })], 'src', isMachine, 1024);
    expect(mapOne(iso, 'p1/l1/m1', { good: 1, ts: 'yesterday' }).reason).toBe('invalid_timestamp');
    expect(mapOne(iso, 'p1/l1/m1', { good: 1, ts: 1767225600000 }).reason).toBe('invalid_timestamp');
    expect(mapOne(ms, 'p1/l1/m1', { good: 1, ts: '1767225600000' }).reason).toBe('invalid_timestamp');
    expect(mapOne(ms, 'p1/l1/m1', '{"good":1,"ts":1e400}').reason).toBe('invalid_timestamp');
  });

  it('uses the arrival time (ts undefined) when the timestamp is null or missing', () => {
    const m = new MqttMapper([topic({ topic: '{site}/{line}/{machine}', fields: { parts_good: 'good' }, timestamp: { field: 'ts', format: 'epoch_ms' } })], 'src', isMachine, 1024);
    expect(mapOne(m, 'p1/l1/m1', { good: 1, ts: null }).samples[0]?.ts).toBeUndefined();
    expect(mapOne(m, 'p1/l1/m1', { good: 1 }).samples[0]?.ts).toBeUndefined();
  });

  it('rejects wrong value types without appending a partial message', () => {
    const m = new MqttMapper(
      [topic({ topic: '{site}/{line}/{machine}', fields: { parts_good: 'good', parts_scrap: 'scrap', state: 'state' }, seqField: 'seq' })],
      'src',
      isMachine,
      1024,
    );
    for (const bad of [{ good: 1, scrap: '2' }, { good: true }, { good: 1, state: 3 }, { good: { v: 1 } }, { good: [1] }]) {
      const out: Sample[] = [];
      expect(m.map('p1/l1/m1', JSON.stringify(bad), out)).toBe('wrong_type');
      expect(out).toEqual([]);
    }
    expect(mapOne(m, 'p1/l1/m1', { good: 1, seq: '7' }).reason).toBe('invalid_seq');
    expect(mapOne(m, 'p1/l1/m1', { good: 1, seq: 7 }).samples[0]?.seq).toBe(7);
  });

  it('a scrap reason code may be a string or a number, and comes first in its message whatever the mapping order', () => {
    const m = new MqttMapper([topic({ topic: '{site}/{line}/{machine}', fields: { parts_scrap: 'scrap', scrap_reason: 'reason' } })], 'src', isMachine, 1024);
    expect(mapOne(m, 'p1/l1/m1', { scrap: 4, reason: 17 }).samples.map((x) => [x.signal, x.value])).toEqual([['scrap_reason', 17], ['parts_scrap', 4]]);
    expect(mapOne(m, 'p1/l1/m1', { scrap: 4, reason: 'burr' }).samples[0]?.value).toBe('burr');
    expect(mapOne(m, 'p1/l1/m1', { scrap: 4, reason: true }).reason).toBe('wrong_type');
  });

  it('scrap per reason: one field per code, or one object keyed by code, each a parts_scrap sample of its reason', () => {
    const byField = new MqttMapper([topic({ topic: '{site}/{line}/{machine}', fields: { parts_good: 'good' }, scrapByReason: { fields: { burr: 'scrap.b', '17': 'scrap.c' } } })], 'src', isMachine, 1024);
    expect(mapOne(byField, 'p1/l1/m1', { good: 9, scrap: { b: 3, c: 1 } }).samples.map((x) => [x.signal, x.value, x.reason])).toEqual([['parts_good', 9, undefined], ['parts_scrap', 1, '17'], ['parts_scrap', 3, 'burr']]);
    expect(mapOne(byField, 'p1/l1/m1', { good: 9, scrap: { b: '3' } }).reason).toBe('wrong_type');
    const byObject = new MqttMapper([topic({ topic: '{site}/{line}/{machine}', fields: {}, scrapByReason: { object: 'scrap' } })], 'src', isMachine, 1024);
    expect(mapOne(byObject, 'p1/l1/m1', { scrap: { burr: 12, crack: 3, dent: null } }).samples.map((x) => [x.value, x.reason])).toEqual([[12, 'burr'], [3, 'crack']]);
    for (const [payload, reason] of [[{ scrap: { 'two words': 1 } }, 'invalid_reason_code'], [{ scrap: { unassigned: 1 } }, 'invalid_reason_code'], [{ scrap: { burr: 'x' } }, 'wrong_type'], [{ scrap: [1] }, 'wrong_type'], [{ scrap: {} }, 'no_mapped_fields']] as const) {
      const got = mapOne(byObject, 'p1/l1/m1', payload);
      expect(got.reason, JSON.stringify(payload)).toBe(reason);
      expect(got.samples).toEqual([]);
    }
  });

  it('scrap per reason as an object: a reason that first shows up after the machine\'s first message gets a 0 reading just before its value', () => {
    const m = new MqttMapper([topic({ topic: '{site}/{line}/{machine}', fields: {}, scrapByReason: { object: 'scrap' } })], 'src', isMachine, 1024);
    const reasons = (payload: unknown) => mapOne(m, 'p1/l1/m1', payload).samples.map((x) => `${x.reason}=${x.value}`);
    expect(reasons({ scrap: { burr: 40, dent: 7 } })).toEqual(['burr=40', 'dent=7']);
    expect(reasons({ scrap: { burr: 41, crack: 2 } })).toEqual(['burr=41', 'crack=0', 'crack=2']);
    expect(reasons({ scrap: { burr: 41, crack: 3 } })).toEqual(['burr=41', 'crack=3']);
    // Another machine has its own first message.
    const m4 = new MqttMapper([topic({ topic: '{site}/{area}/{line}/{machine}', fields: {}, scrapByReason: { object: 'scrap' } })], 'src', isMachine, 1024);
    expect(mapOne(m4, 'p1/a1/l1/m1', { scrap: { crack: 9 } }).samples.map((x) => x.value)).toEqual([9]);
  });

  it('rejects payloads that are not JSON objects', () => {
    const m = new MqttMapper([topic({ topic: '{site}/{line}/{machine}', fields: { parts_good: 'good' } })], 'src', isMachine, 1024);
    expect(mapOne(m, 'p1/l1/m1', '{"good":').reason).toBe('invalid_json');
    expect(mapOne(m, 'p1/l1/m1', Buffer.from([0xff, 0xfe, 0x00])).reason).toBe('invalid_json');
    for (const v of ['[1,2]', '42', '"x"', 'null', 'true']) expect(mapOne(m, 'p1/l1/m1', v).reason).toBe('not_an_object');
    expect(mapOne(m, 'p1/l1/m1', { other: 1 }).reason).toBe('no_mapped_fields');
  });

  it('rejects a too-large payload unparsed, naming its machine', () => {
    const m = new MqttMapper([topic({ topic: '{site}/{line}/{machine}', fields: { parts_good: 'good' } })], 'src', isMachine, 64);
    const big = JSON.stringify({ good: 1, pad: 'x'.repeat(64) });
    const r = mapOne(m, 'p1/l1/m1', big);
    expect(r.reason).toBe('payload_too_large');
    expect(r.machine).toBe('p1/l1/m1');
    expect(mapOne(m, 'p1/l1/m1', { good: 1 }).reason).toBeUndefined();
  });

  it('tells unknown machines from unmatched topics', () => {
    const m = new MqttMapper([topic({ topic: '{site}/{line}/{machine}/counters', fields: { parts_good: 'good' } })], 'src', isMachine, 1024);
    expect(mapOne(m, 'p1/l1/m9/counters', { good: 1 })).toMatchObject({ reason: 'unknown_machine', machine: undefined });
    expect(mapOne(m, 'p1/l1/m1/other', { good: 1 }).reason).toBe('unmatched_topic');
    expect(mapOne(m, 'p1//m1/counters', { good: 1 }).reason).toBe('unmatched_topic');
    expect(mapOne(m, 'p1/l1/m1', { good: 1 }).reason).toBe('unmatched_topic');
  });

  it('20,000 different unknown topics: each is a counted rejection, none is remembered, a known machine still maps', () => {
    const m = new MqttMapper([topic({ topic: '{site}/{line}/{machine}/counters', fields: { parts_good: 'good' } })], 'src', isMachine, 1024);
    const reasons = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const r = mapOne(m, `p1/l${i % 97}/scan-${i}/counters`, { good: i }).reason!;
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
    }
    expect(Object.fromEntries(reasons)).toEqual({ unknown_machine: 20_000 });
    // Only routes to configured machines are cached: a topic scan cannot grow memory.
    expect((m as unknown as { routes: Map<string, unknown> }).routes.size).toBe(0);
    expect(mapOne(m, 'p1/l1/m1/counters', { good: 1 })).toMatchObject({ reason: undefined, machine: 'p1/l1/m1' });
  });

  it('does not let __proto__ keys reach fields or pollute prototypes', () => {
    const m = new MqttMapper([topic({ topic: '{site}/{line}/{machine}', fields: { parts_good: 'good', parts_scrap: 'c.scrap' } })], 'src', isMachine, 1024);
    expect(mapOne(m, 'p1/l1/m1', '{"__proto__":{"good":5,"polluted":1}}').reason).toBe('no_mapped_fields');
    expect(mapOne(m, 'p1/l1/m1', '{"c":{"__proto__":{"scrap":5}}}').reason).toBe('no_mapped_fields');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).good).toBeUndefined();
  });
});

describe('topic filters and URLs', () => {
  it('turns every placeholder level into +', () => {
    expect(topicFilter('{site}/{area}/{line}/{machine}/counters')).toBe('+/+/+/+/counters');
    expect(topicFilter('plant1/{line}/{machine}')).toBe('plant1/+/+');
  });

  it('removes credentials from broker URLs', () => {
    expect(redactUrl('mqtts://user:secret@broker:8883')).toBe('mqtts://broker:8883');
    expect(redactUrl('mqtt://127.0.0.1:1883')).toBe('mqtt://127.0.0.1:1883');
  });
});

describe('docs and sample', () => {
  it('sample.yaml is a sources entry that validates', () => {
    const doc = parseYaml(readFileSync(new URL('sample.yaml', HERE), 'utf8')) as { sources: unknown[] };
    expect(doc.sources.length).toBeGreaterThan(0);
    for (const s of doc.sources) {
      const r = mqttSourceSchema.safeParse(s);
      expect(r.success, r.success ? '' : JSON.stringify(r.error.issues)).toBe(true);
    }
  });

  it('README defaults are the schema defaults', () => {
    const readme = readFileSync(new URL('README.md', HERE), 'utf8');
    const defaults = mqttSourceSchema.parse({ type: 'mqtt', url: 'mqtt://127.0.0.1', topics: [{ topic: '{site}/{line}/{machine}', fields: { parts_good: 'g' } }] }) as Record<string, unknown>;
    const rows = [...readme.matchAll(/^\| `(\w+)` \| `([^`]+)` \|/gm)].filter((m) => m[1]! in mqttSourceSchema.shape);
    expect(rows.length).toBeGreaterThanOrEqual(8);
    for (const [, key, text] of rows) {
      const value = /^\d+$/.test(text!) ? Number(text) : (parseDuration(text!) ?? text);
      expect([key, value]).toEqual([key, defaults[key!]]);
    }
  });

  it('README lists every rejection reason and every config key', () => {
    const readme = readFileSync(new URL('README.md', HERE), 'utf8');
    for (const r of REJECT_REASONS) expect(readme).toContain(`| \`${r}\``);
    for (const k of Object.keys(mqttSourceSchema.shape)) expect(readme).toContain(k);
  });
});

// ---------------------------------------------------------------------------------------------
// The source against an in-process broker.

/** A pino logger whose JSON lines land in `lines`. */
function captureLogger(level = 'debug'): { logger: pino.Logger; lines: Record<string, unknown>[]; raw: () => string } {
  const lines: Record<string, unknown>[] = [];
  let text = '';
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level }, dest), lines, raw: () => text };
}

const MACHINES = new Set(['p1/l1/m1', 'p1/l1/m2']);

function ctxFor(opts: { logger?: pino.Logger; clock?: Scheduler; baseDir?: string } = {}): PluginContext {
  return {
    id: 'unit',
    logger: opts.logger ?? pino({ level: 'silent' }),
    clock: opts.clock ?? systemClock,
    agentId: 'test',
    isMachine: (p) => MACHINES.has(p),
    baseDir: opts.baseDir ?? process.cwd(),
  };
}

function sourceConfig(url: string, extra: Record<string, unknown> = {}) {
  return mqttSourceSchema.parse({
    type: 'mqtt',
    id: 'unit',
    url,
    reconnectMin: '50ms',
    reconnectMax: '400ms',
    topics: [{ topic: '{site}/{line}/{machine}/counters', fields: { parts_good: 'good', state: 'state' }, timestamp: { field: 'ts' } }],
    ...extra,
  });
}

describe('mqtt source against an aedes broker', () => {
  let broker: AedesBroker;
  let pub: mqtt.MqttClient;
  const sources: MqttSource[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    broker = await startAedesBroker();
    pub = await mqtt.connectAsync(broker.url, { clientId: 'unit-publisher' });
  });
  afterEach(async () => {
    await Promise.all(sources.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await pub.endAsync();
    await broker.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  function create(url: string, ctx: PluginContext, extra: Record<string, unknown> = {}): MqttSource {
    const s = mqttSource.create(sourceConfig(url, extra), ctx);
    sources.push(s);
    return s;
  }

  it('create() does no I/O; start() connects, subscribes and delivers samples', async () => {
    const src = create(broker.url, ctxFor(), { clientId: 'unit-deliver' });
    expect(src.health()).toEqual({ status: 'down', reason: 'not started' });
    expect(src.counters()).toMatchObject({ messages: 0, rejected: 0, reconnects: 0, bytes: 0 });
    const sink = new CollectingSink();
    await src.start(sink);
    expect(src.health().status).toBe('ok');
    // aedes speaks MQTT 3.1.1 only: the source falls back and still keeps a persistent session.
    expect(src.health().details).toMatchObject({ protocolVersion: 4 });
    const payload = JSON.stringify({ good: 7, state: 'running', ts: 1767225600000 });
    await pub.publishAsync('p1/l1/m1/counters', payload, { qos: 1 });
    await waitFor('two samples', () => sink.got.length === 2);
    expect(sink.got).toEqual([
      { machine: 'p1/l1/m1', signal: 'parts_good', value: 7, ts: 1767225600000, seq: undefined, source: 'unit' },
      { machine: 'p1/l1/m1', signal: 'state', value: 'running', ts: 1767225600000, seq: undefined, source: 'unit' },
    ]);
    expect(src.counters()).toMatchObject({ messages: 1, rejected: 0, bytes: payload.length });
  });

  it('counts rejections by reason, keeps delivering, and logs each machine and reason at most once per interval', async () => {
    const log = captureLogger('info');
    const clock = new VirtualClock(1_000_000);
    const src = create(broker.url, ctxFor({ logger: log.logger, clock }), { clientId: 'unit-reject', rejectLogInterval: '60s', maxPayloadBytes: 256 });
    const sink = new CollectingSink();
    await src.start(sink);
    const sendAll = async (items: [string, string | Buffer][]) => {
      for (const [t, p] of items) await pub.publishAsync(t, p, { qos: 1 });
    };
    await sendAll([
      ['p1/l1/m1/counters', 'not json'],
      ['p1/l1/m1/counters', '{"good":"12"}'],
      ['p1/l1/m9/counters', '{"good":1}'],
      ['p1/l1/m1/counters', 'also {not json'],
      ['p1/l1/m2/counters', JSON.stringify({ good: 1, pad: 'x'.repeat(300) })],
      ['p1/l1/m1/counters', '{"good":3}'],
    ]);
    await waitFor('six messages', () => src.counters().messages === 6);
    expect(src.rejectedByReason()).toEqual({ invalid_json: 2, wrong_type: 1, unknown_machine: 1, payload_too_large: 1 });
    expect(src.counters().rejected).toBe(5);
    expect(sink.rejects).toEqual([
      ['invalid_json', 'p1/l1/m1'],
      ['wrong_type', 'p1/l1/m1'],
      ['unknown_machine', undefined],
      ['invalid_json', 'p1/l1/m1'],
      ['payload_too_large', 'p1/l1/m2'],
    ]);
    expect(sink.got.map((s) => s.value)).toEqual([3]);
    const warns = () => log.lines.filter((l) => l.level === 40);
    // One line per reason so far; the second invalid_json was only counted.
    expect(warns().map((l) => l.reason)).toEqual(['invalid_json', 'wrong_type', 'unknown_machine', 'payload_too_large']);
    expect(warns()[0]).toMatchObject({ topic: 'p1/l1/m1/counters', payload: 'not json', count: 1 });
    expect(String(warns()[3]!.payload).length).toBeLessThan(100);
    // After the interval the next one is logged with the count since the last line.
    clock.set(1_000_000 + 60_000);
    await sendAll([['p1/l1/m1/counters', '}']]);
    await waitFor('seventh message', () => src.counters().messages === 7);
    expect(warns().at(-1)).toMatchObject({ reason: 'invalid_json', count: 2, payload: '}' });
    // Another machine's first bad message is not hidden behind m1's; m1's next one is only counted.
    const before = warns().length;
    await sendAll([['p1/l1/m2/counters', 'bad'], ['p1/l1/m1/counters', 'bad']]);
    await waitFor('ninth message', () => src.counters().messages === 9);
    expect(warns().slice(before)).toEqual([expect.objectContaining({ reason: 'invalid_json', machine: 'p1/l1/m2', count: 1 })]);
  });

  it('a 5 MiB payload is rejected unparsed (payload_too_large) and the next message is delivered', async () => {
    const src = create(broker.url, ctxFor(), { clientId: 'unit-huge-payload' });
    const sink = new CollectingSink();
    await src.start(sink);
    await pub.publishAsync('p1/l1/m1/counters', Buffer.alloc(5 << 20, 0x7b), { qos: 1 });
    await pub.publishAsync('p1/l1/m1/counters', '{"good":4}', { qos: 1 });
    await waitFor('both messages', () => src.counters().messages === 2);
    expect(src.rejectedByReason()).toEqual({ payload_too_large: 1 });
    expect(sink.got.map((x) => x.value)).toEqual([4]);
    expect(src.health().status).toBe('ok');
  });

  it('keeps delivering when the sink throws', async () => {
    const src = create(broker.url, ctxFor(), { clientId: 'unit-throwing-sink' });
    let calls = 0;
    await src.start({
      samples: () => {
        calls++;
        if (calls === 1) throw new Error('boom');
      },
      reject: () => undefined,
    });
    await pub.publishAsync('p1/l1/m1/counters', '{"good":1}', { qos: 1 });
    await pub.publishAsync('p1/l1/m1/counters', '{"good":2}', { qos: 1 });
    await waitFor('both messages', () => calls === 2);
    expect(src.counters()).toMatchObject({ messages: 2, sink_errors: 1 });
    expect(src.health().status).toBe('ok');
  });

  /** A commit gate whose commits the test makes (core/commit-gate.ts). */
  function testGate(): CommitGate & { holds: number; commits: number; commit(): void } {
    const listeners = new Set<() => void>();
    const gate = {
      holds: 0,
      commits: 0,
      hold: () => void gate.holds++,
      commit: () => {
        gate.commits++;
        for (const fn of listeners) fn();
      },
      commitNow: () => (gate.commit(), true),
      onCommitted: (fn: () => void) => (listeners.add(fn), () => void listeners.delete(fn)),
      persist: () => undefined,
    };
    return gate;
  }

  /** Payloads of the PUBLISHes whose PUBACK reached the broker. */
  function brokerAcks(b: AedesBroker): string[] {
    const acked: string[] = [];
    b.broker.on('ack', (packet) => {
      if (packet !== undefined && packet !== null && 'payload' in packet) acked.push(String(packet.payload));
    });
    return acked;
  }

  it('with a commit gate, acknowledges a QoS 1 message only after the next commit, and does not apply a redelivery twice', async () => {
    const acked = brokerAcks(broker);
    const gate = testGate();
    const got = new CollectingSink();
    const src = create(broker.url, ctxFor(), { clientId: 'unit-held' });
    await src.start({ samples: (b) => got.samples(b), reject: (r, m) => got.reject(r, m), commits: gate });
    await pub.publishAsync('p1/l1/m1/counters', '{"good":1}', { qos: 1 });
    await pub.publishAsync('p1/l1/m1/counters', '{"good":2}', { qos: 1 });
    await waitFor('both messages', () => got.got.length === 2);
    expect(gate.holds).toBe(2);
    await new Promise((r) => setTimeout(r, 100));
    expect(acked).toEqual([]);
    // The connection drops before the commit; the resumed session brings both again.
    (src as unknown as { client: mqtt.MqttClient }).client.stream.destroy();
    await waitFor('the redeliveries', () => src.counters().redelivered === 2);
    expect(got.got.map((x) => x.value)).toEqual([1, 2]);
    expect(gate.holds).toBe(4);
    gate.commit();
    await waitFor('two PUBACKs', () => acked.length === 2);
    expect(acked).toEqual(['{"good":1}', '{"good":2}']);
  });

  it('stop() commits and acknowledges what was applied before it disconnects', async () => {
    const acked = brokerAcks(broker);
    const gate = testGate();
    const got = new CollectingSink();
    const src = create(broker.url, ctxFor(), { clientId: 'unit-held-stop' });
    await src.start({ samples: (b) => got.samples(b), reject: (r, m) => got.reject(r, m), commits: gate });
    await pub.publishAsync('p1/l1/m2/counters', '{"good":5}', { qos: 1 });
    await waitFor('the message', () => got.got.length === 1);
    expect(acked).toEqual([]);
    await src.stop();
    expect(gate.commits).toBe(1);
    await waitFor('its PUBACK', () => acked.length === 1);
  });

  it('without a commit gate (or at QoS 0) nothing waits', async () => {
    const acked = brokerAcks(broker);
    const gate = testGate();
    const src = create(broker.url, ctxFor(), { clientId: 'unit-qos0', qos: 0 });
    const got = new CollectingSink();
    await src.start({ samples: (b) => got.samples(b), reject: (r, m) => got.reject(r, m), commits: gate });
    await pub.publishAsync('p1/l1/m1/counters', '{"good":9}', { qos: 1 });
    await waitFor('the message', () => got.got.length === 1);
    expect(gate.holds).toBe(0);
    const plain = create(broker.url, ctxFor(), { clientId: 'unit-no-gate' });
    await plain.start(new CollectingSink());
    await pub.publishAsync('p1/l1/m1/counters', '{"good":10}', { qos: 1 });
    await waitFor('the PUBACK without a commit', () => acked.includes('{"good":10}'));
  });

  it('reports an unreachable broker, backs off doubling up to reconnectMax, and connects when the broker appears', async () => {
    const port = await freePort();
    const log = captureLogger('debug');
    const src = create(`mqtt://127.0.0.1:${port}`, ctxFor({ logger: log.logger }), { clientId: 'unit-backoff' });
    await src.start(new CollectingSink());
    expect(src.health()).toMatchObject({ status: 'down', reason: 'broker unreachable: ECONNREFUSED' });
    const retries = () => log.lines.filter((l) => typeof l.retryInMs === 'number').map((l) => l.retryInMs);
    await waitFor('five failed attempts', () => retries().length >= 5);
    expect(retries().slice(0, 5)).toEqual([50, 100, 200, 400, 400]);
    expect(log.lines.filter((l) => l.level === 40)).toHaveLength(1);
    const late = await startAedesBroker({ port });
    try {
      await waitFor('connected', () => src.health().status === 'ok');
      expect(src.counters().reconnects).toBeGreaterThanOrEqual(4);
    } finally {
      await src.stop();
      await late.close();
    }
  });

  it('authenticates with username and password and never logs the password', async () => {
    const secure = await startAedesBroker({ credentials: { username: 'agent', password: 's3cr3t-pw' } });
    try {
      const log = captureLogger('debug');
      const bad = create(secure.url, ctxFor({ logger: log.logger }), { clientId: 'unit-auth-bad', username: 'agent', password: 'wr0ng-pw' });
      await bad.start(new CollectingSink());
      await waitFor('refusal', () => /refused/.test(bad.health().reason ?? ''));
      expect(bad.health()).toMatchObject({ status: 'down', reason: 'broker refused the connection: Not authorized' });
      await bad.stop();
      const good = create(secure.url, ctxFor({ logger: log.logger }), { clientId: 'unit-auth-good', username: 'agent', password: 's3cr3t-pw' });
      await good.start(new CollectingSink());
      expect(good.health().status).toBe('ok');
      expect(log.raw()).not.toContain('s3cr3t-pw');
      expect(log.raw()).not.toContain('wr0ng-pw');
    } finally {
      await Promise.all(sources.splice(0).map((s) => s.stop()));
      await secure.close();
    }
  });

  it('reports a refused subscription as degraded, naming the filter', async () => {
    const strict = await startAedesBroker({ denySubscribe: (f) => f.startsWith('secret/') });
    try {
      const src = create(strict.url, ctxFor(), {
        clientId: 'unit-acl',
        topics: [
          { topic: '{site}/{line}/{machine}/counters', fields: { parts_good: 'good' } },
          { topic: 'secret/{site}/{line}/{machine}', fields: { parts_good: 'good' } },
        ],
      });
      await src.start(new CollectingSink());
      expect(src.health()).toMatchObject({ status: 'degraded', reason: expect.stringMatching(/^broker refused the subscription to secret\/\+\/\+\/\+: /) });
    } finally {
      await Promise.all(sources.splice(0).map((s) => s.stop()));
      await strict.close();
    }
  });

  it('subscribes again after reconnecting to a broker that lost the session', async () => {
    const port = await freePort();
    let first: AedesBroker | undefined = await startAedesBroker({ port });
    const log = captureLogger('info');
    const src = create(first.url, ctxFor({ logger: log.logger }), { clientId: 'unit-lost-session' });
    const sink = new CollectingSink();
    try {
      await src.start(sink);
      expect(src.health().status).toBe('ok');
      await first.close();
      first = undefined;
      await waitFor('disconnected', () => src.health().status === 'down');
      expect(src.health().reason).toMatch(/connection lost|ECONN/);
      // A new broker on the same port knows nothing of the session.
      first = await startAedesBroker({ port });
      await waitFor('reconnected and subscribed', () => src.health().status === 'ok');
      expect(src.health().details).toMatchObject({ sessionPresent: false });
      const again = await mqtt.connectAsync(first.url, { clientId: 'unit-lost-session-pub' });
      await again.publishAsync('p1/l1/m2/counters', '{"good":5}', { qos: 1 });
      await again.endAsync();
      await waitFor('the message after the broker restart', () => sink.got.length === 1);
      expect(log.lines.filter((l) => l.level === 40).map((l) => l.msg)).toEqual(['Lost the connection to the MQTT broker; reconnecting with back-off.']);
    } finally {
      await src.stop();
      await first?.close();
    }
  });

  const hasOpenssl = requireBinary('openssl');
  it.skipIf(!hasOpenssl)('connects over TLS with a CA file relative to baseDir, and refuses an unverified broker', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'yw-tls-'));
    dirs.push(dir);
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'cert.pem', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      { cwd: dir, stdio: 'ignore' },
    );
    const tlsBroker = await startAedesBroker({ tls: { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) } });
    try {
      const src = create(tlsBroker.url, ctxFor({ baseDir: dir }), { clientId: 'unit-tls', tls: { ca: 'cert.pem' } });
      const sink = new CollectingSink();
      await src.start(sink);
      expect(src.health().status).toBe('ok');

      const untrusted = create(tlsBroker.url, ctxFor(), { clientId: 'unit-tls-untrusted', tls: {} });
      await untrusted.start(new CollectingSink());
      expect(untrusted.health()).toMatchObject({ status: 'down', reason: expect.stringMatching(/^TLS handshake failed: /) });

      const missing = create(tlsBroker.url, ctxFor({ baseDir: dir }), { clientId: 'unit-tls-missing', tls: { ca: 'nope.pem' } });
      await expect(missing.start(new CollectingSink())).rejects.toThrow(/cannot read its TLS CA file .*nope\.pem/);
    } finally {
      await Promise.all(sources.splice(0).map((s) => s.stop()));
      await tlsBroker.close();
    }
  });
});
