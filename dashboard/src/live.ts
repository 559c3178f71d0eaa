import type { AlertChangeJson, WindowJson } from '../../agent/src/api/contract.js';

export type LiveEvent = { type: 'window'; window: WindowJson } | { type: 'alert'; change: AlertChangeJson };

/**
 * The agent's live stream (`/api/v1/stream`, server-sent events). The browser reconnects by
 * itself after a network drop; `onState` hears whether the stream is up, so a view can say that
 * its data may be stale. Returns a function that closes the stream.
 */
export function openLive(onEvent: (e: LiveEvent) => void, onState: (connected: boolean) => void): () => void {
  let source: EventSource | undefined;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let delay = 1000;
  const open = () => {
    const s = (source = new EventSource('/api/v1/stream'));
    s.onopen = () => {
      delay = 1000;
      onState(true);
    };
    s.onerror = () => {
      onState(false);
      // The browser retries a dropped stream itself, but gives up on an answer that is not a stream
      // (the agent restarting behind a proxy, a 401): then it is opened again here, backing off to a minute.
      if (s.readyState === EventSource.CLOSED) {
        retry = setTimeout(open, delay);
        delay = Math.min(60_000, delay * 2);
      }
    };
    s.addEventListener('window', (e) => onEvent({ type: 'window', window: JSON.parse((e as MessageEvent<string>).data) as WindowJson }));
    s.addEventListener('alert', (e) => onEvent({ type: 'alert', change: JSON.parse((e as MessageEvent<string>).data) as AlertChangeJson }));
  };
  open();
  return () => {
    clearTimeout(retry);
    source?.close();
  };
}
