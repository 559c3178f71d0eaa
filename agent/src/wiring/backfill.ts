import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { timeOf } from '../api/query.js';
import type { Aggregate } from '../core/aggregate.js';
import type { Clock } from '../core/clock.js';
import { systemClock } from '../core/clock.js';
import { parseDuration } from '../core/duration.js';
import { YieldwatchError } from '../core/errors.js';
import { parseWindowRecordKey, windowRecordKey, type OutboxRecord, type Sink } from '../core/sink.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../observe/logger.js';
import { SINK_TYPES, type SinkConfig } from '../sinks/registry.js';
import { Store } from '../store/store.js';
import { createForwarder, outboxWriter, sinkDef } from './sinks.js';

/*
 * `yieldwatch backfill`: the stored windows of a time range sent again to one configured sink,
 * so that a sink added later (a central InfluxDB) gets the history it missed. The sink's own
 * serializer and plugin do the work, through an outbox channel of the backfill's own:
 *
 * - The channel is `<sink id>~backfill`. Sink ids are `[A-Za-z0-9._-]`, so no configured sink
 *   can have that name; the live channel's order, backlog bound and counts are untouched.
 * - Windows are read in pages (window start, then machine), serialized as the live path
 *   serializes them (same bytes, same key: InfluxDB overwrites a point it has) and appended in
 *   one transaction per page, which also records how far the range is queued
 *   (`store_meta`: `backfill <channel> from|to|queued`). Queueing runs at most QUEUE_AHEAD
 *   records ahead of sending, so the store does not hold a second copy of a year of windows.
 * - A forwarder drives the channel with the sink's plugin until it is empty. A record whose
 *   window was revised after it was queued is sent as the window's stored revision, so an
 *   older revision never overwrites a newer one the live channel already delivered.
 * - Interrupted (signal, kill, a sink that refuses or stays unreachable), what is queued stays
 *   queued. The next run sends it first, and when its --from lies within what the interrupted
 *   run had queued, it queues only from where that run stopped (the usual case: the same
 *   command again, `--to` defaulting to a later now). A finished run forgets its range: the
 *   same command again sends the range again, which InfluxDB takes as overwrites.
 * - It works beside a running agent: the store is opened as a second process (WAL, busy
 *   timeout, no migration, no salvage), and every write is a short transaction.
 */

/** Windows read, serialized and appended per transaction. */
const PAGE = 2000;
/** At most this many records wait in the channel: queueing pauses until the sink has taken more. */
const QUEUE_AHEAD = 20_000;
/** How often the loop looks at the forwarder while nothing is to be queued. */
const POLL_MS = 100;
/** Without a terminal, one progress line this often. */
const PROGRESS_EVERY_MS = 5000;
/** On a terminal, the updating line is redrawn at most this often. */
const REDRAW_MS = 100;
/** How long a sink may fail without a success before the backfill stops (unless --give-up-after). */
export const DEFAULT_GIVE_UP_AFTER_MS = 120_000;

/** The outbox channel a backfill of `sinkId` sends through; `~` is never in a sink id. */
export function backfillChannel(sinkId: string): string {
  return `${sinkId}~backfill`;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** A date `YYYY-MM-DD` (midnight UTC), an ISO 8601 instant with Z or an offset, or epoch ms; undefined otherwise. */
export function parseBackfillTime(text: string): number | undefined {
  const d = DATE.exec(text);
  if (d === null) return timeOf(text);
  const [y, m, day] = [Number(d[1]), Number(d[2]), Number(d[3])];
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, day);
  // 2026-02-30 is no date (Date would roll it over to March).
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === day ? t.getTime() : undefined;
}

export interface BackfillRequest {
  sink: SinkConfig;
  from: number;
  to: number;
  dryRun: boolean;
  giveUpAfterMs: number;
}

export interface BackfillArgs {
  file: string;
  sink: string | undefined;
  from: string | undefined;
  to: string | undefined;
  dryRun: boolean | undefined;
  giveUpAfter: string | undefined;
}

