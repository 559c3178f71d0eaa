import type { ClientMonitoredItemBase, ClientMonitoredItemGroup, ClientSubscription, DataValue } from 'node-opcua';
import type { Item } from './items.js';

type NodeOpcua = typeof import('node-opcua');

/** A monitored item group of the subscription, with the index in `items` of each member. */
export interface MonitoredGroup {
  readonly group: ClientMonitoredItemGroup;
  readonly indexes: readonly number[];
}

/**
 * Monitors every item that has a NodeId, one group per (sampling interval, queue size), and
 * calls `onChange` with the item's index for every data change. Items without a NodeId (an
 * unresolved browse path) are skipped: they are already refused, and a later rebuild retries them.
 */
export async function monitorItems(ua: NodeOpcua, subscription: ClientSubscription, items: readonly Item[], onChange: (index: number, dv: DataValue) => void): Promise<MonitoredGroup[]> {
  const byOptions = new Map<string, number[]>();
  items.forEach((item, i) => {
    if (item.nodeId === undefined) return;
    const key = `${item.samplingInterval}/${item.queueSize}`;
    const list = byOptions.get(key);
    if (list) list.push(i);
    else byOptions.set(key, [i]);
  });
  const groups: MonitoredGroup[] = [];
  for (const indexes of byOptions.values()) {
    const first = items[indexes[0]!]!;
    const group = ua.ClientMonitoredItemGroup.create(
      subscription,
      indexes.map((i) => ({ nodeId: items[i]!.nodeId!, attributeId: ua.AttributeIds.Value })),
      { samplingInterval: first.samplingInterval, queueSize: first.queueSize, discardOldest: true },
      ua.TimestampsToReturn.Both,
    );
    group.on('changed', (_mi: ClientMonitoredItemBase, dv: DataValue, k: number) => onChange(indexes[k]!, dv));
    await new Promise<void>((res, rej) => {
      group.once('initialized', () => res());
      group.once('terminated', (err?: Error) => (err ? rej(err) : res()));
    });
    groups.push({ group, indexes });
  }
  return groups;
}

/** The monitored items the server refuses now, as (index in `items`, status name). */
export function* refusedMonitoredItems(groups: readonly MonitoredGroup[]): Generator<readonly [number, string]> {
  for (const { group, indexes } of groups) {
    const items = group.monitoredItems;
    for (let k = 0; k < items.length; k++) {
      const status = items[k]!.statusCode;
      if (!status.isGood()) yield [indexes[k]!, status.name];
    }
  }
}
