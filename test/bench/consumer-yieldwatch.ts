/**
 * The `yieldwatch` consumer (a child process of run.ts): the real agent — `Agent` from
 * agent/src/agent.ts with the bench config (agent-config.ts), its MQTT source on the bench
 * broker, the KPI engine, 60 s windows and the SQLite store in a temp folder, logging at `warn`
 * to stderr. The only addition is the meter, wrapped around `pipeline.ingest` and `reject` (one
 * call per message, like the bare consumer's).
 *
 * After the span it checks conservation: every window is flushed to the store and the stored
 * components are summed (outside the measured span).
 *
 * Usage: node --import tsx test/bench/consumer-yieldwatch.ts --url URL --expected N --data-dir DIR [--profile FILE]
 */
import { parseArgs } from 'node:util';
import { Agent } from '../../agent/src/agent.js';
import type { Sample } from '../../agent/src/core/sample.js';
import { createLogger } from '../../agent/src/observe/logger.js';
import { validateConfigIsolated } from '../../agent/src/config/load-isolated.js';
import { benchAgentDoc } from './agent-config.js';
import type { ConsumerResult, CounterTotals, DrainMessage } from './common.js';
import { Meter } from './meter.js';

const { values } = parseArgs({
  options: { url: { type: 'string' }, expected: { type: 'string' }, 'data-dir': { type: 'string' }, profile: { type: 'string' } },
});
const dataDir = values['data-dir'];
if (values.url === undefined || values.expected === undefined || dataDir === undefined) {
  throw new Error('consumer-yieldwatch needs --url, --expected and --data-dir.');
}

const meter = new Meter(Number(values.expected), values.profile);
const config = await validateConfigIsolated(benchAgentDoc(values.url, dataDir));
const logger = createLogger({ level: config.agent.logLevel, destination: process.stderr, pretty: false });
const agent = new Agent({ config, dataDir, baseDir: dataDir, logger });

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
await agent.stop();

const result: ConsumerResult = {
  type: 'result',
  consumer: 'yieldwatch',
  ...measured,
  rejected,
  totals,
  notes: {
    windowsEmittedDuringSpan: stats.windowsEmitted,
    commitsDuringSpan: stats.checkpoints,
    lastCommitMs: Number(stats.lastCheckpointMs.toFixed(2)),
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