const TIME_FORMS = 'a date (2026-03-01, midnight UTC), an ISO 8601 instant with Z or an offset (2026-03-01T06:00:00+01:00) or epoch milliseconds';

/** The times of the command line, checked before the config is read; a sentence for the person when they are wrong. */
export function backfillTimes(args: Pick<BackfillArgs, 'from' | 'to' | 'giveUpAfter'>, now: number): { from: number; to: number; giveUpAfterMs: number } | string {
  if (args.from === undefined) return `backfill needs --from TIME: ${TIME_FORMS}.`;
  const from = parseBackfillTime(args.from);
  if (from === undefined) return `--from "${args.from}" is not a time; give ${TIME_FORMS}.`;
  const to = args.to === undefined ? now : parseBackfillTime(args.to);
  if (to === undefined) return `--to "${args.to}" is not a time; give ${TIME_FORMS}.`;
  if (from >= to) return `--from (${iso(from)}) must be before --to (${args.to === undefined ? `now, ${iso(to)}` : iso(to)}).`;
  const giveUpAfterMs = args.giveUpAfter === undefined ? DEFAULT_GIVE_UP_AFTER_MS : parseDuration(args.giveUpAfter);
  if (giveUpAfterMs === undefined) return `--give-up-after "${args.giveUpAfter}" is not a duration such as "30s", "5m" or "1h".`;
  return { from, to, giveUpAfterMs };
}

/** The configured sink to backfill, or a sentence naming the ones there are. */
export function backfillSink(config: Config, file: string, id: string | undefined): SinkConfig | string {
  const known = config.sinks.map((s) => `${s.id} (${s.type})`).join(', ') || 'none';
  if (id === undefined) return `backfill needs --sink ID; the sinks of ${file}: ${known}.`;
  const sc = config.sinks.find((s) => s.id === id);
  if (sc === undefined) return `${file} has no sink "${id}"; its sinks: ${known}.`;
  if (sinkDef(sc).backfill !== true) {
    const types = Object.values(SINK_TYPES)
      .filter((d) => (d as { backfill?: boolean }).backfill === true)
      .map((d) => d.type)
      .join(', ');
    return `Sink "${id}" is of type ${sc.type}, which keeps no history of windows to fill in (it keeps each machine's latest, or takes no windows); backfill sends to sinks of type ${types}.`;
  }
  return sc;
}

function iso(t: number): string {
  return new Date(t).toISOString();
}

function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

