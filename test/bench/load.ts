/**
 * The load generator (a child process of run.ts): 50 machines publishing their counters at a
 * fixed total rate, QoS 0 (or QoS 1 with `--qos 1`). Kept cheap on CPU because it shares the machine with the broker and
 * the consumer under test: every PUBLISH packet is encoded once per machine (mqtt-packet, the
 * encoder mqtt.js uses) and per message only its digits are patched (payload.ts); messages are
 * written in one buffer per 10 ms tick, round-robin over the machines, each stamped with the
 * tick's time.
 *
 * Two modes:
 * - `--port PORT`: an MQTT 3.1.1 client of the broker on 127.0.0.1:PORT (raw TCP after CONNECT);
 *   starts at once.
 * - `--serve`: a stub broker for one subscriber, without Mosquitto: listens on a free 127.0.0.1
 *   port (reported as `{type:'listening', port}`), answers CONNECT (MQTT 3.1.1 or 5), SUBSCRIBE and
 *   PINGREQ, and streams the PUBLISH packets straight to the subscriber after the runner's
 *   `{type:'start'}`; exits after `{type:'stop'}`. The subscriber's TCP backpressure paces it: a
 *   consumer that cannot keep up makes the publisher fall behind, nothing is dropped.
 *
 * At QoS 1 every PUBLISH carries a packet id (1 to 65,535, in turn). As a client the generator
 * reads and ignores the broker's PUBACKs. As the stub broker it behaves like one: it keeps at
 * most the subscriber's Receive Maximum (MQTT 5; 65,535 when it names none) unacknowledged
 * and counts its PUBACKs, so a subscriber that acknowledges late holds the publisher back.
 *
 * Usage: node --import tsx test/bench/load.ts (--port PORT | --serve) --rate MSGS_PER_S --count N [--qos 0|1]
 */
import { generate, parser, type IConnectPacket, type ISubscribePacket, type Packet } from 'mqtt-packet';
import { connect, createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { qosArg, TOPICS, type LoadResult } from './common.js';
import { CounterStream, PAYLOAD_TEMPLATE } from './payload.js';

const TICK_MS = 10;
const CONNACK_TIMEOUT_MS = 10_000;

const { values } = parseArgs({
  options: { port: { type: 'string' }, serve: { type: 'boolean', default: false }, rate: { type: 'string' }, count: { type: 'string' }, qos: { type: 'string' } },
});
const qos = qosArg(values.qos);
const rate = Number(values.rate);
const count = Number(values.count);
if (!(rate > 0) || !(count > 0) || (values.port === undefined) === !values.serve) {
  throw new Error('load needs --port PORT or --serve, and --rate and --count (positive numbers).');
}

interface Template {
  packet: Buffer;
  payloadAt: number;
  /** Where the packet id is (QoS 1), -1 at QoS 0. */
  idAt: number;
}

/** One pre-encoded PUBLISH per machine, for the subscriber's protocol version, and where its payload and packet id are. */
function templates(protocolVersion: 4 | 5): Template[] {
  return TOPICS.map((topic) => {
    const make = (messageId: number): Buffer =>
      generate({ cmd: 'publish', topic, payload: Buffer.from(PAYLOAD_TEMPLATE), qos, messageId, dup: false, retain: false }, { protocolVersion });
    const packet = make(0x1111);
    // The id's offset is where two packets that differ only in their id differ.
    const other = make(0x2222);
    const idAt = qos === 0 ? -1 : packet.findIndex((b, i) => b !== other[i]);
    return { packet, payloadAt: packet.length - Buffer.byteLength(PAYLOAD_TEMPLATE), idAt };
  });
}

/** QoS 1, stub broker: PUBLISHes the subscriber has not acknowledged yet, and how many it allows. */
let inflight = 0;
let receiveMaximum = 65_535;
/** Ticks on which the subscriber's Receive Maximum held the publisher back. */
let windowWaits = 0;

/** Client mode: connects to the broker and waits for its CONNACK. */
function openClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => reject(new Error(`No CONNACK from 127.0.0.1:${port} within ${CONNACK_TIMEOUT_MS} ms.`)), CONNACK_TIMEOUT_MS);
    const p = parser({ protocolVersion: 4 });
    const parse = (d: Buffer): void => void p.parse(d);
    p.on('packet', (packet) => {
      if (packet.cmd !== 'connack') return;
      clearTimeout(timer);
      const code = packet.returnCode ?? 0;
      // After the CONNACK only the broker's PUBACKs come (QoS 1): read and ignored, not parsed.
      socket.off('data', parse);
      socket.on('data', () => undefined);
      if (code !== 0) reject(new Error(`The broker refused the load generator (CONNACK ${code}).`));
      else resolve(socket);
    });
    socket.on('data', parse);
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.once('connect', () => {
      // keepalive 0: no PINGREQ is due however long the run is.
      socket.write(generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: `yieldwatch-bench-load-${process.pid}`, clean: true, keepalive: 0 }));
    });
  });
}

/**
 * Serve mode: resolves with the socket of the first client once it has subscribed, and its
 * protocol version. Keeps answering PINGREQ; a DISCONNECT closes the socket.
 */
