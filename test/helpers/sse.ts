import { get, type ClientRequest } from 'node:http';

export interface SseEvent {
  event: string;
  data: Record<string, unknown>;
  /** Date.now() when it arrived. */
  at: number;
}

/**
 * A Server-Sent Events client over a real socket (Node 20 has no EventSource): every event with
 * a JSON `data` line is kept in `events` and passed to `onEvent`; comments (keep-alives) are skipped.
 */
export function openEventStream(url: string, onEvent?: (e: SseEvent) => void): { events: SseEvent[]; headers: Promise<Record<string, string | string[] | undefined>>; close(): void } {
  const events: SseEvent[] = [];
  let req: ClientRequest;
  const headers = new Promise<Record<string, string | string[] | undefined>>((resolve, reject) => {
    req = get(url, (res) => {
      resolve(res.headers);
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (ev === undefined || data === undefined) continue;
          const e = { event: ev, data: JSON.parse(data) as Record<string, unknown>, at: Date.now() };
          events.push(e);
          onEvent?.(e);
        }
      });
    });
    req.on('error', reject);
  });
  // A stream closed by the test ends with a socket error nobody needs to hear about.
  headers.catch(() => undefined);
  return { events, headers, close: () => req.destroy() };
}
