import { connect, type MqttClient } from 'mqtt';
import { mqttClientOptions } from '../../connections/mqtt/connection.js';
import { aggregateToJson, type Aggregate } from '../../core/aggregate.js';
import { alertChangeToJson, alertToJson, type Alert, type AlertChange } from '../../core/alert.js';
import type { Health } from '../../core/health.js';
import type { PluginContext } from '../../core/plugin.js';
import { SinkError, type OutboxRecord, type Sink, type SinkDef } from '../../core/sink.js';
import type { MqttSinkConfig, mqttSinkSchema } from './config.js';

/** The Unified-Namespace topic of a machine's windows: `<prefix><site>/<area>/<line>/<machine>/yieldwatch/kpi`. */
export function kpiTopic(prefix: string, machinePath: string): string {
  return `${prefix}${machinePath}/yieldwatch/kpi`;
}

/**
 * The outbox payload of one window: the topic, a newline, then the JSON body (the fields of
 * `/api/v1/kpis` plus the agent and window length). Topics never contain a newline.
 */
export function windowMessage(prefix: string, a: Aggregate, agentId: string): string {
  const body = { ...aggregateToJson(a), window_ms: a.windowEnd - a.windowStart, agent: agentId };
  return `${kpiTopic(prefix, a.machine)}\n${JSON.stringify(body)}`;
}

/** The topic of a machine's alert state: `<prefix><site>/<area>/<line>/<machine>/yieldwatch/alerts`. */
export function alertTopic(prefix: string, machinePath: string): string {
  return `${prefix}${machinePath}/yieldwatch/alerts`;
}

/**
 * The outbox payload of one alert change: retained on the machine's alerts topic, it is the
 * machine's active-alert state (every open alert) with the change that led to it.
 */
export function alertMessage(prefix: string, c: AlertChange, open: readonly Alert[], agentId: string): string {
  const body = { machine: c.alert.machine, active: open.map(alertToJson), change: alertChangeToJson(c), agent: agentId };
  return `${alertTopic(prefix, c.alert.machine)}\n${JSON.stringify(body)}`;
}

function split(payload: string): [string, string] {
  const nl = payload.indexOf('\n');
  return [payload.slice(0, nl), payload.slice(nl + 1)];
}

class MqttSink implements Sink {
  readonly type = 'mqtt';
  readonly id: string;
  private client: MqttClient | undefined;
  private lastError: string | undefined;

  constructor(
    private readonly config: MqttSinkConfig,
    private readonly ctx: PluginContext,
  ) {
    this.id = config.id;
  }

  /** Connects in the background; mqtt.js reconnects on its own. Writes fail fast while not connected. */
  async prepare(): Promise<void> {
    if (this.client) return;
    const c = this.config;
    const options = await mqttClientOptions(c, this.ctx, `MQTT sink "${c.id}"`, {
      clean: true,
      reconnectPeriod: 1000,
      connectTimeout: c.timeout,
      // The outbox owns durability: mqtt.js must not keep its own in-memory queue of our messages.
      queueQoSZero: false,
    });
    const client = connect(c.url, options);
    client.on('error', (err) => {
      this.lastError = err.message;
    });
    client.on('connect', () => {
      this.lastError = undefined;
    });
    this.client = client;
  }

  async write(batch: readonly OutboxRecord[]): Promise<void> {
    const client = this.client;
    if (client === undefined || !client.connected) {
      throw new SinkError('retryable', `not connected to the broker${this.lastError ? `: ${this.lastError}` : ''}`);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SinkError('retryable', `no PUBACK within ${this.config.timeout} ms`)), this.config.timeout);
    });
    try {
      // QoS 1: each promise resolves on the broker's PUBACK.
      const acks = batch.map((r) => {
        const [topic, body] = split(r.payload);
        return client.publishAsync(topic, body, { qos: 1, retain: this.config.retain });
      });
      await Promise.race([Promise.all(acks), timeout]);
    } catch (err) {
      if (err instanceof SinkError) throw err;
      throw new SinkError('retryable', `publish failed: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client) await client.endAsync(true).catch(() => undefined);
  }

  health(): Health {
    if (this.client === undefined) return { status: 'down', reason: 'not started' };
    return this.client.connected ? { status: 'ok' } : { status: 'down', reason: `not connected to the broker${this.lastError ? `: ${this.lastError}` : ''}` };
  }
}

/** The `mqtt` sink: each window as retained JSON on its machine's Unified-Namespace topic, QoS 1. */
export const mqttSink = {
  type: 'mqtt',
  config: () => import('./config.js').then((m) => m.mqttSinkSchema),
  serializeWindow: (config: MqttSinkConfig, a, agentId) => windowMessage(config.topicPrefix, a, agentId),
  serializeAlert: (config: MqttSinkConfig, c, open, agentId) => alertMessage(config.topicPrefix, c, open, agentId),
  create(config: MqttSinkConfig, ctx: PluginContext): Sink {
    return new MqttSink(config, ctx);
  },
} satisfies SinkDef<typeof mqttSinkSchema>;
