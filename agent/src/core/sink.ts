import type { Aggregate } from './aggregate.js';
import type { Alert, AlertChange } from './alert.js';
import type { Health } from './health.js';
import type { output, ZodType } from 'zod';
import type { PluginContext, SchemaLoader } from './plugin.js';

/**
 * One emission serialized for one sink, as the outbox keeps it until the sink accepted it
 * (agent/ARCHITECTURE.md, "Delivery"). The payload is written once, at commit, so a retry sends the same bytes.
 */
export interface OutboxRecord {
  /** Position in the outbox; increases with every append, across sinks. */
  readonly id: number;
  readonly sink: string;
  /** Agent time of the commit that appended it (epoch ms). */
  readonly createdAt: number;
  /** What it is about, for logs and the dead-letter table: `window <machine> <start> r<revision>` ({@link windowRecordKey}) or `alert <id> <kind>`. */
  readonly key: string;
  /** The serialized record (InfluxDB: one line of line protocol; MQTT: topic and JSON). */
  readonly payload: string;
}

/** The key of a window's outbox record: `window <machine> <start> r<revision>`. */
export function windowRecordKey(a: Pick<Aggregate, 'machine' | 'windowStart' | 'revision'>): string {
  return `window ${a.machine} ${a.windowStart} r${a.revision}`;
}

/** The window a record key of {@link windowRecordKey} names, or undefined for any other key (an alert's). */
export function parseWindowRecordKey(key: string): { machine: string; windowStart: number; revision: number } | undefined {
  const m = /^window (.+) (-?\d+) r(\d+)$/.exec(key);
  return m === null ? undefined : { machine: m[1]!, windowStart: Number(m[2]), revision: Number(m[3]) };
}

/** How a scheduled report is delivered besides its file in `reports.folder`. */
export type ReportChannelKind = 'webhook' | 'email';

/**
 * The outbox channel (and sink id in status and metrics) of one schedule's delivery:
 * `report.<schedule id>.webhook` or `report.<schedule id>.email`. The config refuses a sink whose
 * id is one of these.
 */
export function reportChannel(schedule: string, kind: ReportChannelKind): string {
  return `report.${schedule}.${kind}`;
}

/** The backlog bound of one sink: beyond either limit the oldest records are dropped (counted). */
export interface OutboxBound {
  maxBytes: number;
  maxAgeMs: number;
}

/** A sink's side of the commit: its serializer and its backlog bound (the pipeline appends what it returns to the outbox). */
export interface OutboxWriter {
  sink: string;
  serialize(aggregate: Aggregate): string | undefined;
  /** The payload of one alert change given the machine's open alerts after it; undefined: not for this sink. */
  serializeAlert?(change: AlertChange, openOfMachine: readonly Alert[]): string | undefined;
  bound: OutboxBound;
}

/** How a write failed, which decides what the forwarder does next. */
export type SinkErrorKind =
  /** Try the same batch again after a back-off (network, timeout, 5xx, 429). */
  | 'retryable'
  /** The receiver refused part of the batch as malformed: split it to find the bad records. */
  | 'malformed'
  /** Nothing will work until someone acts (credentials, missing database): keep everything, retry slowly. */
  | 'blocked';

/** What `Sink.write` throws; anything else it throws is treated as retryable. */
export class SinkError extends Error {
  constructor(
    readonly kind: SinkErrorKind,
    message: string,
    readonly options: { retryAfterMs?: number | undefined; cause?: unknown; status?: number | undefined } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'SinkError';
  }
}

/**
 * A destination (agent/ARCHITECTURE.md, "Contracts"). `create` does no I/O. `write` resolves once the
 * destination accepted the whole batch, or throws (a `SinkError` says how to go on); it never
 * buffers: the outbox does, and the forwarder retries.
 */
export interface Sink {
  readonly id: string;
  readonly type: string;
  /** Optional one-time preparation (e.g. create the database); failures are retried like writes. */
  prepare?(): Promise<void>;
  write(batch: readonly OutboxRecord[]): Promise<void>;
  close(): Promise<void>;
  health(): Health;
}

/**
 * A sink plugin: its `type` (= its folder's name), the schema of one `sinks[]` entry of that type,
 * pure serializers run inside the commit transaction, and a factory that does no I/O.
 * Registered by one line in sinks/registry.ts.
 */
export interface SinkDef<S extends ZodType = ZodType> {
  readonly type: string;
  readonly config: SchemaLoader<S>;
  /** The payload of one aggregate for this sink, or undefined when the sink does not take it. Pure and synchronous. */
  serializeWindow(config: output<S>, aggregate: Aggregate, agentId: string): string | undefined;
  /** The payload of one alert change (the machine's open alerts after it are given too); undefined: not for this sink. */
  serializeAlert?(config: output<S>, change: AlertChange, openOfMachine: readonly Alert[], agentId: string): string | undefined;
  create(config: output<S>, ctx: PluginContext): Sink;
  /**
   * True when each window lands under a key of its own (InfluxDB: series and timestamp = window
   * start), so that sending stored windows again (`yieldwatch backfill`) fills in history and a
   * window sent twice overwrites itself. Absent: the sink keeps only the latest per machine (an
   * MQTT retained topic) or takes no windows, and backfill refuses it.
   */
  readonly backfill?: boolean;
}

/** Per-sink bookkeeping, kept in `sink_state` in the same transactions as the records it counts. */
export interface OutboxStats {
  /** Records waiting for the sink, and their payload bytes. */
  pendingRecords: number;
  pendingBytes: number;
  /** Agent time the oldest waiting record was committed (undefined: nothing waits). */
  oldestCreatedAt: number | undefined;
  /** Records the sink accepted, since the store was created. */
  delivered: number;
  /** Records dropped unsent by the backlog bound, and their bytes. */
  dropped: number;
  droppedBytes: number;
  /** Records the sink refused as malformed, moved to `dead_letters`. */
  deadLettered: number;
  /** Records lost unsent because the store file was damaged (see recover.ts). */
  lost: number;
  lastSuccessAt: number | undefined;
}

export const SINK_ERROR_KINDS: readonly SinkErrorKind[] = ['retryable', 'malformed', 'blocked'];

/** Delivery state of one sink: its outbox backlog and its forwarder's errors (status API, metrics, health). */
export interface ForwarderStatus extends OutboxStats {
  sink: string;
  type: string;
  health: Health;
  /** Failed writes by kind, since start. */
  errors: Record<SinkErrorKind, number>;
  /** Failed attempts in a row (0 while writes succeed). */
  failuresInRow: number;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
  /** Agent time of the next attempt while backing off. */
  nextAttemptAt: number | undefined;
}
