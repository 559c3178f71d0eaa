import type { PluginContext } from '../core/plugin.js';
import type { SinkDef } from '../core/sink.js';
import type { SinkConfig } from '../config/schema.js';
import type { OutboxWriter } from '../pipeline/pipeline.js';
import { Forwarder } from '../forward.js';
import type { Outbox } from '../store/outbox.js';
import { influxdbSink } from './influxdb/index.js';
import { mqttSink } from './mqtt/index.js';

/** Every sink type, registered by one line each; the `type` is the folder name. */
export const SINK_TYPES: { [T in SinkConfig['type']]: SinkDef<Extract<SinkConfig, { type: T }>> } = {
  influxdb: influxdbSink,
  mqtt: mqttSink,
};

/** The commit's side of a sink: its serializer and backlog bound. */
export function outboxWriter(sc: SinkConfig, agentId: string): OutboxWriter {
  const def = SINK_TYPES[sc.type];
  return { sink: sc.id, serialize: (a) => def.serializeWindow(sc as never, a, agentId), bound: { maxBytes: sc.backlog.maxSize, maxAgeMs: sc.backlog.maxAge } };
}

/** The delivery side of a sink: the plugin instance driven by its forwarder loop. */
export function createForwarder(sc: SinkConfig, outbox: Outbox, ctx: PluginContext): Forwarder {
  const sink = SINK_TYPES[sc.type].create(sc as never, ctx);
  return new Forwarder({ sink, outbox, clock: ctx.clock, logger: ctx.logger, batchSize: sc.batchSize, retryMin: sc.retryMin, retryMax: sc.retryMax });
}
