import type { Logger } from 'pino';
import type { output, ZodType } from 'zod';
import type { Scheduler } from './clock.js';
import type { CommitGate } from './commit-gate.js';
import type { Health } from './health.js';
import type { Sample } from './sample.js';

/** Where a source delivers what it read. Both calls are synchronous and cheap: they are the hot path. */
export interface SampleSink {
  /** Samples of one message (same machine and timestamp), or of several. The array may be reused by the caller after return. */
  samples(batch: readonly Sample[]): void;
  /** A message that could not become samples, with a bounded reason label and its machine when known. */
  reject(reason: string, machine?: string): void;
  /**
   * Present when the agent commits on the sources' behalf: a source that must not acknowledge
   * a message before its effect is saved (MQTT QoS 1), or that wants a crash to lose little
   * (OPC UA), holds each message here and learns when it is on disk. Without it (tests, replay)
   * nothing waits.
   */
  readonly commits?: CommitGate;
}

/** What every plugin gets from the agent; plugins never create their own logger or clock. */
export interface PluginContext {
  /** Instance id (the source's `id`). */
  id: string;
  /** Child logger labelled with the plugin type and id. */
  logger: Logger;
  /** The agent's time, with timers on it (tests move it). */
  clock: Scheduler;
  /** The agent's id (names MQTT clients and tags data). */
  agentId: string;
  /** True when `path` is a configured machine. */
  isMachine(path: string): boolean;
  /** Folder relative file paths in the plugin config are resolved against. */
  baseDir: string;
}

/**
 * A source of samples (agent/ARCHITECTURE.md, "Contracts"). `create` does no I/O; `start` connects and
 * resolves once the source is running (it keeps retrying in the background on failure, it
 * never rejects for a lost connection); `stop` releases everything.
 */
export interface Source {
  readonly id: string;
  readonly type: string;
  start(sink: SampleSink): Promise<void>;
  stop(): Promise<void>;
  health(): Health;
  /** Monotonic counters for metrics, read at scrape time (e.g. `messages`, `reconnects`). */
  counters(): Readonly<Record<string, number>>;
}

/**
 * Loads a plugin's config schema. It is a dynamic import on purpose: only config validation (a
 * short-lived worker, `check-config`, the docs generator) loads schema code; the running agent
 * never does (agent/src/config/load-isolated.ts says why).
 */
export type SchemaLoader<S extends ZodType> = () => Promise<S>;

/** The config an instance of plugin definition `D` is created with. */
export type ConfigOf<D> = D extends { config: SchemaLoader<infer S> } ? output<S> : never;

/**
 * A source plugin: its `type` (= its folder's name), the schema of one `sources[]` entry of that
 * type, and a factory that does no I/O. Registered by one line in sources/registry.ts.
 */
export interface SourceDef<S extends ZodType = ZodType> {
  readonly type: string;
  readonly config: SchemaLoader<S>;
  create(config: output<S>, ctx: PluginContext): Source;
}
