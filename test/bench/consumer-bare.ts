/**
 * The `bare` consumer (a child process of run.ts): an mqtt.js client that subscribes and, per
 * message, parses the JSON and adds the increments to a per-machine 60 s window (bare.ts). It
 * loads mqtt.js and nothing of the agent, so its CPU and memory are the floor the agent is held to.
 *
 * At `--qos 1` mqtt.js acknowledges each message as soon as the handler returns, as any plain
 * mqtt.js consumer does.
 *
 * Usage: node --import tsx test/bench/consumer-bare.ts --url mqtt://127.0.0.1:PORT --expected N [--qos 0|1] [--profile FILE]
 */
import { connect } from 'mqtt';
import { parseArgs } from 'node:util';
import { BareWindows } from './bare.js';
import { qosArg, TOPIC_TEMPLATE, type ConsumerResult, type DrainMessage } from './common.js';
import { Meter } from './meter.js';

const { values } = parseArgs({ options: { url: { type: 'string' }, expected: { type: 'string' }, qos: { type: 'string' }, profile: { type: 'string' } } });
if (values.url === undefined || values.expected === undefined) throw new Error('consumer-bare needs --url and --expected.');

const qos = qosArg(values.qos);
const meter = new Meter(Number(values.expected), values.profile);
const windows = new BareWindows();
const filter = TOPIC_TEMPLATE.replace(/\{(site|area|line|machine)\}/g, '+');

// MQTT 5 like the agent's source, so both get the same packets from the broker.
// At QoS 1 the same in-flight window as the agent's source (its default receiveMaximum): without one,
// Mosquitto lets an MQTT 5 client have max_inflight_messages (20) in flight and drops what overflows
// its queue behind them.
const client = connect(values.url, {
  clientId: `yieldwatch-bench-bare-${process.pid}`,
  protocolVersion: 5,
  clean: true,
  reconnectPeriod: 0,
  ...(qos === 1 ? { properties: { receiveMaximum: 10_000 } } : {}),
});
client.on('error', (err) => {
  console.error(`bare consumer: MQTT error: ${err.message}`);
  process.exit(2);
});
client.on('message', (topic, payload) => {
  windows.add(topic, payload);
  meter.hit();
});
client.on('connect', () => {
  client.subscribe(filter, { qos }, (err) => {
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