function serveOne(): Promise<{ socket: Socket; protocolVersion: 4 | 5 }> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      server.close();
      socket.setNoDelay(true);
      let version: 4 | 5 = 4;
      const p = parser();
      p.on('error', (err: Error) => reject(err));
      p.on('packet', (packet: Packet) => {
        const opts = { protocolVersion: version };
        switch (packet.cmd) {
          case 'connect': {
            const v = (packet as IConnectPacket).protocolVersion;
            version = v === 5 ? 5 : 4;
            receiveMaximum = (packet as IConnectPacket).properties?.receiveMaximum ?? 65_535;
            // The parser reads SUBSCRIBE properties only when it knows the version.
            (p as unknown as { settings: { protocolVersion: number } }).settings.protocolVersion = version;
            socket.write(
              version === 5
                ? generate({ cmd: 'connack', reasonCode: 0, sessionPresent: false, properties: {} }, { protocolVersion: 5 })
                : generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }, { protocolVersion: 4 }),
            );
            break;
          }
          case 'subscribe': {
            const sub = packet as ISubscribePacket;
            socket.write(generate({ cmd: 'suback', messageId: sub.messageId ?? 1, granted: sub.subscriptions.map(() => 0) }, opts));
            resolve({ socket, protocolVersion: version });
            break;
          }
          case 'pingreq':
            socket.write(generate({ cmd: 'pingresp' }, opts));
            break;
          case 'puback':
            inflight--;
            break;
          case 'disconnect':
            socket.end();
            break;
          default:
            break;
        }
      });
      socket.on('data', (d: Buffer) => p.parse(d));
      socket.on('error', () => undefined);
    });
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      process.send?.({ type: 'listening', port: typeof addr === 'object' && addr !== null ? addr.port : 0 });
    });
  });
}

function waitForStart(): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (m: { type?: string }): void => {
      if (m.type !== 'start') return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
  });
}

let socket: Socket;
let packets: Template[];
if (values.serve) {
  const started = waitForStart();
  const sub = await serveOne();
  socket = sub.socket;
  packets = templates(sub.protocolVersion);
  await started;
} else {
  socket = await openClient(Number(values.port));
  packets = templates(4);
}

const machines = packets.length;
const stream = new CounterStream(machines, count);
let sent = 0;
let machine = 0;
let maxLagMs = 0;
let backpressureWaits = 0;
let nextId = 1;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
let lastWriteDone = t0;

/** Writes every message due by now (the schedule is `rate` per second since t0) as one buffer. */
function writeDue(): boolean {
  const now = performance.now();
  const due = Math.min(count, Math.floor(((now - t0) * rate) / 1000));
  let n = due - sent;
  if (n <= 0) return true;
  // The stub broker sends no more than the subscriber's Receive Maximum unacknowledged.
  if (qos === 1 && values.serve) {
    n = Math.min(n, receiveMaximum - inflight);
    if (n <= 0) {
      windowWaits++;
      return true;
    }
  }
  // Lag: how long ago the oldest message in this batch was due.
  const lagMs = now - t0 - ((sent + 1) * 1000) / rate;
  if (lagMs > maxLagMs) maxLagMs = lagMs;
  let bytes = 0;
  for (let i = 0, m = machine; i < n; i++, m = m + 1 === machines ? 0 : m + 1) bytes += packets[m]!.packet.length;
  const buf = Buffer.allocUnsafe(bytes);
  const ts = Date.now();
  let at = 0;
  for (let i = 0; i < n; i++) {
    const t = packets[machine]!;
    t.packet.copy(buf, at);
    if (t.idAt >= 0) {
      buf.writeUInt16BE(nextId, at + t.idAt);
      nextId = nextId === 65_535 ? 1 : nextId + 1;
    }
    stream.next(machine, buf, at + t.payloadAt, ts);
    at += t.packet.length;
    machine = machine + 1 === machines ? 0 : machine + 1;
  }
  sent += n;
  if (qos === 1 && values.serve) inflight += n;
  return socket.write(buf, () => (lastWriteDone = performance.now()));
}

await new Promise<void>((resolve, reject) => {
  socket.once('error', reject);
  const step = (): void => {
    const flowing = writeDue();
    if (sent >= count) {
      resolve();
      return;
    }
    if (!flowing) {
      backpressureWaits++;
      socket.once('drain', () => setTimeout(step, 0));
      return;
    }
    // Next tick on the 10 ms grid, so timer drift does not accumulate.
    const elapsed = performance.now() - t0;
    setTimeout(step, TICK_MS - (elapsed % TICK_MS));
  };
  step();
});
// Everything handed to the kernel.
if (socket.writableLength > 0) await new Promise((r) => socket.once('drain', r));
const wallMs = lastWriteDone - t0;
const cpu = process.cpuUsage(cpu0);
const result: LoadResult = {
  type: 'load',
  sent,
  wallMs,
  maxLagMs,
  backpressureWaits,
  windowWaits,
  cpuUs: cpu.user + cpu.system,
  totals: stream.totals(),
};

if (values.serve) {
  // The subscriber may still be reading: keep the connection until the runner says stop.
  process.on('message', (m: { type?: string }) => {
    if (m.type !== 'stop') return;
    socket.destroy();
    process.disconnect();
  });
  process.send?.(result);
} else {
  await new Promise<void>((r) => socket.write(generate({ cmd: 'disconnect' }), () => r()));
  socket.end();
  process.send?.(result, () => process.disconnect());
}
