import type { AlertChange } from '../core/alert.js';
import type { PluginContext } from '../core/plugin.js';
import type { OutboxWriter, SinkDef } from '../core/sink.js';
import { Forwarder } from '../forward.js';
import { SINK_TYPES, type SinkConfig } from '../sinks/registry.js';
import type { Outbox } from '../store/outbox.js';

function defOf(sc: SinkConfig): SinkDef {
  return SINK_TYPES[sc.type] as unknown as SinkDef;
}

/** The commit's side of a configured sink: its serializer (with the sink's alert filter) and backlog bound. */
export function outboxWriter(sc: SinkConfig, agentId: string): OutboxWriter {
  const def = defOf(sc);
  const f = sc.alerts;
  const takes = (c: AlertChange) => f.enabled && f.severities.includes(c.alert.severity) && (f.lines.length === 0 || f.lines.includes(c.alert.line));
  return {
    sink: sc.id,
    serialize: (a) => def.serializeWindow(sc, a, agentId),
    serializeAlert: (c, open) => (def.serializeAlert !== undefined && takes(c) ? def.serializeAlert(sc, c, open, agentId) : undefined),
    bound: { maxBytes: sc.backlog.maxSize, maxAgeMs: sc.backlog.maxAge },
  };
}

/** The delivery side of a configured sink: the plugin instance driven by its forwarder loop. */
export function createForwarder(sc: SinkConfig, outbox: Outbox, ctx: PluginContext): Forwarder {
  const sink = defOf(sc).create(sc, ctx);
  return new Forwarder({ sink, outbox, clock: ctx.clock, logger: ctx.logger, batchSize: sc.batchSize, retryMin: sc.retryMin, retryMax: sc.retryMax });
}
