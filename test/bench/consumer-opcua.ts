/**
 * The agent of the OPC UA case (a child process of run.ts): the real `Agent` from
 * agent/src/agent.ts with the config of opcua-config.ts — its `opcua` source subscribed to the
 * bench's simulator, the KPI engine, 60 s windows and the SQLite store in a temp folder, logging at
 * `warn` to stderr. Nothing is wrapped during the measured span: values are read from the source's
 * own `counters().values`, CPU and memory from the process.
 *
 * Sequence (IPC with the runner): `ready` once the source is subscribed; `warm` once every item
 * has delivered a value after its initial one and `--warmup` seconds have passed; then the runner
 * sends `begin` and, after the span, `end`, answered with `result` once it has also checked that
 * every item still delivers (`silentCheckMs`, outside the span).
 *
 * Usage: node --import tsx test/bench/consumer-opcua.ts --endpoint URL --items N --sampling MS --data-dir DIR [--warmup S] [--warmup-timeout S] [--profile FILE]
 * (`--profile`: a V8 CPU profile of exactly the span, for finding hot spots; the profiler costs CPU, so not for the numbers.)
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Agent } from '../../agent/src/agent.js';
import type { Sample } from '../../agent/src/core/sample.js';
import { createLogger } from '../../agent/src/observe/logger.js';
import { silentCheckMs, type OpcuaReady, type OpcuaResult, type OpcuaWarm } from './opcua-common.js';
import { benchOpcuaAgentConfig } from './opcua-config.js';

const { values: args } = parseArgs({
  options: {
    endpoint: { type: 'string' },
    items: { type: 'string' },
    sampling: { type: 'string' },
    'data-dir': { type: 'string' },
    warmup: { type: 'string' },
    'warmup-timeout': { type: 'string' },
    profile: { type: 'string' },
  },
});
const dataDir = args['data-dir'];
const items = Number(args.items);
const samplingMs = Number(args.sampling);
if (args.endpoint === undefined || dataDir === undefined || !(items > 0) || !(samplingMs > 0)) {
  throw new Error('consumer-opcua needs --endpoint, --items, --sampling and --data-dir.');
}
const minWarmupMs = Number(args.warmup ?? 5) * 1000;
const warmupTimeoutMs = Number(args['warmup-timeout'] ?? 120) * 1000;
const profileFile = args.profile;
let profiler: Session | undefined;

// The runner going away (even by SIGKILL) must not leave this process behind.
process.on('disconnect', () => process.exit(1));

const config = benchOpcuaAgentConfig(args.endpoint, dataDir, items, samplingMs);
const logger = createLogger({ level: config.agent.logLevel, destination: process.stderr, pretty: false });
const agent = new Agent({ config, dataDir, baseDir: dataDir, logger });
const pipeline = agent.pipeline;
const source = agent.sources[0]!;

// Before and after the span only: count values per item to see every subscription deliver. The
// wrapper is removed for the span, so the measured path is the agent's own.
const perItem = new Map<string, number>();
let warm = 0;
const ingest = pipeline.ingest.bind(pipeline);
const countPerItem = (samples: readonly Sample[]): void => {
  for (const s of samples) {
    const key = `${s.machine}\u0000${s.signal}`;
    const n = (perItem.get(key) ?? 0) + 1;
    perItem.set(key, n);
    // The first value is the item's initial value; the second shows the live updates reach it.
    if (n === 2) warm++;
  }
  ingest(samples);
};
pipeline.ingest = countPerItem;

const t0 = performance.now();
await agent.start();
const health = agent.health()['source:bench'];
if (health?.status !== 'ok') {
  console.error(`opcua consumer: the OPC UA source is not subscribed: ${JSON.stringify(health)}`);
  await agent.stop();
  process.exit(2);
}
const ready: OpcuaReady = { type: 'ready', startMs: performance.now() - t0, rss: process.memoryUsage.rss() };
process.send?.(ready);

const tReady = performance.now();
while (warm < items || performance.now() - tReady < minWarmupMs) {
  if (performance.now() - tReady > warmupTimeoutMs) {
    console.error(
      `opcua consumer: after ${warmupTimeoutMs / 1000} s only ${warm} of ${items} items delivered a value after their initial one ` +
        `(${perItem.size} delivered any); source counters ${JSON.stringify(source.counters())}, health ${JSON.stringify(agent.health()['source:bench'])}.`,
    );
    await agent.stop();
    process.exit(3);
  }
  await new Promise((r) => setTimeout(r, 100));
}
Reflect.deleteProperty(pipeline, 'ingest');
perItem.clear();
const warmMsg: OpcuaWarm = { type: 'warm', warmupMs: performance.now() - tReady, items: warm };
process.send?.(warmMsg);

interface Mark {
  t: number;
  cpu: NodeJS.CpuUsage;
  counters: Readonly<Record<string, number>>;
  samples: number;
  accepted: number;
  windows: number;
  commits: number;
}
const mark = (): Mark => ({
  t: performance.now(),
  cpu: process.cpuUsage(),
  counters: source.counters(),
  samples: pipeline.stats().ingest.samples,
  accepted: pipeline.stats().ingest.accepted,
  windows: pipeline.stats().commits.windowsEmitted,
  commits: pipeline.stats().commits.checkpoints,
});

let begin: Mark | undefined;
let ended = false;
let rssAtBegin = 0;
let gcMs = 0;
const gc = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
});
// Coarse enough that its timer costs the agent next to nothing at 100 values/s.
const LOOP_RESOLUTION_MS = 50;
const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
// The histogram holds whole timer periods; what was late is the part beyond the period.
const lateMs = (ns: number): number => Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS);

process.on('message', (m: { type?: string }) => {
  if (m.type === 'begin') {
    rssAtBegin = process.memoryUsage.rss();
    gc.observe({ entryTypes: ['gc'] });
    loopDelay.enable();
    if (profileFile !== undefined) {
      profiler = new Session();
      profiler.connect();
      profiler.post('Profiler.enable');
      profiler.post('Profiler.setSamplingInterval', { interval: 200 });
      profiler.post('Profiler.start');
    }
    begin = mark();
  } else if (m.type === 'end' && begin !== undefined) {
    if (ended) return;
    ended = true;
    const end = mark();
    const maxRss = process.resourceUsage().maxRSS * 1024;
    loopDelay.disable();
    gc.disconnect();
    profiler?.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(profileFile!, JSON.stringify(res.profile));
      profiler?.disconnect();
    });
    const d = (k: string): number => (end.counters[k] ?? 0) - (begin!.counters[k] ?? 0);
    const result: OpcuaResult = {
      type: 'result',
      values: d('values'),
      rejected: d('rejected'),
      reconnects: d('reconnects'),
      nodeErrors: d('node_errors'),
      sinkErrors: d('sink_errors'),
      wallMs: end.t - begin.t,
      cpuUserUs: end.cpu.user - begin.cpu.user,
      cpuSystemUs: end.cpu.system - begin.cpu.system,
      maxRss,
      rssAtBegin,
      heapUsed: process.memoryUsage().heapUsed,
      gcMs,
      loopDelayP99Ms: lateMs(loopDelay.percentile(99)),
      loopDelayMaxMs: lateMs(loopDelay.max),
      engineSamples: end.samples - begin.samples,
      engineAccepted: end.accepted - begin.accepted,
      windowsEmitted: end.windows - begin.windows,
      commits: end.commits - begin.commits,
      health: agent.health()['source:bench']?.status ?? 'unknown',
      silentItems: 0,
    };
    // After the span: which items still deliver? A subscription that stopped would hide in the total.
    perItem.clear();
    pipeline.ingest = countPerItem;
    setTimeout(() => {
      result.silentItems = items - perItem.size;
      // Stopping (closing the session) is outside the span.
      process.send?.(result, () => void agent.stop().finally(() => process.exit(0)));
    }, silentCheckMs(samplingMs));
  }
});
