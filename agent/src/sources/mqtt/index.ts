import { connect, ReasonCodes, type IConnackPacket, type IDisconnectPacket, type IPublishPacket, type ISubscriptionMap, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { Health } from '../../core/health.js';
import { mqttClientOptions, redactUrl } from '../../connections/mqtt/connection.js';
import type { PluginContext, SampleSink, Source, SourceDef } from '../../core/plugin.js';
import type { Sample } from '../../core/sample.js';
import type { MqttSourceConfig, mqttSourceSchema } from './config.js';
import { MqttMapper, type RejectReason } from './map.js';
import { LogThrottle } from '../../observe/log-throttle.js';
import { UNKNOWN_MACHINE } from '../../core/stats.js';
import { guarded } from '../../observe/guard.js';
import { HeldAcks } from './held-acks.js';

/** Counters of the MQTT source; a type alias (not an interface) so it stays a `Record<string, number>`. */
export type MqttCounters = {
  /** Messages received. */
  readonly messages: number;
  /** Messages that could not become samples (see `rejectedByReason`). */
  readonly rejected: number;
  /** Connection attempts after the first. */
  readonly reconnects: number;
  /** Payload bytes received. */
  readonly bytes: number;
  /** Messages the sink threw on (a bug downstream); dropped. */
  readonly sink_errors: number;
  /** QoS 1 messages the broker sent again whose effect was already applied (not applied twice). */
  readonly redelivered: number;
};

/** The MQTT source as `create` returns it: a `Source` that also reports its rejections by reason. */
export interface MqttSource extends Source {
  counters(): MqttCounters;
  /** Messages rejected since start, by reason (bounded: the values of `REJECT_REASONS`). */
  rejectedByReason(): Readonly<Record<string, number>>;
}

const PLACEHOLDER_RE = /\{(?:site|area|line|machine)\}/g;
/** CONNACK codes of a broker that does not speak MQTT 5: 1 (3.1.1 "unacceptable protocol version") and 0x84 (5.0). */
const UNSUPPORTED_PROTOCOL = new Set([1, 0x84]);
/** MQTT 5 DISCONNECT reason when a second client logs in with our client id. */
const SESSION_TAKEN_OVER = 0x8e;
const SESSION_EXPIRY_MAX_S = 0xffff_ffff;
const KEEPALIVE_MAX_S = 0xffff;
/** Longest topic and payload excerpt a rejection log line carries. */
const TOPIC_EXCERPT = 200;
const PAYLOAD_EXCERPT = 80;
/** Log-throttle key of messages the sink threw on. */
const SINK_ERROR = 'sink_error';
/** How long `stop()` waits for a clean DISCONNECT before it drops the connection. */
const STOP_TIMEOUT_MS = 5000;

/** The MQTT subscription filter of a topic template: every placeholder level becomes `+`. */
export function topicFilter(template: string): string {
  return template.replace(PLACEHOLDER_RE, '+');
}

function errorCode(err: unknown): string | number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' || typeof code === 'number' ? code : undefined;
}

/** A plain sentence for health and logs; `ECONNREFUSED` and friends are what an operator searches for. */
function describeError(err: Error): string {
  const code = errorCode(err);
  if (typeof code === 'string') {
    if (/^(ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EPIPE)$/.test(code)) return `broker unreachable: ${code}`;
    if (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY/.test(code)) return `TLS handshake failed: ${code}`;
    return `${err.message} (${code})`;
  }
  if (err.message.startsWith('Connection refused')) return `broker refused the connection: ${err.message.replace(/^Connection refused:\s*/, '')}`;
  return err.message;
}

function shortTopic(topic: string): string {
  return topic.length > TOPIC_EXCERPT ? `${topic.slice(0, TOPIC_EXCERPT)}…` : topic;
}

function excerpt(payload: Buffer): string {
  const text = payload.subarray(0, PAYLOAD_EXCERPT).toString('utf8');
  return payload.length > PAYLOAD_EXCERPT ? `${text}…` : text;
}

