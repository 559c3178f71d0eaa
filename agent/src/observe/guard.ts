import type { Logger } from 'pino';

/**
 * Runs an event handler so that it never throws: an exception inside a client library's emit
 * (mqtt.js, node-opcua) would break that library's own loop. The error is logged with `message`.
 */
export function guarded(log: Logger, message: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    try {
      log.error({ err }, message);
    } catch {
      /* the logger itself failed; nothing left to tell */
    }
  }
}
