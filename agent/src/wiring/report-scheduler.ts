import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Config, ReportScheduleConfig } from '../config/schema.js';
import type { Scheduler, TimerHandle } from '../core/clock.js';
import type { Health } from '../core/health.js';
import { reportChannel, type OutboxBound, type ReportChannelKind, type Sink } from '../core/sink.js';
import { secretValues } from '../core/secrets.js';
import type { ReportScheduleStats } from '../core/stats.js';
import { Forwarder } from '../forward.js';
import { renderReport } from '../reports/render.js';
import { MAX_CHECK_INTERVAL_MS, nextCheckIn, ReportSchedule, reportToMake, scheduledReportFile, scheduleSite, type DueReport } from '../reports/schedule.js';
import { makeReport, ReportRequestError, type ReportContext } from '../reports/service.js';
import { reportEmailSink, reportWebhookSink, type ReportDelivery, type ReportFileRef } from '../sinks/report-delivery.js';
import type { Store } from '../store/store.js';

/**
 * Scheduled reports in the running agent (agent/src/reports/README.md, "Schedules"): a timer on
 * the agent's clock looks at the schedules at each occurrence (and at least every minute); a
 * report that is due and not yet made is made off the hot path, written to `reports.folder` (temp
 * file + rename), and recorded in the store in one transaction with the outbox records of its
 * deliveries; a forwarder per delivery channel sends them with the outbox's retries and dead
 * letters. Reports are made one at a time.
 */

export interface ReportSchedulerOptions {
  config: Config;
  store: Store;
  clock: Scheduler;
  logger: Logger;
  /** Absolute `agent.dataDir`: `reports.folder` is relative to it. */
  dataDir: string;
  /** Where reports read: the agent's reader and manual entries, and what a report names. */
  sources: Omit<ReportContext, 'cfg' | 'clock'>;
  /** Delivery retry delays (ms); the defaults are the sinks' (1 s doubling to 5 min). */
  retryMin?: number;
  retryMax?: number;
}

interface Channel {
  kind: ReportChannelKind;
  id: string;
  forwarder: Forwarder;
}

interface Scheduled {
  config: ReportScheduleConfig;
  plan: ReportSchedule;
  channels: Channel[];
  /** The occurrence last attempted in this run of the agent: a failed one is tried again at the next occurrence, not at every check. */
  lastAttempt: number | undefined;
  stats: ReportScheduleStats;
}

/** Records of a report channel are a few hundred bytes each: this bound never bites unless something is badly wrong. */
const CHANNEL_MAX_BYTES = 16 * 1024 * 1024;

