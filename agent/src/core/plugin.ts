import type { Logger } from 'pino';
import type { Scheduler } from './clock.js';
import type { Health } from './health.js';
import type { Sample } from './sample.js';

/** Where a source delivers what it read. Both calls are synchronous and cheap: they are the hot path. */
export interface SampleSink {
  /** Samples of one message (same machine and timestamp), or of several. The array may be reused by the caller after return. */
  samples(batch: readonly Sample[]): void;
  /** A message that could not become samples, with a bounded reason label and its machine when known. */
  reject(reason: string, machine?: string): void;
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
 * A source of samples (DESIGN.md, "Contracts"). `create` does no I/O; `start` connects and
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

export interface SourceDef<C> {
  type: string;
  create(config: C, ctx: PluginContext): Source;
}
