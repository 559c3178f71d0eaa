import type { PluginContext, SourceDef } from '../../core/plugin.js';
import type { OpcuaSourceConfig, opcuaSourceSchema } from './config.js';
import { OpcuaSourceImpl, type OpcuaSource } from './source.js';

export type { OpcuaCounters, OpcuaSource } from './source.js';
export { REJECT_REASONS, type RejectReason } from './data-changes.js';
export { toSampleValue } from './values.js';

/** The `opcua` source: one session and subscription per server, every configured NodeId monitored. */
export const opcuaSource = {
  type: 'opcua',
  config: () => import('./config.js').then((m) => m.opcuaSourceSchema),
  create(config: OpcuaSourceConfig, ctx: PluginContext): OpcuaSource {
    return new OpcuaSourceImpl(config, ctx);
  },
} satisfies SourceDef<typeof opcuaSourceSchema>;
