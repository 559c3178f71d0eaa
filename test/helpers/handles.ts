import { createHook } from 'node:async_hooks';

/**
 * Records the sockets, servers and timers created from now on and reports those not yet destroyed;
 * `freeze()` stops recording, so the polling timers of the final check do not count.
 * Counting `process.getActiveResourcesInfo()` instead would let an unrelated timer that
 * ends meanwhile hide a leaked one.
 */
export function trackHandles(): { live(): string[]; freeze(): void; disable(): void } {
  const live = new Map<number, string>();
  let frozen = false;
  const hook = createHook({
    init(id, type) {
      if (!frozen && (type === 'Timeout' || type === 'TCPWRAP' || type === 'TCPSERVERWRAP')) live.set(id, type);
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return { live: () => [...live.values()], freeze: () => void (frozen = true), disable: () => void hook.disable() };
}
