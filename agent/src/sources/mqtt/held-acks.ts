import type { IConnackPacket, MqttClient, Packet } from 'mqtt';

/**
 * Acknowledge after commit, for mqtt.js (agent/src/sources/mqtt/README.md, "Acknowledged after
 * the commit").
 *
 * Why this reaches into mqtt.js: mqtt.js handles incoming packets strictly one at a time. For a
 * QoS 1 PUBLISH it emits `message`, calls `handleMessage(packet, cb)` and only in `cb` sends the
 * PUBACK and goes on to the next packet (lib/handlers/publish.js). It has no manual or batched
 * acknowledgement, and deferring `cb` until a commit would process one message per commit. So
 * the processing goes on and only the PUBACK waits: the client's `_sendPacket` is wrapped, a
 * PUBACK it is asked to send is queued while its callback is called at once, and `release()`
 * writes the queue in order, in one buffer on the client's stream, after the commit that saved
 * those messages' effects. held-acks.test.ts fails when an mqtt.js upgrade breaks this.
 *
 * Redelivery: until its PUBACK is sent the broker keeps a message in flight and, after a dropped
 * connection with the session resumed, sends it again. Its effect is already in memory, so the
 * packet ids applied but not yet acknowledged are kept per session (`admit`); a PUBLISH with
 * such an id is that message again, not applied twice, and its PUBACK waits like any other (the
 * id decides, not the DUP flag: aedes 1.2 resends without it). A new session (CONNACK without
 * session present) forgets them: that broker has nothing in flight.
 *
 * Across a crash: the ids applied but not acknowledged are saved with every commit (`state`,
 * through core/commit-gate.ts), so a crash after a commit and before its PUBACKs went out does
 * not apply those messages again when the next run resumes the session. Here the DUP flag does
 * decide, because the saved ids may have been acknowledged after all (the PUBACKs written, the
 * crash before the next commit) and the broker free to number new messages with them. A broker
 * resends its in-flight messages first, with DUP set (MQTT 3.1.1 §3.3.1.1, MQTT 5 §3.3.1.1;
 * Mosquitto does); so a saved id counts only on a message with DUP set, and the first message
 * without DUP ends the resumption. A broker that resends without DUP (aedes 1.2, which only runs
 * embedded in the demo and dies with the agent) gets those messages applied again.
 *
 * PUBACKs belong to the connection their PUBLISH came on: those still queued when a new
 * connection is acknowledged are dropped, never sent on it (once acknowledged the broker may
 * reuse an id for another message). The resumed session delivers their messages again.
 *
 * QoS 2 is not covered: the source subscribes at most at QoS 1 (a broker never delivers above
 * the subscription's QoS), and mqtt.js applies a QoS 2 message only at PUBREL, after its PUBREC,
 * so holding the PUBREC would not keep anything unapplied from being acknowledged.
 */
export class HeldAcks {
  /** 1 for a packet id of this session applied but not acknowledged yet. */
  private readonly applied = new Uint8Array(65536);
  /** 1 for a packet id the last run committed but may not have acknowledged; until the resumed session's first new message. */
  private resumed: Uint8Array | undefined;
  /** Packet ids whose PUBACK waits for the next commit, in arrival order. */
  private queue: number[] = [];
  private readonly original: SendPacket;
  private readonly onPacket = (p: Packet): void => {
    if (p.cmd === 'connack') this.onConnack(p);
  };
  /** Redelivered messages that were not applied again (their effect already was). */
  redelivered = 0;
  /** PUBACKs not sent because their message was not applied (delivered again later) or their connection closed. */
  dropped = 0;

  /** `saved` is what `state()` gave at the last commit of the previous run, if any. */
  constructor(
    private readonly client: MqttClient,
    saved?: string,
  ) {
    this.resumed = saved === undefined ? undefined : decodeIds(saved);
    const internals = client as unknown as ClientInternals;
    const original = internals._sendPacket;
    if (typeof original !== 'function') {
      throw new Error('mqtt.js has no MqttClient._sendPacket any more: acknowledgements cannot be held after the commit (see held-acks.ts).');
    }
    this.original = original;
    internals._sendPacket = (packet, cb, cbStorePut, noStore) => {
      if (packet.cmd !== 'puback') {
        original.call(client, packet, cb, cbStorePut, noStore);
        return;
      }
      const id = packet.messageId ?? 0;
      if (this.applied[id] === 1) this.queue.push(id);
      else this.dropped++;
      // mqtt.js goes on with the next packet only once this is called.
      cb?.();
    };
    client.on('packetreceive', this.onPacket);
  }

