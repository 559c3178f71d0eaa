import { format } from 'node:util';
import type { Logger } from 'pino';

type NodeOpcua = typeof import('node-opcua');

/** node-opcua's own cap: after this many lines from one place in its code, that place is quiet. */
const PER_PLACE = 100;
/** Places counted at most (they are lines of node-opcua's code, so few; the bound keeps it so). */
const MAX_PLACES = 1000;

/**
 * node-opcua writes its warnings and errors with `console.log`, one line per line of the message,
 * each prefixed with a time and its file (node-opcua-debug): about 15 lines that are not JSON
 * per reconnect, in the middle of the agent's JSON log. They go through pino instead: one entry
 * per message, at its level, with `component: node-opcua` and the file of node-opcua that wrote
 * it; debug traces (node-opcua's `DEBUG` switch) at debug. As node-opcua does, a place in its
 * code that has written 100 times is quiet from then on.
 *
 * The loggers are node-opcua's, one set per process: the OPC UA source that starts last installs
 * its logger (every source logs to the same destination; only the `source` label differs).
 */
export function routeNodeOpcuaLogs(ua: NodeOpcua, logger: Logger): void {
  const counts = new Map<string, number>();
  const entry =
    (level: 'error' | 'warn' | 'debug') =>
    (context?: unknown, ...args: unknown[]): void => {
      const ctx = typeof context === 'object' && context !== null ? (context as { filename?: unknown; callerline?: unknown }) : {};
      const file = typeof ctx.filename === 'string' ? ctx.filename : undefined;
      if (level !== 'debug') {
        const place = `${file ?? ''}:${String(ctx.callerline ?? '')}`;
        const n = (counts.get(place) ?? 0) + 1;
        if (n > PER_PLACE) return;
        if (counts.size < MAX_PLACES || counts.has(place)) counts.set(place, n);
        if (n === PER_PLACE) args = [...args, `(the ${PER_PLACE}th time from here; no more are logged)`];
      }
      logger[level]({ component: 'node-opcua', ...(file !== undefined ? { file } : {}) }, format(...args));
    };
  ua.setErrorLogger(entry('error'));
  ua.setWarningLogger(entry('warn'));
  ua.setDebugLogger(entry('debug'));
}
