import type { Logger } from 'pino';
import type { Clock } from './core/clock.js';
import type { Health } from './core/health.js';
import { exponentialDelay } from './core/backoff.js';
import { redactSecrets } from './core/secrets.js';
import { SinkError, type ForwarderStatus, type OutboxRecord, type OutboxStats, type Sink, type SinkErrorKind } from './core/sink.js';
import type { Outbox } from './store/outbox.js';

/**
 * One loop per sink (agent/ARCHITECTURE.md, "Delivery"): next batch from the outbox, write, ack. A failed
 * write is retried with capped, jittered exponential back-off (a server's Retry-After wins);
 * a batch refused as malformed is split until the bad records are found, and those go to the
 * dead-letter table with the server's answer; a blocked sink (credentials, missing database)
 * keeps everything and is reported down. Nothing here drops data: only the outbox bound does.
 */

export interface ForwarderOptions {
  sink: Sink;
  outbox: Outbox;
  /** The outbox channel it sends: the sink's id by default; `yieldwatch backfill` drives a channel of its own. */
  channel?: string;
  clock: Clock;
  logger: Logger;
  /** Records per write. */
  batchSize: number;
  /** First retry delay after a failure; doubles per failure in a row up to `retryMax`. */
  retryMin: number;
  retryMax: number;
  /** How long an empty outbox waits before looking again when nobody calls `wake()`. */
  idlePoll?: number;
  /** Jitter source in [0, 1); injected by tests. */
  random?: () => number;
  /** The sink's configured secrets (core/secrets.ts `secretValues`), cut out of error text before it is logged or kept. */
  secrets?: readonly string[];
}

/** Most characters of an upstream error kept for logs, the status API and the dead-letter table: an error page is not a log line. */
export const ERROR_TEXT_MAX = 300;

/**
 * A write error as it may be logged: its text without credentials or the sink's secrets (an
 * upstream answer may echo an Authorization header or a token), bounded, and the stack's frames
 * (code locations) without the first line, which repeats the text.
 */
