/**
 * What every part of the benchmark shares: the 50 machines, their topics, the payload format
 * and the IPC messages. It imports nothing from the agent: the bare consumer loads this file,
 * and its memory must not include the agent's modules. See README.md in this folder.
 */
import { statSync } from 'node:fs';

/** Topic template of the bench machines, the same as the demo's. */
export const TOPIC_TEMPLATE = '{site}/{line}/{machine}/counters';

/** 50 ISA-95 machine paths: site `bench`, lines `l1`..`l5`, machines `m01`..`m10` on each. */
export const MACHINES: readonly string[] = Array.from({ length: 50 }, (_, i) => {
  const line = Math.floor(i / 10) + 1;
  const machine = String((i % 10) + 1).padStart(2, '0');
  return `bench/l${line}/m${machine}`;
});

/** MQTT topic of each machine in `MACHINES`, same order. */
export const TOPICS: readonly string[] = MACHINES.map((p) => {
  const [site, line, machine] = p.split('/') as [string, string, string];
  return TOPIC_TEMPLATE.replace('{site}', site).replace('{line}', line).replace('{machine}', machine);
});

/** The window both consumers sum into: the agent's default `kpi.windowSize`. */
export const WINDOW_MS = 60_000;

export const DEFAULT_RATE = 80_000;
/** 25 s of load at the default rate. */
export const DEFAULT_COUNT = 2_000_000;

/**
 * QoS of the bench by default (`--qos`): the load generator publishes and both consumers
 * subscribe at it. QoS 0 is what the project's bar compares; at QoS 1 (`--qos 1`) the bare
 * consumer acknowledges every message at once, as mqtt.js does, and the agent after the commit
 * that saved it (agent/src/sources/mqtt/README.md, "Acknowledged after the commit").
 */
export const DEFAULT_QOS = 0;
export type BenchQos = 0 | 1;

/** `--qos` of the children: 0 or 1. */
export function qosArg(raw: string | undefined): BenchQos {
  if (raw === undefined) return DEFAULT_QOS;
  if (raw === '0' || raw === '1') return Number(raw) as BenchQos;
  throw new Error(`--qos takes 0 or 1, got "${raw}".`);
}

/** Product of every bench machine (from config/demo.yaml), so the agent derives masses and losses as in production. */
export const PRODUCT = 'bracket-almg3';
export const PART_MASS_KG = 0.35;
/** Punching web and trim: material in per part is `PART_MASS_KG × (1 + PROCESS_LOSS)`. */
export const PROCESS_LOSS = 0.12;

/** Sums of the increments of every machine's counters: what both consumers must add up to. */
export interface CounterTotals {
  good: number;
  scrap: number;
  rework: number;
  material_in_kg: number;
}

/** True when two totals agree (exactly for part counts; to 1 g for the mass, which is summed in floating point). */
export function totalsMatch(a: CounterTotals, b: CounterTotals): boolean {
  return a.good === b.good && a.scrap === b.scrap && a.rework === b.rework && Math.abs(a.material_in_kg - b.material_in_kg) < 1e-3;
}

/** The median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// ---- IPC messages between the runner and its children (JSON over the fork channel) ----

/** A consumer is subscribed and waits for load. */
export interface ReadyMessage {
  type: 'ready';
  /** RSS after start-up (modules loaded, connected, subscribed), bytes. */
  rssAtReady: number;
}

/** The runner tells a consumer that the load generator has written its last message. */
export interface DrainMessage {
  type: 'drain';
}

/** What a consumer measured from its first to its last message. */
export interface ConsumerResult {
  type: 'result';
  consumer: 'bare' | 'yieldwatch';
  received: number;
  rejected: number;
  /** Wall time from the first to the last message, ms. */
  wallMs: number;
  /** User + system CPU of the whole process (all threads) over the same span, µs. */
  cpuUserUs: number;
  cpuSystemUs: number;
  /** Peak resident set size of the process since it started (`resourceUsage().maxRSS`), bytes. */
  maxRss: number;
  rssAtReady: number;
  /** `process.memoryUsage()` at the last message, bytes. */
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /** Main-thread pauses for garbage collection during the span: total ms and count. */
  gcMs: number;
  gcCount: number;
  /** False when the last expected message never came (loss): the span ends at the last one that did. */
  complete: boolean;
  /** Sum of the counter increments the consumer computed, for the conservation check. */
  totals: CounterTotals;
  /** Where the CPU profile of the span was written (`--profile` runs only). */
  profile?: string | undefined;
  /** Consumer-specific facts (e.g. windows emitted by the agent). */
  notes: Record<string, number | string>;
}

/** What the load generator did. */
export interface LoadResult {
  type: 'load';
  sent: number;
  /** From the first write to the last one handed to the kernel, ms. */
  wallMs: number;
  /** Most the publisher was ever behind its schedule, ms (it catches up by writing bigger batches). */
  maxLagMs: number;
  /** Batches written while the socket buffer was full. */
  backpressureWaits: number;
  /** QoS 1 as the stub broker: ticks on which the subscriber's Receive Maximum was full (it acknowledged too late). */
  windowWaits: number;
  cpuUs: number;
  totals: CounterTotals;
}

/** Result of one microbench child. */
export interface MicroResult {
  type: 'micro';
  variant: string;
  messages: number;
  /** Median over the measured passes. */
  msgsPerSec: number;
  cpuUsPerMsg: number;
  /** msgs/s of each measured pass. */
  passes: number[];
  /** CPU µs per message of each measured pass. */
  cpuPerPass: number[];
}

/** Bytes on disk of a SQLite file and its WAL. */
export function sqliteFileBytes(path: string): number {
  let n = 0;
  for (const f of [path, `${path}-wal`]) {
    try {
      n += statSync(f).size;
    } catch {
      // no WAL
    }
  }
  return n;
}
