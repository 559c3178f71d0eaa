import type { Aggregate } from './core/aggregate.js';
import { VirtualClock } from './core/clock.js';
import { YieldwatchError } from './core/errors.js';
import type { Sample } from './core/sample.js';
import type { Config } from './config/schema.js';
import type { EngineStats } from './kpi/engine.js';
import { createPipeline } from './wiring/pipeline-options.js';
import { MqttMapper } from './sources/mqtt/map.js';
import { Store } from './store/store.js';

/** One recorded MQTT message: arrival time (epoch ms), topic and payload (JSON object or string). */
export interface RecordedMessage {
  arrival: number;
  topic: string;
  payload: unknown;
}

export interface ReplayResult {
  /** The final value of every window, ordered by machine and window start. */
  aggregates: Aggregate[];
  stats: EngineStats;
  messages: number;
}

/** Parses one line of replay input; throws naming the line number. */
export function parseRecordedLine(line: string, lineNo: number): RecordedMessage {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new YieldwatchError('YW_ERR_REPLAY_INPUT', `Replay input line ${lineNo} is not JSON.`);
  }
  const r = v as Partial<RecordedMessage> | null;
  if (!r || typeof r !== 'object' || typeof r.arrival !== 'number' || !Number.isFinite(r.arrival) || typeof r.topic !== 'string' || !('payload' in r)) {
    throw new YieldwatchError(
      'YW_ERR_REPLAY_INPUT',
      `Replay input line ${lineNo} must be {"arrival": <epoch ms>, "topic": "...", "payload": {...} or "..."}.`,
    );
  }
  return { arrival: r.arrival, topic: r.topic, payload: r.payload };
}

/**
 * Runs recorded MQTT messages through the same pipeline as the live agent, on a virtual clock
 * that jumps to each message's arrival time, then emits every window. Messages are mapped by
 * the config's MQTT sources, tried in order.
 */
export function replay(cfg: Config, messages: Iterable<RecordedMessage>, store = new Store({ path: ':memory:' })): ReplayResult {
  const clock = new VirtualClock(0);
  const pipeline = createPipeline(cfg, store, clock);
  const mappers = cfg.sources
    .filter((s) => s.type === 'mqtt')
    .map((s) => new MqttMapper(s.topics, s.id, (p) => pipeline.hasMachine(p), s.maxPayloadBytes));
  if (mappers.length === 0) {
    throw new YieldwatchError('YW_ERR_CONFIG_INVALID', 'Replay needs at least one source of type "mqtt" in the config: its topics map the recorded messages.');
  }
  const batch: Sample[] = [];
  let n = 0;
  for (const msg of messages) {
    n++;
    clock.set(msg.arrival);
    pipeline.tick();
    let reason: string | undefined = 'unmatched_topic';
    let machine: string | undefined;
    for (const m of mappers) {
      batch.length = 0;
      reason = typeof msg.payload === 'string' ? m.map(msg.topic, msg.payload, batch) : m.mapParsed(msg.topic, msg.payload, batch);
      machine = m.lastMachine;
      if (reason !== 'unmatched_topic') break;
    }
    if (reason === undefined) pipeline.ingest(batch);
    else pipeline.reject(reason, machine);
  }
  pipeline.flushAll();
  const aggregates = store.queryAggregates().sort((a, b) => (a.machine < b.machine ? -1 : a.machine > b.machine ? 1 : a.windowStart - b.windowStart));
  return { aggregates, stats: pipeline.stats().ingest, messages: n };
}