function loggableError(e: Error, text: string): { type: string; message: string; stack: string } {
  const frames = (e.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
  return { type: e.name, message: text, stack: [`${e.name}: ${text}`, ...frames].join('\n') };
}

/** Retry-After values beyond this are taken as this: a misconfigured proxy must not park a sink for days. */
const RETRY_AFTER_CAP_MS = 3_600_000;
const DEFAULT_IDLE_POLL_MS = 1000;
/** How long a sink stays `degraded` after records were last dropped or lost. */
export const LOSS_WARNING_MS = 3_600_000;

/** Delay before retry number `failures` (1-based): capped exponential with equal jitter, or the server's Retry-After. */
export function retryDelay(failures: number, min: number, max: number, random: number, retryAfterMs?: number): number {
  const base = exponentialDelay(failures, min, max);
  const jittered = base / 2 + (random * base) / 2;
  if (retryAfterMs !== undefined && retryAfterMs > 0) return Math.max(Math.min(retryAfterMs, RETRY_AFTER_CAP_MS), jittered);
  return jittered;
}

export class Forwarder {
  private stopped = true;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private prepared = false;
  private failuresInRow = 0;
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;
  private lastKind: SinkErrorKind | undefined;
  private nextAttemptAt: number | undefined;
  private readonly errors: Record<SinkErrorKind, number> = { retryable: 0, malformed: 0, blocked: 0 };
  private readonly random: () => number;
  /** dropped + lost at the last look (-1: not looked yet), and when it last grew. */
  private lossSeen = -1;
  private lossAt = -Infinity;

  private readonly channel: string;

  constructor(private readonly o: ForwarderOptions) {
    this.random = o.random ?? Math.random;
    this.channel = o.channel ?? o.sink.id;
    o.outbox.register(this.channel);
  }

  get sinkId(): string {
    return this.o.sink.id;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.loop = this.run();
  }

  /** New records were committed: send them now rather than at the next poll. Does not cut a back-off short. */
  wake(): void {
    if (this.nextAttemptAt !== undefined) return;
    this.wakeUp?.();
  }

  /** Stops after the write in flight (the sink bounds it with its own timeout); what is not acked stays in the outbox. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeUp?.();
    await this.loop;
    this.loop = undefined;
    await this.o.sink.close().catch((err: unknown) => this.o.logger.debug({ err }, 'The sink did not close cleanly.'));
  }

  status(): ForwarderStatus {
    const stats = this.o.outbox.stats(this.channel);
    return {
      sink: this.o.sink.id,
      type: this.o.sink.type,
      ...stats,
      health: this.health(stats),
      errors: { ...this.errors },
      failuresInRow: this.failuresInRow,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      nextAttemptAt: this.nextAttemptAt,
    };
  }

  private health(stats: OutboxStats): Health {
    const details = { pendingRecords: stats.pendingRecords, failuresInRow: this.failuresInRow, lastError: this.lastError };
    if (this.failuresInRow > 0 && this.lastKind === 'blocked') {
      return { status: 'down', reason: `the destination refuses every write until someone acts: ${this.lastError}; all records are kept`, details };
    }
    if (this.failuresInRow > 0) {
      return { status: 'degraded', reason: `writes are failing (${this.failuresInRow} in a row, ${stats.pendingRecords} records waiting): ${this.lastError}`, details };
    }
    // Drops and losses are a warning for a while after they were last seen grow, not forever.
    const now = this.o.clock.now();
    if (stats.dropped + stats.lost !== this.lossSeen) {
      if (this.lossSeen !== -1) this.lossAt = now;
      else if (stats.dropped + stats.lost > 0) this.lossAt = now;
      this.lossSeen = stats.dropped + stats.lost;
    }
    if (now - this.lossAt < LOSS_WARNING_MS) {
      const what = [stats.dropped > 0 ? `${stats.dropped} records were dropped unsent by the outbox bound (oldest first)` : '', stats.lost > 0 ? `${stats.lost} records were lost unsent when the damaged store file was salvaged at start-up` : '']
        .filter(Boolean)
        .join('; ');
      return { status: 'degraded', reason: what, details: { ...details, dropped: stats.dropped, lost: stats.lost } };
    }
    return { status: 'ok', details };
  }

  private async run(): Promise<void> {
    const { outbox, sink, logger } = this.o;
    while (!this.stopped) {
      try {
        if (!this.prepared && sink.prepare) {
          await sink.prepare();
          this.prepared = true;
        }
        const batch = outbox.next(this.channel, this.o.batchSize);
        if (batch.length === 0) {
          this.succeeded();
          await this.sleep(this.o.idlePoll ?? DEFAULT_IDLE_POLL_MS);
          continue;
        }
        await this.send(batch);
        this.succeeded();
      } catch (err) {
        if (this.stopped) break;
        const e = err instanceof SinkError ? err : new SinkError('retryable', (err as Error)?.message ?? String(err), { cause: err });
        const text = this.redact(e.message);
        this.failuresInRow++;
        this.errors[e.kind]++;
        this.lastKind = e.kind;
        this.lastError = text;
        this.lastErrorAt = this.o.clock.now();
        const max = this.o.retryMax;
        const delay = e.kind === 'blocked' ? max : retryDelay(this.failuresInRow, this.o.retryMin, max, this.random(), e.options.retryAfterMs);
        this.nextAttemptAt = this.o.clock.now() + delay;
        const fields = { sink: sink.id, kind: e.kind, err: loggableError(err instanceof Error ? err : e, text), failuresInRow: this.failuresInRow, retryInMs: Math.round(delay), pending: outbox.stats(this.channel).pendingRecords };
        if (this.failuresInRow === 1) logger.warn(fields, `Writing to sink "${sink.id}" failed (${e.kind}); the records stay in the outbox and are retried with back-off.`);
        else logger.debug(fields, 'Sink write failed again.');
        await this.sleep(delay);
        this.nextAttemptAt = undefined;
      }
    }
  }

  /** Writes one batch and acks it; a malformed answer splits the batch until the bad records are isolated. */
  private async send(batch: readonly OutboxRecord[]): Promise<void> {
    try {
      await this.o.sink.write(batch);
      this.o.outbox.ack(this.channel, batch, this.o.clock.now());
    } catch (err) {
      if (!(err instanceof SinkError) || err.kind !== 'malformed') throw err;
      this.errors.malformed++;
      if (batch.length === 1) {
        const r = batch[0]!;
        const answer = this.redact(err.message);
        this.o.outbox.deadLetter(r, this.o.clock.now(), answer);
        this.o.logger.error(
          { sink: r.sink, key: r.key, id: r.id, answer },
          `Sink "${r.sink}" refused a record as malformed; it was moved to the dead-letter table (${r.key}).`,
        );
        return;
      }
      const mid = Math.ceil(batch.length / 2);
      await this.send(batch.slice(0, mid));
      await this.send(batch.slice(mid));
    }
  }

  private redact(text: string): string {
    return redactSecrets(text, this.o.secrets, ERROR_TEXT_MAX);
  }

  private succeeded(): void {
    if (this.failuresInRow > 0) {
      this.o.logger.info({ sink: this.o.sink.id, failures: this.failuresInRow }, `Sink "${this.o.sink.id}" accepts writes again.`);
    }
    this.failuresInRow = 0;
    this.lastKind = undefined;
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(this.timer);
        this.timer = undefined;
        this.wakeUp = undefined;
        resolve();
      };
      this.wakeUp = done;
      this.timer = setTimeout(done, ms);
    });
  }
}