class MqttSourceImpl implements MqttSource {
  readonly type = 'mqtt';
  readonly id: string;
  private readonly log: Logger;
  private readonly mapper: MqttMapper;
  private readonly filters: ISubscriptionMap;
  private readonly batch: Sample[] = [];
  private client: MqttClient | undefined;
  private sink: SampleSink | undefined;
  private status: Health = { status: 'down', reason: 'not started' };
  private stopped = false;
  private starting = false;
  /** False until the first connection since start(): that one always subscribes. */
  private everConnected = false;
  private protocolVersion: 4 | 5 = 5;
  /** Set while a connection refused for MQTT 5 is retried at once with MQTT 3.1.1. */
  private fallingBack = false;
  private delayMs: number;
  private failuresInRow = 0;
  private lastError: string | undefined;
  /** Bumped per connection, so a SUBACK of an earlier connection cannot mark a newer one healthy. */
  private connection = 0;
  private settleStart: (() => void) | undefined;
  private messages = 0;
  private rejected = 0;
  private reconnects = 0;
  private bytes = 0;
  private sinkErrors = 0;
  /** Redeliveries counted by the acknowledgement holders of earlier clients (stop and start again). */
  private redelivered = 0;
  /** QoS 1 acknowledgements waiting for the commit that saves their messages (held-acks.ts); absent without a commit gate. */
  private acks: HeldAcks | undefined;
  private stopRelease: (() => void) | undefined;
  private readonly byReason: Record<string, number> = Object.create(null) as Record<string, number>;
  private readonly throttle: LogThrottle;

  constructor(
    private readonly config: MqttSourceConfig,
    private readonly ctx: PluginContext,
  ) {
    this.id = config.id;
    this.log = ctx.logger;
    this.throttle = new LogThrottle(ctx.clock, config.rejectLogInterval);
    this.mapper = new MqttMapper(config.topics, config.id, (p) => ctx.isMachine(p), config.maxPayloadBytes);
    this.filters = {};
    for (const t of config.topics) this.filters[topicFilter(t.topic)] = { qos: config.qos, rh: 1 };
    this.delayMs = config.reconnectMin;
  }

  async start(sink: SampleSink): Promise<void> {
    if (this.client || this.starting) return;
    this.starting = true;
    try {
      await this.connect(sink);
    } finally {
      this.starting = false;
    }
  }

