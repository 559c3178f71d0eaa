import type { RelativePath } from 'node-opcua';
import { YieldwatchError } from '../../core/errors.js';
import type { SignalName } from '../../core/signals.js';
import type { OpcuaSignalConfig, OpcuaSourceConfig } from './config.js';

type NodeOpcua = typeof import('node-opcua');

/** One configured monitored item. */
export interface Item {
  machine: string;
  signal: SignalName;
  /** The scrap reason this item counts (`scrapByReason`); undefined for the other signals. */
  reason: string | undefined;
  /** Where the item is configured, from the machine entry: `signals.parts_good`, `scrapByReason.burr`. */
  key: string;
  /** The configured NodeId, or the one `browsePath` resolved to at the last build (undefined: not resolved). */
  nodeId: string | undefined;
  browsePath: string | undefined;
  /** The parsed `browsePath`, ready for TranslateBrowsePathsToNodeIds. */
  relativePath: RelativePath | undefined;
  samplingInterval: number;
  queueSize: number;
}

/** Every configured signal of every machine, in config order (an item's index names it in the other parts). */
export function itemsOf(config: OpcuaSourceConfig): Item[] {
  const items: Item[] = [];
  for (const m of config.machines) {
    const add = (signal: SignalName, reason: string | undefined, key: string, s: OpcuaSignalConfig) =>
      items.push({
        machine: m.machine,
        signal,
        reason,
        key,
        nodeId: s.nodeId,
        browsePath: s.browsePath,
        relativePath: undefined,
        samplingInterval: s.samplingInterval ?? config.samplingInterval,
        queueSize: s.queueSize ?? config.queueSize,
      });
    for (const [signal, s] of Object.entries(m.signals)) if (s !== undefined) add(signal as SignalName, undefined, `signals.${signal}`, s);
    for (const [code, s] of Object.entries(m.scrapByReason ?? {})) add('parts_scrap', code, `scrapByReason.${code}`, s);
  }
  return items;
}

/** How an item's signal is named in logs and health: `parts_good`, or `parts_scrap (reason burr)`. */
export function signalOf(item: Item): string {
  return item.reason === undefined ? item.signal : `${item.signal} (reason ${item.reason})`;
}

/** How an item is named in logs and health: its NodeId, or its browse path and what it resolved to. */
export function describeItem(item: Item): string {
  if (item.browsePath === undefined) return `NodeId ${item.nodeId}`;
  return item.nodeId === undefined ? `browse path ${item.browsePath}` : `browse path ${item.browsePath} (${item.nodeId})`;
}

/** Checks every browse path's syntax once, before the first connect; a bad one is a config error naming its key. */
export function parseBrowsePaths(ua: NodeOpcua, config: OpcuaSourceConfig, items: readonly Item[]): void {
  config.machines.forEach((m, j) => {
    for (const item of items) {
      if (item.machine !== m.machine || item.browsePath === undefined || item.relativePath !== undefined) continue;
      try {
        item.relativePath = ua.makeRelativePath(item.browsePath);
      } catch (err) {
        throw new YieldwatchError(
          'YW_ERR_CONFIG_INVALID',
          `OPC UA source "${config.id}": machines[${j}].${item.key}.browsePath: "${item.browsePath}" is not an OPC UA browse path (${(err as Error).message}); expected e.g. "/Objects/1:Machines/1:press1/1:GoodCount"`,
          { cause: err },
        );
      }
    }
  });
}
