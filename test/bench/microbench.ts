/**
 * The hot path alone, without broker or sockets (a child process of run.ts, one per variant so
 * the JIT of one cannot help or hurt another): pre-built payload Buffers of the 50 machines go
 * through the per-message work of a consumer on one core.
 *
 * Variants:
 * - `yieldwatch`: what the MQTT source does per message — `MqttMapper.map` into a reused batch,
 *   then `Pipeline.ingest` (agent clock, event time, counter to delta, window) or `reject`.
 * - `yieldwatch-map`: `MqttMapper.map` only (topic route + JSON.parse + samples), to split the above.
 * - `bare`: bare.ts — JSON.parse, topic → machine, increments into the 60 s window.
 * - `json-parse`: `JSON.parse(payload.toString())` only, the floor of any JSON consumer.
 *
 * Every message gets a fresh topic string decoded from bytes, as mqtt.js's parser produces one.
 * Each pass starts from fresh state (a counter seen again with the same timestamps would be stale,
 * a cheaper path), so every pass does the same work.
 *
 * Usage: node --import tsx test/bench/microbench.ts --variant NAME [--messages N] [--passes N]
 */
import { parseArgs } from 'node:util';
import { BareWindows } from './bare.js';
import { MACHINES, TOPICS, median, type MicroResult } from './common.js';
import { CounterStream, PAYLOAD_TEMPLATE } from './payload.js';
import type { MqttSourceConfig } from '../../agent/src/sources/mqtt/config.js';

const VARIANTS = ['yieldwatch', 'yieldwatch-map', 'bare', 'json-parse'] as const;
type Variant = (typeof VARIANTS)[number];

const { values } = parseArgs({ options: { variant: { type: 'string' }, messages: { type: 'string' }, passes: { type: 'string' } } });
const variant = values.variant as Variant;
if (!VARIANTS.includes(variant)) throw new Error(`--variant must be one of: ${VARIANTS.join(', ')}`);
const perPass = Number(values.messages ?? 100_000);
const passes = Number(values.passes ?? 10);
const WARMUP_PASSES = 3;

// The messages: round-robin over the machines, stamped as a publisher at 80,000 msg/s with 10 ms ticks would.
const payloadBytes = Buffer.byteLength(PAYLOAD_TEMPLATE);
const all = Buffer.alloc(perPass * payloadBytes);
const stream = new CounterStream(MACHINES.length, perPass);
const payloads: Buffer[] = [];
const machineOf = new Uint8Array(perPass);
const t0 = Date.now();
for (let i = 0; i < perPass; i++) {
  const at = i * payloadBytes;
  all.write(PAYLOAD_TEMPLATE, at, 'latin1');
  const m = i % MACHINES.length;
  stream.next(m, all, at, t0 + Math.floor(i / 800) * 10);
  payloads.push(all.subarray(at, at + payloadBytes));
  machineOf[i] = m;
}
const topicBytes = TOPICS.map((t) => Buffer.from(t));

/**
 * Prepares one pass (fresh state, not timed) and returns it; the pass goes over every message
 * and returns a value that depends on the work, so nothing is optimised away.
 */
type Pass = () => () => number;

async function makePass(): Promise<Pass> {
  if (variant === 'bare') {
    return () => {
      const w = new BareWindows();
      return () => {
        for (let i = 0; i < perPass; i++) {
        const tb = topicBytes[machineOf[i]!]!;
          w.add(tb.toString('utf8', 0, tb.length), payloads[i]!);
        }
        return w.windowCount();
      };
    };
  }
  if (variant === 'json-parse') {
    return () => () => {
      let n = 0;
      for (let i = 0; i < perPass; i++) {
        const tb = topicBytes[machineOf[i]!]!;
        const topic = tb.toString('utf8', 0, tb.length);
        const p = JSON.parse(payloads[i]!.toString('utf8')) as { good: number };
        n += p.good + topic.length;
      }
      return n;
    };
  }
  // The agent's modules are loaded only here, so the bare variants run without them.
  const [{ benchAgentConfig }, { MqttMapper }, { createPipeline }, { Store }, { systemClock }] = await Promise.all([
    import('./agent-config.js'),
    import('../../agent/src/sources/mqtt/map.js'),
    import('../../agent/src/wiring/pipeline-options.js'),
    import('../../agent/src/store/store.js'),
    import('../../agent/src/core/clock.js'),
  ]);
  type Sample = Parameters<ReturnType<typeof createPipeline>['ingest']>[0][number];
  const config = await benchAgentConfig('mqtt://127.0.0.1:1883', '/nonexistent');
  const source = config.sources[0] as MqttSourceConfig;
  const mapOnly = variant === 'yieldwatch-map';
  return () => {
    const store = new Store({ path: ':memory:' });
    const pipeline = createPipeline(config, store, systemClock);
    const mapper = new MqttMapper(source.topics, source.id, (p) => pipeline.hasMachine(p), source.maxPayloadBytes);
    const batch: Sample[] = [];
    return () => {
      let n = 0;
      for (let i = 0; i < perPass; i++) {
        const tb = topicBytes[machineOf[i]!]!;
        const topic = tb.toString('utf8', 0, tb.length);
        batch.length = 0;
        const reason = mapper.map(topic, payloads[i]!, batch);
        if (mapOnly) n += batch.length;
        else if (reason === undefined) pipeline.ingest(batch);
        else pipeline.reject(reason, mapper.lastMachine);
      }
      n += pipeline.stats().ingest.accepted;
      store.close();
      return n;
    };
  };
}

const pass = await makePass();
const rates: number[] = [];
const cpuPerMsg: number[] = [];
let sink = 0;
for (let p = 0; p < WARMUP_PASSES + passes; p++) {
  const run = pass();
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  sink += run();
  const wall = performance.now() - w0;
  const cpu = process.cpuUsage(cpu0);
  if (p < WARMUP_PASSES) continue;
  rates.push(perPass / (wall / 1000));
  cpuPerMsg.push((cpu.user + cpu.system) / perPass);
}
if (sink === -1) console.error('unreachable');

const result: MicroResult = {
  type: 'micro',
  variant,
  messages: perPass,
  msgsPerSec: median(rates),
  cpuUsPerMsg: median(cpuPerMsg),
  passes: rates.map((r) => Math.round(r)),
  cpuPerPass: cpuPerMsg,
};
process.send?.(result, () => process.disconnect());
