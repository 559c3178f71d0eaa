import type { BrowsePathResult, ClientSession } from 'node-opcua';
import type { Item } from './items.js';
import type { RefusedItems } from './refusals.js';

type NodeOpcua = typeof import('node-opcua');

/** Browse paths per TranslateBrowsePathsToNodeIds request: servers cap it (MaxNodesPerTranslateBrowsePathsToNodeIds), often at 100 or more. */
export const TRANSLATE_CHUNK = 50;

/**
 * Translates every item's browse path to its NodeId on `session`. With `refused`, each item takes
 * its new NodeId, and a path that leads nowhere is a refused item (a later rebuild retries it);
 * without, the items are left as they are (a check after a reconnect). Returns true when some
 * path now leads to a different NodeId than the item has.
 */
export async function resolveBrowsePaths(ua: NodeOpcua, session: ClientSession, items: Item[], refused?: RefusedItems): Promise<boolean> {
  const indexes = items.flatMap((it, i) => (it.relativePath === undefined ? [] : [i]));
  if (indexes.length === 0) return false;
  const results: BrowsePathResult[] = [];
  for (let k = 0; k < indexes.length; k += TRANSLATE_CHUNK) {
    const chunk = indexes.slice(k, k + TRANSLATE_CHUNK);
    const paths = chunk.map((i) => new ua.BrowsePath({ startingNode: ua.resolveNodeId('RootFolder'), relativePath: items[i]!.relativePath }));
    results.push(...(await session.translateBrowsePath(paths)));
  }
  let changed = false;
  indexes.forEach((index, k) => {
    const r = results[k];
    const item = items[index]!;
    const target = r !== undefined && r.statusCode.isGood() ? r.targets?.[0]?.targetId : undefined;
    const nodeId = target === undefined ? undefined : target.toString();
    if (nodeId !== item.nodeId) changed = true;
    if (refused === undefined) return;
    item.nodeId = nodeId;
    if (nodeId === undefined) refused.refuse(index, r?.statusCode.name ?? 'BadNoMatch');
  });
  return changed;
}
