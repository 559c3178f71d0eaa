/**
 * IPC messages of the OPC UA case between run.ts, opcua-sim.ts and consumer-opcua.ts (JSON over
 * the fork channel). It imports nothing, so the runner loads nothing of the agent or of node-opcua.
 */

/** The simulator listens. */
export interface OpcuaSimListening {
  type: 'listening';
  endpointUrl: string;
  machines: number;
}

/** The simulator's counts at a `mark` from the runner; the runner diffs two of them. */
export interface OpcuaSimMark {
  type: 'mark';
  /** performance.now() of the simulator process, ms. */
  t: number;
  /** Updates (ticks) done since start. */
  updates: number;
  /** Changes of the monitored variables since start: what the server had to offer. */
  changes: number;
  /** User + system CPU of the simulator process since it started, µs. */
  cpuUs: number;
  /** Longest single update since the previous mark, and all updates together since start, ms. */
  tickMsMax: number;
  tickMsTotal: number;
}

/** The agent is started and its source reports healthy (subscribed). */
export interface OpcuaReady {
  type: 'ready';
  /** ms from the start of the agent to a healthy source. */
  startMs: number;
  rss: number;
}

/** Every monitored item has delivered at least one value (and the minimum warm-up has passed). */
export interface OpcuaWarm {
  type: 'warm';
  /** ms from a healthy source to the end of the warm-up. */
  warmupMs: number;
  items: number;
}

/** What the agent process did between the runner's `begin` and `end`. */
export interface OpcuaResult {
  type: 'result';
  /** Values the source delivered to the pipeline over the span (`counters().values`). */
  values: number;
  rejected: number;
  reconnects: number;
  nodeErrors: number;
  sinkErrors: number;
  wallMs: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  /** Peak resident set size of the agent process since it started, bytes. */
  maxRss: number;
  /** RSS at the start of the span (warmed up), bytes. */
  rssAtBegin: number;
  heapUsed: number;
  /** Main-thread pauses for garbage collection during the span, ms. */
  gcMs: number;
  /** Event-loop delay over the span: how long a timer was late, 99th percentile and max, ms. */
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  /** Samples the KPI engine took, and of those the ones it accepted (the rest: stale, skewed, too late …), during the span. */
  engineSamples: number;
  engineAccepted: number;
  windowsEmitted: number;
  commits: number;
  health: string;
  /** Items without a single value in the `silentCheckMs` after the span: a subscription that stopped. */
  silentItems: number;
}

/** How long after the span every item must deliver once: 3 sampling intervals, at least 3 s. */
export function silentCheckMs(samplingMs: number): number {
  return Math.max(3000, 3 * samplingMs);
}
