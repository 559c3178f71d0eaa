import { mkdirSync, readdirSync, rmSync } from 'node:fs';
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
import { isTempFile, removeFiles, ReportFilesError, writeAllOrNone, type ReportFileBody } from './report-files.js';
import { TICK_MS } from '../pipeline/ticker.js';
import { MAX_CHECK_INTERVAL_MS, nextCheckIn, periodSettleMs, ReportSchedule, reportsToMake, retryDelay, scheduledReportFile, scheduleSite, type DueReport, type Look, type RunState } from '../reports/schedule.js';
import { makeReport, ReportRequestError, type ReportContext } from '../reports/service.js';
import { reportEmailSink, reportWebhookSink, type ReportDelivery, type ReportFileRef } from '../sinks/report-delivery.js';
import type { Store } from '../store/store.js';

/**
 * Scheduled reports in the running agent (agent/src/reports/README.md, "Schedules"): a timer on
 * the agent's clock looks at the schedules at each occurrence (and at least every minute); a
 * report that is due, whose period's data is in, and not yet made (the latest period, and missed or
 * failed ones within `catchUp`) is made off the hot path, written to `reports.folder` (all formats
 * or none), and recorded in the store in one transaction with the outbox records of its
 * deliveries; a failure is recorded too, and tried again with back-off. A forwarder per delivery
 * channel sends them with the outbox's retries and dead letters. Reports are made one at a time.
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
  /** Writes a report in a format; `renderReport` unless a test makes a format fail. */
  render?: typeof renderReport;
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
  /** The latest occurrence tried whose period could not be told (a bad scope): tried again at the next occurrence, not at every look. */
  lastProblem: number | undefined;
  /** Why that occurrence failed, until an occurrence names its period again. */
  problem: string | undefined;
  /** Failures of this run of the agent by period: their back-off holds even while the store cannot record them. */
  failures: Map<string, { failures: number; at: number; error: string }>;
  /** The period whose report waits for its last windows, once it was logged. */
  waitingFor: string | undefined;
  stats: ReportScheduleStats;
}

