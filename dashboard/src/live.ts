import type { AlertChangeJson, WindowJson } from '../../agent/src/api/contract.js';

export type LiveEvent = { type: 'window'; window: WindowJson } | { type: 'alert'; change: AlertChangeJson };

/**
 * The agent's live stream (`/api/v1/stream`, server-sent events). The browser reconnects by
 * itself after a network drop; `onState` hears whether the stream is up, so a view can say that
 * its data may be stale. Returns a function that closes the stream.
 */
export function openLive(onEvent: (e: LiveEvent) => void, onState: (connected: boolean) => void): () => void {
  const source = new EventSource('/api/v1/stream');
  source.onopen = () => onState(true);
  source.onerror = () => onState(false);
  source.addEventListener('window', (e) => onEvent({ type: 'window', window: JSON.parse((e as MessageEvent<string>).data) as WindowJson }));
  source.addEventListener('alert', (e) => onEvent({ type: 'alert', change: JSON.parse((e as MessageEvent<string>).data) as AlertChangeJson }));
  return () => source.close();
}
