import type { AlertChange } from '../core/alert.js';
import type { PluginContext } from '../core/plugin.js';
import { secretValues } from '../core/secrets.js';
import type { OutboxWriter, Sink, SinkDef } from '../core/sink.js';
import { Forwarder } from '../forward.js';
import { SINK_TYPES, type SinkConfig } from '../sinks/registry.js';
import type { Outbox } from '../store/outbox.js';

/** The plugin definition of a configured sink. */
export function sinkDef(sc: SinkConfig): SinkDef {
  return SINK_TYPES[sc.type] as unknown as SinkDef;
}

/** The commit's side of a configured sink: its serializer (with the sink's alert filter) and backlog bound. */
export function outboxWriter(sc: SinkConfig, agentId: string): OutboxWriter {
  const def = sinkDef(sc);
  const f = sc.alerts;
  const takes = (c: AlertChange) => f.enabled && f.severities.includes(c.alert.severity) && (f.lines.length === 0 || f.lines.includes(c.alert.line));
  return {
    sink: sc.id,
    serialize: (a) => def.serializeWindow(sc, a, agentId),
    serializeAlert: (c, open) => (def.serializeAlert !== undefined && takes(c) ? def.serializeAlert(sc, c, open, agentId) : undefined),
    bound: { maxBytes: sc.backlog.maxSize, maxAgeMs: sc.backlog.maxAge },
  };
}

export interface ForwarderWiring {
  /** The outbox channel to send (default: the sink's id). */
  channel?: string;
  idlePoll?: number;
  /** Wraps the plugin instance before the forwarder drives it. */
  sink?: (plugin: Sink) => Sink;
}

/** The delivery side of a configured sink: the plugin instance driven by its forwarder loop. */
export function createForwarder(sc: SinkConfig, outbox: Outbox, ctx: PluginContext, w: ForwarderWiring = {}): Forwarder {
  const plugin = sinkDef(sc).create(sc, ctx);
  const sink = w.sink === undefined ? plugin : w.sink(plugin);
  return new Forwarder({
    sink,
    outbox,
    channel: w.channel,
    idlePoll: w.idlePoll,
    clock: ctx.clock,
    logger: ctx.logger,
    batchSize: sc.batchSize,
    retryMin: sc.retryMin,
    retryMax: sc.retryMax,
    secrets: secretValues(sc),
  });
}
