import type { AlertChange } from '../core/alert.js';
import type { PluginContext } from '../core/plugin.js';
import type { OutboxWriter, SinkDef } from '../core/sink.js';
import type { SinkConfig } from '../config/schema.js';
import { Forwarder } from '../forward.js';
import type { Outbox } from '../store/outbox.js';
import { influxdbSink } from './influxdb/index.js';
import { mqttSink } from './mqtt/index.js';
import { webhookSink } from './webhook/index.js';

/** Every sink type, registered by one line each; the `type` is the folder name. */
export const SINK_TYPES: { [T in SinkConfig['type']]: SinkDef<Extract<SinkConfig, { type: T }>> } = {
  influxdb: influxdbSink,
  mqtt: mqttSink,
  webhook: webhookSink,
};

/** The commit's side of a sink: its serializer and backlog bound. */
export function outboxWriter(sc: SinkConfig, agentId: string): OutboxWriter {
  const def: SinkDef<SinkConfig> = SINK_TYPES[sc.type] as SinkDef<SinkConfig>;
  const f = sc.alerts;
  const takes = (c: AlertChange) => f.enabled && f.severities.includes(c.alert.severity) && (f.lines.length === 0 || f.lines.includes(c.alert.line));
  return {
    sink: sc.id,
    serialize: (a) => def.serializeWindow(sc, a, agentId),
    serializeAlert: (c, open) => (def.serializeAlert !== undefined && takes(c) ? def.serializeAlert(sc, c, open, agentId) : undefined),
    bound: { maxBytes: sc.backlog.maxSize, maxAgeMs: sc.backlog.maxAge },
  };
}

/** The delivery side of a sink: the plugin instance driven by its forwarder loop. */
export function createForwarder(sc: SinkConfig, outbox: Outbox, ctx: PluginContext): Forwarder {
  const sink = SINK_TYPES[sc.type].create(sc as never, ctx);
  return new Forwarder({ sink, outbox, clock: ctx.clock, logger: ctx.logger, batchSize: sc.batchSize, retryMin: sc.retryMin, retryMax: sc.retryMax });
}
