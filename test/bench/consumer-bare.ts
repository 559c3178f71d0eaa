/**
 * The `bare` consumer (a child process of run.ts): an mqtt.js client that subscribes and, per
 * message, parses the JSON and adds the increments to a per-machine 60 s window (bare.ts). It
 * loads mqtt.js and nothing of the agent, so its CPU and memory are the floor the agent is held to.
 *
 * Usage: node --import tsx test/bench/consumer-bare.ts --url mqtt://127.0.0.1:PORT --expected N [--profile FILE]
 */
import { connect } from 'mqtt';
import { parseArgs } from 'node:util';
import { BareWindows } from './bare.js';
import { BENCH_QOS, TOPIC_TEMPLATE, type ConsumerResult, type DrainMessage } from './common.js';
import { Meter } from './meter.js';

const { values } = parseArgs({ options: { url: { type: 'string' }, expected: { type: 'string' }, profile: { type: 'string' } } });
if (values.url === undefined || values.expected === undefined) throw new Error('consumer-bare needs --url and --expected.');

const meter = new Meter(Number(values.expected), values.profile);
const windows = new BareWindows();
const filter = TOPIC_TEMPLATE.replace(/\{(site|area|line|machine)\}/g, '+');

// MQTT 5 like the agent's source, so both get the same packets from the broker.
const client = connect(values.url, { clientId: `yieldwatch-bench-bare-${process.pid}`, protocolVersion: 5, clean: true, reconnectPeriod: 0 });
client.on('error', (err) => {
  console.error(`bare consumer: MQTT error: ${err.message}`);
  process.exit(2);
});
client.on('message', (topic, payload) => {
  windows.add(topic, payload);
  meter.hit();
});
client.on('connect', () => {
  client.subscribe(filter, { qos: BENCH_QOS }, (err) => {
    if (err) {
      console.error(`bare consumer: subscription refused: ${err.message}`);
      process.exit(2);
    }
    meter.ready();
  });
});
process.on('message', (m: DrainMessage) => {
  if (m.type === 'drain') meter.drain();
});

const measured = await meter.result();
await client.endAsync(true).catch(() => undefined);
const result: ConsumerResult = {
  type: 'result',
  consumer: 'bare',
  ...measured,
  rejected: 0,
  totals: windows.totals(),
  notes: { windows: windows.windowCount() },
};
process.send?.(result, () => process.disconnect());
