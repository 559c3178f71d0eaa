/**
 * The agent under test of the dashboard bench (dashboard.ts), as its own process so that its RSS
 * is its own: the real Agent (store, pipeline, HTTP API and dashboard plugin) on the seeded store,
 * listening on 127.0.0.1 and a port the OS picks, with no sources. Its clock is a virtual one
 * stopped at the end of the seeded data, so "now", the current window, the shift and the day so
 * far are those of the data. Reports `{ type: 'ready', url, openMs, startMs }` over IPC; answers
 * `{ type: 'memory' }` with its memory after a full garbage collection (run with --expose-gc);
 * stops on SIGTERM or when the parent goes.
 *
 * Arguments: --data DIR (the folder of yieldwatch.db), --machines N, --now EPOCH_MS.
 */
import { parseArgs } from 'node:util';
import { destination, pino } from 'pino';
import { Agent } from '../../agent/src/agent.js';
import { VirtualClock } from '../../agent/src/core/clock.js';
import { benchConfig } from './store-seed.js';

const { values: args } = parseArgs({ options: { data: { type: 'string' }, machines: { type: 'string' }, now: { type: 'string' } } });
const config = benchConfig(Number(args.machines), {
  agent: { id: 'bench-dashboard', logLevel: 'warn' },
  api: { host: '127.0.0.1', port: 0 },
});
const t0 = performance.now();
const agent = new Agent({
  config,
  dataDir: args.data!,
  baseDir: args.data!,
  // Warnings and errors to stderr: stdout is not read.
  logger: pino({ level: 'warn' }, destination(2)),
  clock: new VirtualClock(Number(args.now)),
});
const openMs = performance.now() - t0;
const url = await agent.start();
const startMs = performance.now() - t0 - openMs;
process.send?.({ type: 'ready', url, openMs, startMs });
process.on('message', (m: { type?: string } | null) => {
  if (m?.type !== 'memory') return;
  (globalThis as { gc?: () => void }).gc?.();
  const u = process.memoryUsage();
  process.send?.({ type: 'memory', rss: u.rss, heapUsed: u.heapUsed, heapTotal: u.heapTotal, external: u.external });
});

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void agent.stop().finally(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
process.once('disconnect', stop);