function durationText(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return s < 3600 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * The progress line on stderr: on a terminal one line redrawn in place, otherwise a line every
 * few seconds. Log lines written through `stream` clear the line first and redraw it after.
 */
export class ProgressLine {
  private text = '';
  private shown = false;
  private lastAt = -Infinity;

  constructor(private readonly out: NodeJS.WriteStream | NodeJS.WritableStream, private readonly tty: boolean) {}

  update(text: string, force = false): void {
    this.text = text;
    const now = Date.now();
    if (this.tty) {
      if (!force && now - this.lastAt < REDRAW_MS) return;
      this.out.write(`\r${text}\x1b[K`);
      this.shown = true;
    } else {
      if (!force && now - this.lastAt < PROGRESS_EVERY_MS) return;
      this.out.write(`${text}\n`);
    }
    this.lastAt = now;
  }

  /** Writes a line of its own (a log line, a message), keeping the progress line below it on a terminal. */
  line(text: string): void {
    if (this.tty && this.shown) this.out.write('\r\x1b[K');
    this.out.write(text.endsWith('\n') ? text : `${text}\n`);
    if (this.tty && this.shown) this.out.write(this.text);
  }

  /** Removes the updating line (a terminal), before the final words. */
  end(): void {
    if (this.tty && this.shown) this.out.write('\r\x1b[K');
    this.shown = false;
  }

  /** A stream for the logger: its lines go through `line`. */
  stream(): Writable {
    return new Writable({
      write: (chunk: Buffer | string, _enc, done) => {
        this.line(chunk.toString());
        done();
      },
    });
  }
}

export interface BackfillIo {
  /** The final summary (stdout). */
  out: (line: string) => void;
  /** Progress, messages and log lines (stderr). */
  err: NodeJS.WritableStream;
  /** Whether `err` is a terminal: one updating progress line. */
  tty: boolean;
  /** Aborted by Ctrl-C or SIGTERM; its reason is the signal's name. */
  signal?: AbortSignal | undefined;
  clock?: Clock;
  /** Windows per transaction and records queued ahead of sending (tests make them small). */
  limits?: { page: number; queueAhead: number };
}

/** The remembered range of an interrupted backfill of a channel (`store_meta`). */
class RangeRecord {
  constructor(
    private readonly store: Store,
    private readonly channel: string,
  ) {}

  private key(part: 'from' | 'to' | 'queued'): string {
    return `backfill ${this.channel} ${part}`;
  }

  read(): { from: number; to: number; queued: number } | undefined {
    const from = this.store.meta(this.key('from'));
    const to = this.store.meta(this.key('to'));
    const queued = this.store.meta(this.key('queued'));
    return from === undefined || to === undefined || queued === undefined ? undefined : { from, to, queued };
  }

  /** Inside the caller's transaction when it has one. */
  write(r: { from: number; to: number; queued: number }): void {
    this.store.setMeta(this.key('from'), r.from);
    this.store.setMeta(this.key('to'), r.to);
    this.store.setMeta(this.key('queued'), r.queued);
  }

  queuedUpTo(t: number): void {
    this.store.setMeta(this.key('queued'), t);
  }

  forget(): void {
    this.store.transaction(() => {
      for (const part of ['from', 'to', 'queued'] as const) this.store.setMeta(this.key(part), undefined);
    });
  }
}

/**
 * The sink's plugin, sending each window's stored revision when the window was revised after
 * its record was queued (the live channel delivers revisions as they come; an older one sent
 * late must not overwrite them). `renewed` collects the ids of the records sent so.
 */
function latestRevisions(plugin: Sink, store: Store, serialize: (a: Aggregate) => string | undefined, renewed: Set<number>): Sink {
  const fresh = (r: OutboxRecord): OutboxRecord => {
    const k = parseWindowRecordKey(r.key);
    if (k === undefined) return r;
    const revision = store.aggregateRevision(k.machine, k.windowStart);
    if (revision === undefined || revision <= k.revision) return r;
    const a = store.getAggregate(k.machine, k.windowStart);
    const payload = a === undefined ? undefined : serialize(a);
    if (a === undefined || payload === undefined) return r;
    renewed.add(r.id);
    return { ...r, key: windowRecordKey(a), payload };
  };
  return {
    id: plugin.id,
    type: plugin.type,
    ...(plugin.prepare !== undefined ? { prepare: () => plugin.prepare!() } : {}),
    write: (batch) => plugin.write(batch.map(fresh)),
    close: () => plugin.close(),
    health: () => plugin.health(),
  };
}

/** Where the agent keeps its store (agent.ts). */
function storePath(dataDir: string): string {
  return join(dataDir, 'yieldwatch.db');
}

/**
 * Runs one backfill to its end; returns the exit code: 0 all sent, 1 the sink refused or stayed
 * unreachable (or refused records as malformed), 130/143 interrupted by SIGINT/SIGTERM. What is
 * queued and not sent stays queued for the next run.
 */
export async function runBackfill(
  loaded: { config: Config; dataDir: string; baseDir: string },
  req: BackfillRequest,
  io: BackfillIo,
): Promise<number> {
  const { config, dataDir, baseDir } = loaded;
  const sc = req.sink;
  const clock = io.clock ?? systemClock;
  const { page: pageSize, queueAhead } = io.limits ?? { page: PAGE, queueAhead: QUEUE_AHEAD };
  const t0 = performance.now();
  const path = storePath(dataDir);
  if (!existsSync(path)) {
    throw new YieldwatchError('YW_ERR_STORE_OPEN', `There is no local store at ${path}: no windows to send (is agent.dataDir of this config the agent's?).`);
  }
  const store = new Store({ path, synchronous: config.store.synchronous, secondary: true });
  const progress = new ProgressLine(io.err, io.tty);
  const say = (text: string) => progress.line(text);
  try {
    const channel = backfillChannel(sc.id);
    const writer = outboxWriter(sc, config.agent.id);
    const record = new RangeRecord(store, channel);
    const earlier = record.read();
    const waiting = store.outbox.stats(channel).pendingRecords;
    // Resume: a --from within what an interrupted run queued continues where it stopped.
    const resumed = earlier !== undefined && req.from >= earlier.from && req.from <= earlier.queued ? earlier : undefined;
    const resumes = resumed !== undefined;
    const start = resumed !== undefined ? Math.max(req.from, resumed.queued) : req.from;
    const range = `${iso(req.from)} to ${iso(req.to)}`;
    if (earlier !== undefined) {
      say(
        `An earlier backfill of sink "${sc.id}" (${iso(earlier.from)} to ${iso(earlier.to)}) stopped after queueing the windows before ${iso(earlier.queued)}` +
          (waiting > 0 ? `; its ${waiting} unsent records are sent first` : '') +
          (resumes ? (start < req.to ? `; this run queues from ${iso(start)} on.` : '; this run queues nothing more.') : `; this run queues its own range, ${range}, and the rest of that one is not queued (run it again to send it).`),
      );
    } else if (waiting > 0) {
      say(`${waiting} records an earlier backfill of sink "${sc.id}" queued are sent first.`);
    }

    if (req.dryRun) {
      let windows = 0;
      let revised = 0;
      let bytes = 0;
      for (const a of store.iterateAggregates({ from: start, to: req.to })) {
        const payload = writer.serialize(a);
        if (payload === undefined) continue;
        windows++;
        if (a.revision > 0) revised++;
        bytes += Buffer.byteLength(payload);
      }
      const pending = store.outbox.stats(channel);
      io.out(
        `dry run, nothing sent: ${windows} windows (${revised} revised), ${bytesText(bytes)} for sink "${sc.id}", would be queued from ${iso(start)} to ${iso(req.to)}` +
          (pending.pendingRecords > 0 ? `; ${pending.pendingRecords} records (${bytesText(pending.pendingBytes)}) an earlier run queued wait to be sent` : '') +
          '.',
      );
      return 0;
    }

    store.transaction(() => record.write({ from: resumed?.from ?? req.from, to: req.to, queued: start }));
    const total = start < req.to ? store.countAggregates({ from: start, to: req.to }) : 0;
    const renewed = new Set<number>();
    // On a terminal the messages above the progress line (which shows the last error); otherwise JSON lines on stderr, as the agent logs.
    const logger = createLogger({ level: config.agent.logLevel, destination: progress.stream(), pretty: io.tty, messagesOnly: io.tty });
    const context = { id: sc.id, logger: logger.child({ sink: sc.id, type: sc.type, backfill: true }), clock: systemClock, agentId: config.agent.id, isMachine: () => true, baseDir };
    const forwarder = createForwarder(sc, store.outbox, context, { channel, idlePoll: 250, sink: (p) => latestRevisions(p, store, writer.serialize, renewed) });
    const first = store.outbox.stats(channel);

    let cursor = start;
    let queued = 0;
    let revised = 0;
    let failure: string | undefined;
    let failingSince: number | undefined;
    const sent = () => store.outbox.stats(channel).delivered - first.delivered;
    const show = (force = false) => {
      const s = forwarder.status();
      const retrying = s.failuresInRow > 0 ? ` (retrying: ${s.lastError ?? 'write failed'})` : '';
      const queueing = total > 0 ? `${queued}/${total} windows queued, ` : '';
      progress.update(`backfill of sink "${sc.id}": ${queueing}${sent()} sent, ${s.pendingRecords} waiting${retrying}`, force);
    };

    /** Reads, serializes and appends one page of windows from `cursor` in one transaction; returns the new cursor. */
    const queuePage = (): number => {
      const page = store.queryAggregates({ from: cursor, to: req.to, limit: pageSize });
      let take = page;
      let next = req.to;
      if (page.length === pageSize) {
        // Whole window starts only: the cursor is "every window before `next` is queued".
        const last = page[page.length - 1]!.windowStart;
        take = page.filter((a) => a.windowStart < last);
        next = last;
        if (take.length === 0) {
          // One start has more windows than a page: take them all, and go on at the next start.
          take = store.queryAggregates({ from: last, to: last + 1 });
          next = store.queryAggregates({ from: last + 1, to: req.to, limit: 1 })[0]?.windowStart ?? req.to;
        }
      }
      const now = clock.now();
      let n = 0;
      let r = 0;
      store.transaction(() => {
        for (const a of take) {
          const payload = writer.serialize(a);
          if (payload === undefined) continue;
          store.outbox.append(channel, now, windowRecordKey(a), payload);
          n++;
          if (a.revision > 0) r++;
        }
        record.queuedUpTo(next);
      });
      queued += n;
      revised += r;
      return next;
    };

    forwarder.start();
    try {
      for (;;) {
        if (io.signal?.aborted === true) break;
        const s = forwarder.status();
        if (s.failuresInRow > 0) {
          const since = (failingSince ??= Date.now());
          if (s.health.status === 'down') {
            failure = `Sink "${sc.id}" refuses the writes: ${s.lastError ?? 'blocked'}.`;
            break;
          }
          if (Date.now() - since >= req.giveUpAfterMs) {
            failure = `Sink "${sc.id}" took no write for ${durationText(Date.now() - since)}: ${s.lastError ?? 'write failed'}.`;
            break;
          }
        } else {
          failingSince = undefined;
        }
        if (cursor < req.to && s.pendingRecords < queueAhead) {
          cursor = queuePage();
          forwarder.wake();
          show();
          // Let signals, the forwarder and the progress line run between pages.
          await new Promise((r) => setImmediate(r));
          continue;
        }
        if (cursor >= req.to && s.pendingRecords === 0) break;
        show();
        await sleep(POLL_MS);
      }
    } finally {
      await forwarder.stop();
    }
    show(true);
    progress.end();

    const end = store.outbox.stats(channel);
    const took = durationText(performance.now() - t0);
    const deadLettered = end.deadLettered - first.deadLettered;
    const now = queued > 0 ? `${queued} queued now from ${iso(start)} to ${iso(req.to)} (${revised} of them revised)` : start < req.to ? `no windows stored from ${iso(start)} to ${iso(req.to)}` : 'none queued now';
    const what = `${now}${first.pendingRecords > 0 ? `, ${first.pendingRecords} queued by an earlier run` : ''}${renewed.size > 0 ? `; ${renewed.size} sent as the newer revision stored since they were queued` : ''}`;
    const left = `${end.pendingRecords} stay queued for sink "${sc.id}"`;
    if (io.signal?.aborted === true) {
      const sig = String(io.signal.reason);
      say(`Interrupted (${sig}) after ${took}: sent ${sent()} windows; ${left}, and the range is remembered: run the same command again to go on.`);
      return sig === 'SIGTERM' ? 143 : 130;
    }
    if (failure !== undefined) {
      say(`${failure} The backfill stops after ${took}: sent ${sent()} windows; ${left}, and the range is remembered: run the same command again once the sink accepts them.`);
      return 1;
    }
    record.forget();
    io.out(`sent ${sent()} windows to sink "${sc.id}" in ${took}: ${what}.`);
    if (deadLettered > 0) {
      say(`${deadLettered} windows were refused as malformed and moved to the dead-letter table (sink "${channel}"); the server's answers are there.`);
      return 1;
    }
    return 0;
  } finally {
    progress.end();
    store.close();
  }
}