  private async connect(sink: SampleSink): Promise<void> {
    this.sink = sink;
    this.stopped = false;
    this.everConnected = false;
    this.protocolVersion = 5;
    this.fallingBack = false;
    this.failuresInRow = 0;
    this.delayMs = this.config.reconnectMin;
    const c = this.config;
    const options = await mqttClientOptions(c, this.ctx, `MQTT source "${c.id}"`, {
      // A persistent session: the broker keeps our subscriptions and queues QoS 1 messages while we are away.
      clean: false,
      protocolVersion: 5,
      // Acknowledgements wait for the commit (up to kpi.commitInterval): the in-flight window must cover that span.
      properties: { sessionExpiryInterval: Math.min(Math.floor(c.sessionExpiry / 1000), SESSION_EXPIRY_MAX_S), receiveMaximum: c.receiveMaximum },
      keepalive: Math.max(1, Math.min(Math.round(c.keepalive / 1000), KEEPALIVE_MAX_S)),
      reconnectPeriod: c.reconnectMin,
      // Refused credentials may be fixed on the broker side; keep trying with back-off instead of giving up.
      reconnectOnConnackError: true,
      // Subscriptions are ours to restore (see onConnect): mqtt.js would also do it, without telling us when it is done.
      resubscribe: false,
    });
    // stop() may have come while the TLS files were read.
    if (this.stopped) return;
    this.status = { status: 'down', reason: 'connecting to the broker', details: { broker: redactUrl(c.url) } };
    const started = new Promise<void>((res) => (this.settleStart = res));
    const client = connect(c.url, options);
    this.client = client;
    const commits = sink.commits;
    if (c.qos === 1 && commits !== undefined) {
      // Keyed by the client id: another id is another session, and the ids saved for one mean nothing to the other.
      const saved = commits.persist(`mqtt ${options.clientId ?? ''}`, () => acks.state());
      const acks: HeldAcks = (this.acks = new HeldAcks(client, saved));
      this.stopRelease = commits.onCommitted(() => this.guard(() => acks.release()));
    }
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
    client.on('connect', (connack) => this.guard(() => this.onConnect(client, connack)));
    client.on('reconnect', () => this.guard(() => this.onReconnect(client)));
    client.on('error', (err) => this.guard(() => this.onError(client, err)));
    client.on('close', () => this.guard(() => this.onClose()));
    client.on('disconnect', (packet) => this.guard(() => this.onDisconnect(packet)));
    // Resolves at the first verdict, good or bad: a broker that is down must not hold up the agent's start.
    await started;
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.stopped = true;
    this.settle();
    if (!client) return;
    this.client = undefined;
    if (this.acks !== undefined) {
      // From here on nothing is applied (onMessage), so nothing more is acknowledged: what arrives
      // now comes again next time. What was applied is saved and acknowledged before the DISCONNECT.
      this.sink?.commits?.commitNow();
      this.stopRelease?.();
      this.stopRelease = undefined;
    }
    // A clean DISCONNECT keeps the session (no unsubscribe), so the broker queues what arrives until we are back.
    const force = !client.connected;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        client.endAsync(force),
        new Promise<void>((res) => {
          timer = setTimeout(() => res(client.endAsync(true).catch(() => undefined)), STOP_TIMEOUT_MS);
        }),
      ]);
    } catch (err) {
      this.log.debug({ err }, 'The MQTT client did not close cleanly.');
    } finally {
      clearTimeout(timer);
    }
    if (this.acks !== undefined) {
      this.redelivered += this.acks.redelivered;
      this.acks.detach();
      this.acks = undefined;
    }
    client.removeAllListeners();
    // mqtt.js may still emit a late socket error after end; an unhandled 'error' event would crash the process.
    client.on('error', () => undefined);
    this.sink = undefined;
    this.status = { status: 'down', reason: 'stopped' };
  }

  health(): Health {
    return this.status;
  }

  counters(): MqttCounters {
    return {
      messages: this.messages,
      rejected: this.rejected,
      reconnects: this.reconnects,
      bytes: this.bytes,
      sink_errors: this.sinkErrors,
      redelivered: this.redelivered + (this.acks?.redelivered ?? 0),
    };
  }

  rejectedByReason(): Readonly<Record<string, number>> {
    return { ...this.byReason };
  }

  /** Hot path: synchronous, no logging unless a rejection is due for its periodic log line. */
  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    this.messages++;
    this.bytes += payload.length;
    const sink = this.sink;
    if (sink === undefined) return;
    const acks = this.acks;
    if (acks !== undefined && packet.qos === 1) {
      // Stopping: not applied, so not acknowledged either; the broker delivers it again next time.
      if (this.stopped) return;
      const fresh = acks.admit(packet.messageId, packet.dup);
      // Its PUBACK is held until the next commit, whether it is applied now or was already.
      sink.commits!.hold();
      if (!fresh) return;
    }
    // Without held acknowledgements delivery goes on while stop() is under way: mqtt.js acknowledges
    // a QoS 1 message once this returns, so a message dropped here would be lost for good.
    const batch = this.batch;
    try {
      const reason = this.mapper.map(topic, payload, batch);
      if (reason === undefined) sink.samples(batch);
      else {
        this.rejected++;
        this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
        // Per machine and reason: one machine's flood must not hide another's first bad message. Bounded: known machines (else `unknown`) times the fixed reasons.
        const key = `${this.mapper.lastMachine ?? UNKNOWN_MACHINE} ${reason}`;
        if (this.throttle.due(key)) this.logReject(reason, key, topic, payload);
        sink.reject(reason, this.mapper.lastMachine);
      }
    } catch (err) {
      // A fault downstream must not stop delivery (nor break mqtt.js's packet loop): count it, log it now and then.
      this.sinkErrors++;
      if (this.throttle.due(SINK_ERROR)) {
        this.log.error({ err, topic: shortTopic(topic), count: this.throttle.take(SINK_ERROR) }, 'A message could not be handed to the pipeline and was dropped; this is a bug.');
      }
    } finally {
      batch.length = 0;
    }
  }



  private logReject(reason: RejectReason, key: string, topic: string, payload: Buffer): void {
    const machine = this.mapper.lastMachine;
    this.log.warn(
      { reason, topic: shortTopic(topic), payload: excerpt(payload), payloadBytes: payload.length, count: this.throttle.take(key), machine },
      `Rejected an MQTT message (${reason}); further "${reason}" rejections ${machine === undefined ? 'of unknown machines' : `of ${machine}`} are counted and logged at most once per rejectLogInterval.`,
    );
  }

  private onConnect(client: MqttClient, connack: IConnackPacket): void {
    if (client !== this.client) return;
    const conn = ++this.connection;
    const firstSinceStart = !this.everConnected;
    const outage = this.failuresInRow;
    this.everConnected = true;
    this.failuresInRow = 0;
    this.lastError = undefined;
    this.delayMs = this.config.reconnectMin;
    client.options.reconnectPeriod = this.config.reconnectMin;
    const sessionPresent = connack.sessionPresent === true;
    const details = { broker: redactUrl(this.config.url), protocolVersion: this.protocolVersion, sessionPresent };
    this.log.info({ ...details, ...(outage > 0 ? { failedAttempts: outage } : {}) }, firstSinceStart ? 'Connected to the MQTT broker.' : 'Reconnected to the MQTT broker.');
    // The first connection after start() always subscribes, because the topics may have changed since the
    // session was created; later ones only when the broker lost the session (then it also lost the subscriptions).
    if (sessionPresent && !firstSinceStart) {
      this.status = { status: 'ok', details };
      this.settle();
      return;
    }
    this.status = { status: 'down', reason: 'subscribing', details };
    const filters = Object.keys(this.filters);
    client.subscribe(this.filters, (err, _granted, suback) => {
      this.guard(() => {
        if (client !== this.client || conn !== this.connection || !client.connected) return;
        if (err) {
          // SUBACK return codes follow the order of the filters; 0x80 and above is a refusal.
          const codes = suback?.granted ?? [];
          const refused = filters.filter((_f, i) => {
            const code = codes[i];
            return typeof code !== 'number' || (code & 0x80) !== 0;
          });
          const reason = `broker refused the subscription to ${refused.join(', ')}: ${err.message}`;
          this.log.error({ ...details, refused }, `The MQTT broker refused a subscription (${err.message}); check the broker's ACL for this user.`);
          this.status = { status: refused.length === filters.length ? 'down' : 'degraded', reason, details };
        } else {
          this.status = { status: 'ok', details: { ...details, filters } };
        }
        this.settle();
      });
    });
  }

  private onReconnect(client: MqttClient): void {
    if (client !== this.client) return;
    if (this.fallingBack) {
      this.fallingBack = false;
      client.options.reconnectPeriod = this.delayMs;
      return;
    }
    this.reconnects++;
    // mqtt.js arms a fresh timer with `reconnectPeriod` after each failed attempt, so doubling it here
    // makes the next wait twice as long (capped), and onConnect puts it back to `reconnectMin`.
    this.delayMs = Math.min(this.delayMs * 2, this.config.reconnectMax);
    client.options.reconnectPeriod = this.delayMs;
  }

  private onError(client: MqttClient, err: Error): void {
    if (client !== this.client) return;
    const code = errorCode(err);
    if (this.protocolVersion === 5 && typeof code === 'number' && UNSUPPORTED_PROTOCOL.has(code)) {
      // Some brokers (aedes, older industrial ones) speak only MQTT 3.1.1; a persistent session still works there,
      // its lifetime is then the broker's setting instead of `sessionExpiry`.
      this.protocolVersion = 4;
      client.options.protocolVersion = 4;
      if (client.options.properties) delete client.options.properties.sessionExpiryInterval;
      this.fallingBack = true;
      client.options.reconnectPeriod = 1;
      this.log.info({ broker: redactUrl(this.config.url) }, 'The MQTT broker does not support MQTT 5; using MQTT 3.1.1 (the broker decides how long it keeps the session).');
      return;
    }
    this.lastError = describeError(err);
  }

  private onDisconnect(packet: IDisconnectPacket): void {
    const code = packet.reasonCode ?? 0;
    this.lastError =
      code === SESSION_TAKEN_OVER
        ? 'broker closed the connection: another client connected with the same clientId'
        : `broker closed the connection: ${(ReasonCodes as Record<number, string | undefined>)[code] ?? `reason code ${code}`}`;
  }

  private onClose(): void {
    if (this.stopped || this.fallingBack) return;
    this.connection++;
    this.failuresInRow++;
    const reason = this.lastError ?? 'connection lost';
    this.status = { status: 'down', reason, details: { broker: redactUrl(this.config.url), nextAttemptInMs: this.delayMs, failedAttempts: this.failuresInRow } };
    // One warning per outage; every further failed attempt only at debug level, so a long outage does not flood the log.
    if (this.failuresInRow === 1) {
      this.log.warn({ broker: redactUrl(this.config.url), reason, retryInMs: this.delayMs }, this.everConnected ? 'Lost the connection to the MQTT broker; reconnecting with back-off.' : 'Cannot connect to the MQTT broker; retrying with back-off.');
    } else {
      this.log.debug({ reason, retryInMs: this.delayMs, failedAttempts: this.failuresInRow }, 'MQTT connection attempt failed.');
    }
    this.lastError = undefined;
    this.settle();
  }

  private settle(): void {
    const s = this.settleStart;
    this.settleStart = undefined;
    s?.();
  }

  /** Event handlers never throw (see observe/guard.ts). */
  private guard(fn: () => void): void {
    guarded(this.log, 'Unexpected error in the MQTT source event handler.', fn);
  }
}

/** The `mqtt` source: subscribes to topic templates on a broker with a persistent session and maps each message to samples. */
export const mqttSource = {
  type: 'mqtt',
  config: () => import('./config.js').then((m) => m.mqttSourceSchema),
  create(config: MqttSourceConfig, ctx: PluginContext): MqttSource {
    return new MqttSourceImpl(config, ctx);
  },
} satisfies SourceDef<typeof mqttSourceSchema>;
