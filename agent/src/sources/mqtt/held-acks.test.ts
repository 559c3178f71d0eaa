import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { startAedesBroker, type AedesBroker } from '../../../../test/helpers/aedes-broker.js';
import { freePort } from '../../../../test/helpers/free-port.js';
import { waitFor } from '../../../../test/helpers/wait.js';
import { HeldAcks } from './held-acks.js';

/**
 * The mqtt.js internals held-acks.ts relies on, against a real broker: if an mqtt.js upgrade
 * sends PUBACKs another way, stops going on with the next packet before the PUBACK, or renames
 * `_sendPacket`, these fail.
 */
describe('held acknowledgements with mqtt.js against aedes', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  async function broker(port?: number): Promise<{ b: AedesBroker; acked: number[] }> {
    const b = await startAedesBroker(port === undefined ? {} : { port });
    cleanup.push(() => b.close());
    // aedes emits `ack` with the original PUBLISH when the subscriber's PUBACK arrives.
    const acked: number[] = [];
    b.broker.on('ack', (packet) => {
      if (packet !== undefined && packet !== null && 'payload' in packet) acked.push(Number(String(packet.payload)));
    });
    return { b, acked };
  }

  /** A subscriber like the source's: fixed client id, persistent session, QoS 1, acknowledgements held. */
  async function subscriber(url: string, clientId: string): Promise<{ client: MqttClient; acks: HeldAcks; got: { n: number; fresh: boolean }[] }> {
    const client = mqtt.connect(url, { clientId, clean: false, protocolVersion: 4, reconnectPeriod: 50, resubscribe: false });
    cleanup.push(() => client.endAsync(true));
    const acks = new HeldAcks(client);
    const got: { n: number; fresh: boolean }[] = [];
    client.on('message', (_t, payload, packet: IPublishPacket) => got.push({ n: Number(String(payload)), fresh: acks.admit(packet.messageId) }));
    client.on('error', () => undefined);
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await client.subscribeAsync('held/#', { qos: 1 });
    return { client, acks, got };
  }

  async function publish(url: string, from: number, count: number): Promise<void> {
    const pub = await mqtt.connectAsync(url, { clientId: `held-pub-${from}` });
    for (let i = from; i < from + count; i++) await pub.publishAsync('held/x', String(i), { qos: 1 });
    await pub.endAsync();
  }

  it('takes every message at once, and the broker sees no PUBACK before release; then all of them, in order', async () => {
    const { b, acked } = await broker();
    const { acks, got } = await subscriber(b.url, 'held-order');
    await publish(b.url, 1, 50);
    // mqtt.js went on with the next packet although no PUBACK was sent.
    await waitFor('all 50 messages', () => got.length === 50);
    expect(acks.held()).toBe(50);
    await new Promise((r) => setTimeout(r, 200));
    expect(acked).toEqual([]);
    expect(acks.release()).toBe(50);
    await waitFor('50 PUBACKs at the broker', () => acked.length === 50);
    expect(acked).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(acks.held()).toBe(0);
  });

  it('a message the broker sends again after a dropped connection is not applied twice; its PUBACK is held too', async () => {
    const { b, acked } = await broker();
    const { client, acks, got } = await subscriber(b.url, 'held-redeliver');
    await publish(b.url, 1, 5);
    await waitFor('5 messages', () => got.length === 5);
    expect(got.every((g) => g.fresh)).toBe(true);
    // The connection drops before the commit: the acknowledgements were never sent.
    const reconnected = new Promise<boolean>((resolve) => client.once('connect', (connack) => resolve(connack.sessionPresent)));
    client.stream.destroy();
    expect(await reconnected).toBe(true);
    await waitFor('the 5 messages again', () => got.length === 10);
    // aedes 1.2 sends them again without the DUP flag: the packet id alone tells a redelivery.
    expect(got.slice(5).map((g) => [g.n, g.fresh])).toEqual([1, 2, 3, 4, 5].map((n) => [n, false]));
    expect(acks.redelivered).toBe(5);
    // The PUBACKs of the first connection were dropped with it; those of the redeliveries wait.
    expect(acks.held()).toBe(5);
    expect(acked).toEqual([]);
    acks.release();
    await waitFor('5 PUBACKs', () => acked.length === 5);
    // Acknowledged ids are free again: the broker's next messages with them are new ones.
    await publish(b.url, 6, 5);
    await waitFor('5 new messages', () => got.length === 15);
    expect(got.slice(10).every((g) => g.fresh)).toBe(true);
  });

  it('a release while disconnected sends nothing; the resumed session delivers those messages again, not applied twice', async () => {
    const { b, acked } = await broker();
    const { client, acks, got } = await subscriber(b.url, 'held-offline');
    await publish(b.url, 1, 3);
    await waitFor('3 messages', () => got.length === 3);
    client.options.reconnectPeriod = 60_000;
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.stream.destroy();
    await closed;
    expect(acks.release()).toBe(0);
    expect(acks.dropped).toBe(3);
    const back = new Promise<void>((resolve) => client.once('connect', () => resolve()));
    client.reconnect();
    await back;
    await waitFor('the 3 messages again', () => got.length === 6);
    expect(got.slice(3).map((g) => g.fresh)).toEqual([false, false, false]);
    acks.release();
    await waitFor('3 PUBACKs', () => acked.length === 3);
  });

  it('a new session (the broker lost it) forgets what was applied and drops the PUBACKs of the old one', async () => {
    const port = await freePort();
    const first = await broker(port);
    const { client, acks, got } = await subscriber(first.b.url, 'held-new-session');
    const ids: number[] = [];
    client.on('message', (_t, _p, packet: IPublishPacket) => ids.push(packet.messageId!));
    await publish(first.b.url, 1, 3);
    await waitFor('3 messages', () => got.length === 3);
    await first.b.close();
    // A broker on the same port that knows nothing of the session.
    const second = await broker(port);
    const connack = await new Promise<{ sessionPresent: boolean }>((resolve) => client.once('connect', (p) => resolve(p)));
    expect(connack.sessionPresent).toBe(false);
    expect(acks.held()).toBe(0);
    // The ids the old session left unacknowledged are new messages now (aedes happens to number on, so ask directly).
    expect(ids.map((id) => acks.admit(id))).toEqual([true, true, true]);
    await client.subscribeAsync('held/#', { qos: 1 });
    await publish(second.b.url, 11, 3);
    await waitFor('3 messages of the new session', () => got.length === 6);
    expect(got.slice(3).map((g) => [g.n, g.fresh])).toEqual([
      [11, true],
      [12, true],
      [13, true],
    ]);
    acks.release();
    await waitFor('3 PUBACKs at the new broker', () => second.acked.length === 3);
  });

  it('state() names the ids applied and not acknowledged; a run that resumes from it takes only DUP copies of them as redeliveries', async () => {
    const { b } = await broker();
    const { client, acks, got } = await subscriber(b.url, 'held-state');
    const ids: number[] = [];
    client.on('message', (_t, _p, packet: IPublishPacket) => ids.push(packet.messageId!));
    await publish(b.url, 1, 4);
    await waitFor('4 messages', () => got.length === 4);
    // aedes numbers a session's messages on, one by one (from a random start, so it may wrap past 65535 to 1).
    const sorted = [...ids].sort((x, y) => x - y);
    expect(acks.state()).toBe(sorted[3] === sorted[0]! + 3 ? `${sorted[0]}-${sorted[3]}` : expect.stringContaining(','));
    acks.release();
    expect(acks.state()).toBe('');
    expect(acks.admit(7)).toBe(true);
    expect(acks.admit(9)).toBe(true);
    expect(acks.state()).toBe('7,9');

    // The next run (the session resumed): a saved id on a message with DUP set was applied by the last run.
    const next = await subscriber(b.url, 'held-state');
    const resumed = new HeldAcks(next.client, '1-4,9,garbage');
    expect(resumed.admit(2, true)).toBe(false);
    expect(resumed.admit(9, true)).toBe(false);
    expect(resumed.admit(5, true)).toBe(true);
    expect(resumed.redelivered).toBe(2);
    // Its PUBACK still goes out after the next commit, as for any message of this session.
    expect(resumed.state()).toBe('2,5,9');
    // The first message without DUP is new: the broker is done resending, and the saved ids mean nothing more.
    expect(resumed.admit(3, false)).toBe(true);
    expect(resumed.admit(4, true)).toBe(true);
    resumed.detach();
  });

  it('detach() gives mqtt.js its own acknowledgements back', async () => {
    const { b, acked } = await broker();
    const { acks, got } = await subscriber(b.url, 'held-detach');
    acks.detach();
    await publish(b.url, 1, 2);
    await waitFor('2 messages', () => got.length === 2);
    await waitFor('2 PUBACKs without release', () => acked.length === 2);
  });
});