/** Records of a report channel are a few hundred bytes each: this bound never bites unless something is badly wrong. */
const CHANNEL_MAX_BYTES = 16 * 1024 * 1024;

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
    const settleMs = periodSettleMs(config.kpi, TICK_MS);
    this.schedules = config.reports.schedules.map((sc) => {
      const plan = new ReportSchedule(sc, scheduleSite(config, sc.scope), settleMs);
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
        lastProblem: undefined,
        problem: undefined,
        failures: new Map(),
        waitingFor: undefined,
        stats: { schedule: sc.id, made: 0, failed: 0, lastPeriod: undefined, lastMadeAt: undefined, lastError: undefined, lastFailedAt: undefined, nextAt: undefined, failing: [] },
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
    return this.schedules.map((s) => ({ ...s.stats, failing: [...s.stats.failing] }));
  }

  /** Health of each schedule (`report:<id>`): degraded while a period's report failed and is tried again, or its periods cannot be told. */
  health(): Record<string, Health> {
    const out: Record<string, Health> = {};
    for (const s of this.schedules) {
      const st = s.stats;
      const first = st.failing[0];
      const details = { made: st.made, failed: st.failed, lastPeriod: st.lastPeriod };
      if (first !== undefined) {
        const which = st.failing.length === 1 ? `the report of ${first.period}` : `${st.failing.length} reports (${st.failing.map((f) => f.period).join(', ')})`;
        out[`report:${st.schedule}`] = {
          status: 'degraded',
          reason: `${which} failed: ${first.error ?? 'unknown error'}; it is tried again at ${iso(first.retryAt)}`,
          details: { ...details, failing: st.failing.map((f) => ({ period: f.period, error: f.error, retryAt: iso(f.retryAt) })) },
        };
      } else if (s.problem !== undefined) {
        out[`report:${st.schedule}`] = { status: 'degraded', reason: `the last report failed: ${s.problem}; it is tried again at the next occurrence`, details };
      } else {
        out[`report:${st.schedule}`] = { status: 'ok', details };
      }
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
      let pending = false;
      let wake: number | undefined;
      for (const s of this.schedules) {
        s.stats.nextAt = s.plan.nextAfter(now);
        const look = this.look(s, now);
        // An occurrence that came while reports were being made is looked at right away.
        if (look.make.length > 0) pending = true;
        if (look.wakeAt !== undefined) wake = Math.min(wake ?? Infinity, look.wakeAt);
      }
      wait = pending ? 0 : nextCheckIn(this.schedules.map((s) => s.plan), now, wake);
    } catch (err) {
      this.o.logger.error({ err }, 'Looking at the report schedules failed; looked at again in a minute.');
    }
    this.o.clock.clearTimer(this.timer);
    this.timer = this.o.clock.setTimeout(() => this.check(), wait);
  }

  /** The schedule's report of a period: the store's record, with this run's failures over it (the store may not have been able to record them). */
  private runOf(s: Scheduled, period: string): RunState | undefined {
    const row = this.o.store.reportRuns.get(s.config.id, period);
    if (row?.status === 'made') return { made: true, failures: 0, failedAt: undefined, error: undefined };
    const mine = s.failures.get(period);
    if (mine !== undefined) return { made: false, failures: Math.max(mine.failures, row?.attempts ?? 0), failedAt: mine.at, error: mine.error };
    return row === undefined ? undefined : { made: false, failures: row.attempts, failedAt: undefined, error: row.error };
  }

  /**
   * What a look at a schedule makes now. Notes what the schedule's health shows (the failing
   * periods), logs once that a period waits for its last windows, and that a failed period is
   * given up once it falls out of the schedule's `catchUp`.
   */
  private look(s: Scheduled, now: number): Look {
    const id = s.config.id;
    const look = reportsToMake(s.plan, now, { runOf: (period) => this.runOf(s, period), since: this.o.store.reportRuns.firstPeriodStart(id), lastProblem: s.lastProblem });
    for (const f of s.stats.failing) {
      if (look.periods.includes(f.period)) continue;
      s.failures.delete(f.period);
      this.o.logger.warn(
        { schedule: id, period: f.period, reason: f.error },
        `Scheduled report "${id}" of ${f.period} is no longer tried again: it is more than ${s.config.catchUp} periods back (reports.schedules[].catchUp). Its failure stays in the store; \`yieldwatch report\` makes it by hand.`,
      );
    }
    s.stats.failing = look.failing.map((f) => ({ period: f.period, error: f.error, retryAt: f.retryAt }));
    if (look.periods.length > 0) s.problem = undefined;
    if (look.failing.length === 0 && s.problem === undefined) s.stats.lastError = undefined;
    const waiting = look.waiting;
    if (waiting?.period !== undefined && waiting.readyAt !== undefined && s.waitingFor !== waiting.period.label) {
      s.waitingFor = waiting.period.label;
      this.o.logger.info(
        { schedule: s.config.id, period: waiting.period.label, occurrence: iso(waiting.occurrence), readyAt: iso(waiting.readyAt) },
        `Scheduled report "${s.config.id}" of ${waiting.period.label} waits until ${iso(waiting.readyAt)}, when the period's last windows are in the store (kpi.windowSize + kpi.allowedLateness after its end).`,
      );
    }
    return look;
  }

  /** Makes, one after another, each schedule's due reports that were not made yet, oldest period first. */
  private async makeDue(): Promise<void> {
    for (const s of this.schedules) {
      for (const due of this.look(s, this.o.clock.now()).make) {
        if (this.stopped) return;
        if (due.period === undefined) s.lastProblem = due.occurrence;
        await this.make(s, due);
      }
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
      const files: ReportFileRef[] = [];
      const bodies: ReportFileBody[] = [];
      for (const format of new Set(sc.formats)) {
        await yieldToLoop();
        const rendered = await (this.o.render ?? renderReport)(report, format, sc.language);
        const name = scheduledReportFile(sc.id, report.scope.spec, due.period.label, format);
        bodies.push({ name, body: rendered.body });
        files.push({ name, contentType: rendered.contentType, bytes: rendered.body.length });
      }
      mkdirSync(this.folder, { recursive: true });
      await writeAllOrNone(this.folder, bodies);
      const now = clock.now();
      const delivery = (f: ReportFileRef[]): string =>
        JSON.stringify({ schedule: sc.id, period: due.period!.label, scope: report.scope.spec, scopeLabel: report.scope.label, files: f } satisfies ReportDelivery);
      const recorded = await this.recordOrRemove(files, () => store.transaction(() => {
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
      }));
      s.failures.delete(due.period.label);
      if (!recorded) return;
      for (const ch of s.channels) ch.forwarder.wake();
      Object.assign(s.stats, { made: s.stats.made + 1, lastPeriod: due.period.label, lastMadeAt: now });
      logger.info(
        { schedule: sc.id, period: due.period.label, scope: report.scope.spec, files: files.map((f) => f.name), deliveries: s.channels.map((c) => c.kind), ms: Math.round(performance.now() - started) },
        `Scheduled report "${sc.id}" of ${due.period.label} made.`,
      );
    } catch (err) {
      // Normally none: a failed report's files were removed again.
      const left = err instanceof ReportFilesError ? err.left : [];
      const reason = (err as Error)?.message ?? String(err);
      const now = clock.now();
      Object.assign(s.stats, { failed: s.stats.failed + 1, lastError: reason, lastFailedAt: now });
      const retry = due.period === undefined ? this.noteProblem(s, reason) : this.noteFailure(s, due, reason, left, now);
      // A request that cannot be made (a bad scope after a config change) needs no stack; anything else does.
      const fields = { schedule: sc.id, period: periodLabel, occurrence: new Date(due.occurrence).toISOString(), reason, retryAt: iso(retry), ...(left.length > 0 ? { left } : {}), ...(err instanceof ReportRequestError ? {} : { err }) };
      logger.error(
        fields,
        `Scheduled report "${sc.id}"${periodLabel === undefined ? '' : ` of ${periodLabel}`} failed: ${reason}. ${retry === undefined ? 'It is tried again at the schedule\'s next occurrence.' : `It is tried again at ${iso(retry)}.`}`,
      );
    }
  }

  /** A schedule whose period cannot be told (a bad scope): there is no period to record; it is tried again at its next occurrence. */
  private noteProblem(s: Scheduled, reason: string): undefined {
    s.problem = reason;
    return undefined;
  }

  /**
   * A period's report failed: remembered with its back-off, and recorded in the store with its
   * error and any file it left. Returns when it is tried again.
   */
  private noteFailure(s: Scheduled, due: DueReport, reason: string, left: string[], now: number): number {
    const period = due.period!;
    let failures: number;
    try {
      failures = (this.runOf(s, period.label)?.failures ?? 0) + 1;
    } catch {
      // The store cannot be read: this run's count goes on.
      failures = (s.failures.get(period.label)?.failures ?? 0) + 1;
    }
    s.failures.set(period.label, { failures, at: now, error: reason });
    try {
      this.o.store.reportRuns.recordFailure({ schedule: s.config.id, period: period.label, periodStart: period.start, periodEnd: period.end, occurrence: due.occurrence, madeAt: now, files: left, error: reason });
    } catch (err) {
      this.o.logger.error({ err, schedule: s.config.id, period: period.label }, `The failure of scheduled report "${s.config.id}" of ${period.label} could not be recorded in the store; it is tried again all the same.`);
    }
    return now + retryDelay(failures);
  }

  /**
   * Runs `record`; when it throws (the store cannot be written), removes the report's files before
   * passing the error on: they were neither recorded nor delivered, and the retry writes them again.
   */
  private async recordOrRemove<T>(files: readonly ReportFileRef[], record: () => T): Promise<T> {
    try {
      return record();
    } catch (err) {
      const left = await removeFiles(this.folder, files.map((f) => f.name));
      throw new ReportFilesError(`cannot record the report: ${(err as Error).message}`, left, { cause: err });
    }
  }

  /** Temp files left by a write that a crash cut short. */
  private removeTempFiles(): void {
    try {
      for (const f of readdirSync(this.folder)) if (isTempFile(f)) rmSync(join(this.folder, f), { force: true });
    } catch {
      // No folder yet: nothing to remove.
    }
  }
}