  /**
   * Called for every QoS 1 message before it is applied: false when it is a redelivery of a
   * message already applied in this session (do not apply it again). Either way its PUBACK is
   * held until `release`. A message that is not admitted (the source stops) is never
   * acknowledged, so the broker delivers it again.
   */
  admit(id: number | undefined, dup = false): boolean {
    if (id === undefined) return true;
    if (this.applied[id] === 1) {
      this.redelivered++;
      return false;
    }
    this.applied[id] = 1;
    const resumed = this.resumed;
    if (resumed !== undefined) {
      if (!dup) this.resumed = undefined;
      else if (resumed[id] === 1) {
        // Applied and committed by the last run; its PUBACK (held like any other) may never have gone out.
        resumed[id] = 0;
        this.redelivered++;
        return false;
      }
    }
    return true;
  }

  /**
   * The packet ids applied but not acknowledged (`release` may not have reached the broker), as
   * ranges: what a commit saves, so that the next run knows them (see the class comment).
   */
  state(): string {
    const applied = this.applied;
    let out = '';
    for (let id = 1; id < 65536; id++) {
      if (applied[id] !== 1) continue;
      let last = id;
      while (last + 1 < 65536 && applied[last + 1] === 1) last++;
      out += (out === '' ? '' : ',') + (last === id ? `${id}` : `${id}-${last}`);
      id = last;
    }
    return out;
  }

  /** PUBACKs waiting for a commit. */
  held(): number {
    return this.queue.length;
  }

  /**
   * Sends every held PUBACK, in order: call it only after a commit that saved everything
   * applied so far. Without a connection they are dropped; the resumed session delivers their
   * messages again, and `admit` knows them. Returns how many were sent.
   */
  release(): number {
    const ids = this.queue;
    if (ids.length === 0) return 0;
    this.queue = [];
    const stream = this.client.stream;
    // A socket that is already gone (its close not reported yet) counts as no connection: the ids
    // stay applied, so the resumed session's redeliveries are recognised.
    if (!this.client.connected || stream.destroyed || !stream.writable) {
      this.dropped += ids.length;
      return 0;
    }
    // One buffer and one write for all of them: a PUBACK of success without properties is four
    // bytes in MQTT 3.1.1 and 5 alike (MQTT 5 §3.4.2.1 lets the reason code be left out), and
    // thousands of packets through mqtt.js's writer would cost an allocation and a write each.
    const buf = Buffer.allocUnsafe(ids.length * PUBACK_BYTES);
    let at = 0;
    for (const id of ids) {
      this.applied[id] = 0;
      buf[at] = PUBACK_HEADER;
      buf[at + 1] = 2;
      buf[at + 2] = id >> 8;
      buf[at + 3] = id & 0xff;
      at += PUBACK_BYTES;
    }
    stream.write(buf);
    return ids.length;
  }

  /** Gives the client its own `_sendPacket` back. */
  detach(): void {
    (this.client as unknown as ClientInternals)._sendPacket = this.original;
    this.client.removeListener('packetreceive', this.onPacket);
  }

  private onConnack(p: IConnackPacket): void {
    // A refused connection (a code above 0) is no session at all.
    if ((p.reasonCode ?? p.returnCode ?? 0) !== 0) return;
    this.dropped += this.queue.length;
    this.queue = [];
    if (p.sessionPresent !== true) {
      this.applied.fill(0);
      this.resumed = undefined;
    }
  }
}

/** The ids of `state()`; anything that is not a range of packet ids is ignored (it only ever makes a redelivery count twice). */
function decodeIds(text: string): Uint8Array | undefined {
  const ids = new Uint8Array(65536);
  let any = false;
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (m === null) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from < 1 || to > 65535 || to < from) continue;
    ids.fill(1, from, to + 1);
    any = true;
  }
  return any ? ids : undefined;
}

/** PUBACK: packet type 4 in the high nibble, remaining length 2 (the packet id). */
const PUBACK_HEADER = 0x40;
const PUBACK_BYTES = 4;

type SendPacket = (packet: Packet, cb?: (err?: Error) => void, cbStorePut?: () => void, noStore?: boolean) => void;

/** The part of mqtt.js's client that is not in its typings. */
interface ClientInternals {
  _sendPacket: SendPacket;
}
