/**
 * The `yieldwatch` consumer (a child process of run.ts): the real agent — `Agent` from
 * agent/src/agent.ts with the bench config (agent-config.ts), its MQTT source on the bench
 * broker, the KPI engine, 60 s windows and the SQLite store in a temp folder, logging at `warn`
 * to stderr. The only addition is the meter, wrapped around `pipeline.ingest` and `reject` (one
 * call per message, like the bare consumer's).
 *
 * At `--qos 1` the agent's MQTT source holds each PUBACK until the commit that saved the message
 * (the group commit, every `kpi.commitInterval` = 100 ms under load), exactly as in production.
 * The span's commits, commits per second and the bytes the process had written to storage
 * (`write_bytes` of /proc/self/io: the WAL and its checkpoints into the database file) are
 * reported in the notes.
 *
 * After the span it checks conservation: every window is flushed to the store and the stored
 * components are summed (outside the measured span).
 *
 * Usage: node --import tsx test/bench/consumer-yieldwatch.ts --url URL --expected N --data-dir DIR [--qos 0|1] [--profile FILE]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Agent } from '../../agent/src/agent.js';
import type { Sample } from '../../agent/src/core/sample.js';
import { createLogger } from '../../agent/src/observe/logger.js';
import { validateConfigIsolated } from '../../agent/src/config/load-isolated.js';
import { benchAgentDoc } from './agent-config.js';
import { qosArg, type ConsumerResult, type CounterTotals, type DrainMessage } from './common.js';
import { Meter } from './meter.js';

const { values } = parseArgs({
  options: { url: { type: 'string' }, expected: { type: 'string' }, 'data-dir': { type: 'string' }, qos: { type: 'string' }, profile: { type: 'string' } },
});
const dataDir = values['data-dir'];
if (values.url === undefined || values.expected === undefined || dataDir === undefined) {
  throw new Error('consumer-yieldwatch needs --url, --expected and --data-dir.');
}

const qos = qosArg(values.qos);
const config = await validateConfigIsolated(benchAgentDoc(values.url, dataDir, qos));
const logger = createLogger({ level: config.agent.logLevel, destination: process.stderr, pretty: false });
const agent = new Agent({ config, dataDir, baseDir: dataDir, logger });

/** Bytes this process caused to be written to storage so far (Linux; 0 elsewhere). */
function storageWrites(): number {
  try {
    return Number(/^write_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}
/** Commits and storage writes over the measured span: read at its first and its last message. */
const span = { commits: 0, writes: 0, t: 0, commitsDuring: 0, writesDuring: 0, ms: 0 };
const meter = new Meter(Number(values.expected), values.profile, {
  begin: () => {
    span.commits = agent.pipeline.stats().commits.checkpoints;
    span.writes = storageWrites();
    span.t = performance.now();
  },
  end: () => {
    span.commitsDuring = agent.pipeline.stats().commits.checkpoints - span.commits;
    span.writesDuring = storageWrites() - span.writes;
    span.ms = performance.now() - span.t;
  },
});

// The agent's source calls these once per message (sink.samples or sink.reject).
const pipeline = agent.pipeline;
const ingest = pipeline.ingest.bind(pipeline);
const reject = pipeline.reject.bind(pipeline);
let rejected = 0;
pipeline.ingest = (samples: readonly Sample[]): void => {
  ingest(samples);
  meter.hit();
};
pipeline.reject = (reason: string, machine?: string): void => {
  reject(reason, machine);
  rejected++;
  meter.hit();
};

process.on('message', (m: DrainMessage) => {
  if (m.type === 'drain') meter.drain();
});

await agent.start();
const health = agent.health()['source:bench'];
if (health?.status !== 'ok') {
  console.error(`yieldwatch consumer: the MQTT source is not subscribed: ${JSON.stringify(health)}`);
  await agent.stop();
  process.exit(2);
}
meter.ready();

const measured = await meter.result();

// Outside the span: stop the source, emit every open window and add up what the store holds.
await Promise.all(agent.sources.map((s) => s.stop()));
const stats = { ...pipeline.stats().commits };
const engine = { ...pipeline.stats().ingest, rejected: Object.fromEntries(pipeline.stats().ingest.rejected) };
// The checkpoint with the open windows, before they are flushed: its header and every machine's part (a commit rewrites the parts that changed).
const saved = agent.store.loadCheckpoint();
const checkpointBytes = saved === undefined ? 0 : saved.state.length + [...saved.parts.values()].reduce((n, p) => n + p.length, 0);
pipeline.flushAll();
const totals: CounterTotals = { good: 0, scrap: 0, rework: 0, material_in_kg: 0 };
const aggs = agent.store.queryAggregates();
for (const a of aggs) {
  totals.good += a.components.parts_good ?? 0;
  totals.scrap += a.components.parts_scrap ?? 0;
  totals.rework += a.components.parts_rework ?? 0;
  totals.material_in_kg += a.components.material_in_kg ?? 0;
}
const storeBytes = agent.store.sizeBytes();
const redelivered = agent.sources[0]?.counters().redelivered ?? 0;
await agent.stop();

const result: ConsumerResult = {
  type: 'result',
  consumer: 'yieldwatch',
  ...measured,
  rejected,
  totals,
  notes: {
    qos,
    windowsEmittedDuringSpan: stats.windowsEmitted,
    commitsDuringSpan: span.commitsDuring,
    commitsPerSec: span.ms > 0 ? Number(((span.commitsDuring * 1000) / span.ms).toFixed(1)) : 0,
    storageKiBPerSec: span.ms > 0 ? Number((span.writesDuring / 1024 / (span.ms / 1000)).toFixed(1)) : 0,
    checkpointBytes,
    lastCommitMs: Number(stats.lastCheckpointMs.toFixed(2)),
    redelivered,
    storedWindows: aggs.length,
    storeBytes,
    samples: engine.samples,
    stale: engine.stale,
    skewed: engine.skewed,
    tooLate: engine.too_late,
    engineRejected: JSON.stringify(engine.rejected),
  },
};
process.send?.(result, () => process.disconnect());
