import type { RelativePath } from 'node-opcua';
import { YieldwatchError } from '../../core/errors.js';
import type { SignalName } from '../../core/signals.js';
import type { OpcuaSourceConfig } from './config.js';

type NodeOpcua = typeof import('node-opcua');

/** One configured monitored item. */
export interface Item {
  machine: string;
  signal: SignalName;
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
    for (const [signal, s] of Object.entries(m.signals)) {
      if (s === undefined) continue;
      items.push({
        machine: m.machine,
        signal: signal as SignalName,
        nodeId: s.nodeId,
        browsePath: s.browsePath,
        relativePath: undefined,
        samplingInterval: s.samplingInterval ?? config.samplingInterval,
        queueSize: s.queueSize ?? config.queueSize,
      });
    }
  }
  return items;
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
          `OPC UA source "${config.id}": machines[${j}].signals.${item.signal}.browsePath: "${item.browsePath}" is not an OPC UA browse path (${(err as Error).message}); expected e.g. "/Objects/1:Machines/1:press1/1:GoodCount"`,
          { cause: err },
        );
      }
    }
  });
}