/** Writes `body` to `path` so that a reader sees the old file or the whole new one, never a part: a temp file, flushed, then renamed over it. */
async function writeAtomically(path: string, body: Buffer): Promise<void> {
  const dir = resolve(path, '..');
  const tmp = join(dir, `.${path.slice(dir.length + 1)}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(body);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

const iso = (t: number | undefined) => (t === undefined ? undefined : new Date(t).toISOString());

/** Lets timers and I/O run between two formats of a report: the ticker's commits are never held up by more than one render. */
const yieldToLoop = () => new Promise<void>((r) => setImmediate(r));

export class ReportScheduler {
  /** The forwarders of every schedule's delivery channels (`report.<id>.webhook`, `report.<id>.email`). */
  readonly forwarders: Forwarder[] = [];
  /** The folder reports are written to. */
  readonly folder: string;
  private readonly schedules: Scheduled[];
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private readonly bound: OutboxBound;

  constructor(private readonly o: ReportSchedulerOptions) {
    const { config } = o;
    this.folder = resolve(o.dataDir, config.reports.folder);
    // A record whose file was pruned cannot be sent any more: the channels keep records as long as the files.
    this.bound = { maxBytes: CHANNEL_MAX_BYTES, maxAgeMs: config.store.retention };
    this.schedules = config.reports.schedules.map((sc) => {
      const plan = new ReportSchedule(sc, scheduleSite(config, sc.scope));
      const channels: Channel[] = [];
      if (sc.webhook !== undefined) {
        const id = reportChannel(sc.id, 'webhook');
        channels.push({ kind: 'webhook', id, forwarder: this.forwarderFor(id, reportWebhookSink({ id, url: sc.webhook.url, headers: sc.webhook.headers, timeoutMs: sc.webhook.timeout, folder: this.folder }), secretValues(sc.webhook)) });
      }
      if (sc.email !== undefined) {
        const id = reportChannel(sc.id, 'email');
        const logger = o.logger.child({ sink: id, type: 'report-email' });
        channels.push({ kind: 'email', id, forwarder: this.forwarderFor(id, reportEmailSink({ id, smtp: sc.email.smtp, from: sc.email.from, to: sc.email.to, folder: this.folder, agentId: config.agent.id, logger }), secretValues(sc.email)) });
      }
      this.forwarders.push(...channels.map((c) => c.forwarder));
      return {
        config: sc,
        plan,
        channels,
        lastAttempt: undefined,
        stats: { schedule: sc.id, made: 0, failed: 0, lastPeriod: undefined, lastMadeAt: undefined, lastError: undefined, lastFailedAt: undefined, nextAt: undefined },
      };
    });
  }

  private forwarderFor(id: string, sink: Sink, secrets: readonly string[]): Forwarder {
    const logger = this.o.logger.child({ sink: id, type: sink.type });
    // One report per record: a retry after a refused file does not send the files before it again.
    return new Forwarder({ sink, outbox: this.o.store.outbox, clock: this.o.clock, logger, batchSize: 1, retryMin: this.o.retryMin ?? 1_000, retryMax: this.o.retryMax ?? 300_000, secrets });
  }

  /** Starts the delivery forwarders and looks at the schedules now: a report due while the agent was down is made at start. */
  start(): void {
    if (!this.stopped || this.schedules.length === 0) return;
    this.stopped = false;
    this.removeTempFiles();
    for (const f of this.forwarders) f.start();
    const now = this.o.clock.now();
    this.o.logger.info(
      {
        folder: this.o.config.reports.folder,
        schedules: this.schedules.map((s) => ({ id: s.config.id, cron: s.config.cron, timeZone: s.plan.site.ctx.timeZone, period: s.config.period, next: iso(s.plan.nextAfter(now)) })),
      },
      `${this.schedules.length} report schedule${this.schedules.length === 1 ? '' : 's'}; a report due while the agent was down is made now.`,
    );
    this.check();
  }

  /** Stops the timer, waits for a report being made, and stops the forwarders (what they have not sent stays in the outbox). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.o.clock.clearTimer(this.timer);
    this.timer = undefined;
    await this.running;
    await Promise.allSettled(this.forwarders.map((f) => f.stop()));
  }

  /** Resolves once no report is being made (tests). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running;
  }

  /** What each schedule did since start. */
  stats(): ReportScheduleStats[] {
    return this.schedules.map((s) => ({ ...s.stats }));
  }

  /** Health of each schedule (`report:<id>`): degraded while its latest attempt failed. */
  health(): Record<string, Health> {
    const out: Record<string, Health> = {};
    for (const s of this.schedules) {
      const st = s.stats;
      out[`report:${st.schedule}`] =
        st.lastError === undefined
          ? { status: 'ok', details: { made: st.made, lastPeriod: st.lastPeriod } }
          : { status: 'degraded', reason: `the last report failed: ${st.lastError}; it is tried again at the next occurrence`, details: { made: st.made, failed: st.failed } };
    }
    return out;
  }

  /**
   * Deletes the files of reports made before `before` (`store.retention`, with the store's other
   * pruning) and notes them pruned; the record of each report made stays, so its period is never
   * made again. Returns how many files went. Never throws.
   */
  pruneFiles(before: number): number {
    let removed = 0;
    try {
      for (const run of this.o.store.reportRuns.unpruned(before)) {
        for (const name of run.files) {
          rmSync(join(this.folder, name), { force: true });
          removed++;
        }
        this.o.store.reportRuns.markPruned(run.schedule, run.period, this.o.clock.now());
      }
      if (removed > 0) this.o.logger.info({ removed, folder: this.o.config.reports.folder }, 'Old scheduled report files pruned (store.retention).');
    } catch (err) {
      this.o.logger.error({ err }, 'Pruning old scheduled report files failed; tried again at the next pruning.');
    }
    return removed;
  }

  /** Looks at every schedule now, unless a look is still under way; then waits for the next occurrence. */
  private check(): void {
    this.timer = undefined;
    if (this.stopped) return;
    if (this.running !== undefined) return;
    this.running = this.makeDue()
      .catch((err: unknown) => this.o.logger.error({ err }, 'Looking at the report schedules failed; looked at again at the next check.'))
      .finally(() => {
        this.running = undefined;
        this.arm();
      });
  }

  /** Sets the timer of the next look; never throws (a store that cannot be read now is looked at again within a minute). */
  private arm(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    let wait = MAX_CHECK_INTERVAL_MS;
    try {
      for (const s of this.schedules) s.stats.nextAt = s.plan.nextAfter(now);
      // An occurrence that came while reports were being made is looked at right away.
      const pending = this.schedules.some((s) => this.toMake(s, now) !== undefined);
      wait = pending ? 0 : nextCheckIn(this.schedules.map((s) => s.plan), now);
    } catch (err) {
      this.o.logger.error({ err }, 'Looking at the report schedules failed; looked at again in a minute.');
    }
    this.o.clock.clearTimer(this.timer);
    this.timer = this.o.clock.setTimeout(() => this.check(), wait);
  }

  private toMake(s: Scheduled, now: number): DueReport | undefined {
    return reportToMake(s.plan, now, (id, period) => this.o.store.reportRuns.has(id, period), s.lastAttempt);
  }

  /** Makes, one after another, each schedule's due report that was not made yet. */
  private async makeDue(): Promise<void> {
    for (const s of this.schedules) {
      if (this.stopped) return;
      const due = this.toMake(s, this.o.clock.now());
      if (due === undefined) continue;
      s.lastAttempt = due.occurrence;
      await this.make(s, due);
    }
  }

  private async make(s: Scheduled, due: DueReport): Promise<void> {
    const { store, clock, logger, config } = this.o;
    const sc = s.config;
    // Real time, not the agent's clock: how long the report took to make.
    const started = performance.now();
    const periodLabel = due.period?.label;
    try {
      if (due.problem !== undefined || due.period === undefined) throw new ReportRequestError(due.problem ?? 'no period');
      const report = await makeReport({ cfg: config, clock, ...this.o.sources }, { period: due.period.label, scope: sc.scope, language: sc.language });
      mkdirSync(this.folder, { recursive: true });
      const files: ReportFileRef[] = [];
      for (const format of new Set(sc.formats)) {
        await yieldToLoop();
        const rendered = await renderReport(report, format, sc.language);
        const name = scheduledReportFile(sc.id, report.scope.spec, due.period.label, format);
        await writeAtomically(join(this.folder, name), rendered.body);
        files.push({ name, contentType: rendered.contentType, bytes: rendered.body.length });
      }
      const now = clock.now();
      const delivery = (f: ReportFileRef[]): string =>
        JSON.stringify({ schedule: sc.id, period: due.period!.label, scope: report.scope.spec, scopeLabel: report.scope.label, files: f } satisfies ReportDelivery);
      const recorded = store.transaction(() => {
        const fresh = store.reportRuns.record({
          schedule: sc.id,
          period: due.period!.label,
          periodStart: due.period!.start,
          periodEnd: due.period!.end,
          occurrence: due.occurrence,
          madeAt: now,
          files: files.map((f) => f.name),
        });
        if (!fresh) return false;
        for (const ch of s.channels) {
          const key = `report ${sc.id} ${due.period!.label}`;
          if (ch.kind === 'webhook') for (const f of files) store.outbox.append(ch.id, now, `${key} ${f.name}`, delivery([f]));
          else store.outbox.append(ch.id, now, key, delivery(files));
          store.outbox.enforceBound(ch.id, now, this.bound);
        }
        return true;
      });
      if (!recorded) return;
      for (const ch of s.channels) ch.forwarder.wake();
      Object.assign(s.stats, { made: s.stats.made + 1, lastPeriod: due.period.label, lastMadeAt: now, lastError: undefined });
      logger.info(
        { schedule: sc.id, period: due.period.label, scope: report.scope.spec, files: files.map((f) => f.name), deliveries: s.channels.map((c) => c.kind), ms: Math.round(performance.now() - started) },
        `Scheduled report "${sc.id}" of ${due.period.label} made.`,
      );
    } catch (err) {
      const reason = (err as Error)?.message ?? String(err);
      Object.assign(s.stats, { failed: s.stats.failed + 1, lastError: reason, lastFailedAt: clock.now() });
      // A request that cannot be made (a bad scope after a config change) needs no stack; anything else does.
      const fields = { schedule: sc.id, period: periodLabel, occurrence: new Date(due.occurrence).toISOString(), reason, ...(err instanceof ReportRequestError ? {} : { err }) };
      logger.error(fields, `Scheduled report "${sc.id}"${periodLabel === undefined ? '' : ` of ${periodLabel}`} failed: ${reason}. It is tried again at the schedule's next occurrence.`);
    }
  }

  /** Temp files left by a write that a crash cut short. */
  private removeTempFiles(): void {
    try {
      for (const f of readdirSync(this.folder)) if (f.startsWith('.yieldwatch-') && f.endsWith('.tmp')) rmSync(join(this.folder, f), { force: true });
    } catch {
      // No folder yet: nothing to remove.
    }
  }
}
