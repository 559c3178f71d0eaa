import type { Aggregate } from '../core/aggregate.js';
import type { Alert, AlertChange } from '../core/alert.js';
import type { AlertRule } from '../alerts/config.js';
import { AlertManager } from '../alerts/manager.js';
import type { CommitStats, CounterRateLimit, PipelineStats } from '../core/stats.js';
import type { Clock } from '../core/clock.js';
import type { Sample } from '../core/sample.js';
import { KpiEngine, type BreakdownEntry, type DueWindow, type EngineOptions } from '../kpi/engine.js';
import type { MaterialFactors } from '../kpi/materials.js';
import { decodeCheckpoint, encodeCheckpoint } from '../kpi/snapshot.js';
import { windowRecordKey, type OutboxWriter } from '../core/sink.js';
import type { RollupLevel, Store } from '../store/store.js';
import { toAggregate, type ScrapDestinationOf } from './emit.js';
import { addPartial, decodeSums, emptySums, encodeSums, HOUR_MS, partialOf } from '../kpi/partials.js';

export interface PipelineEvents {
  /** Aggregates committed by one emission (first emissions and revisions). */
  onEmit?: (aggregates: readonly Aggregate[]) => void;
  /** A commit failed; the windows stay in memory and are retried with back-off. `failuresInRow` starts at 1. */
  onCommitError?: (err: unknown, failuresInRow: number) => void;
  /** Commits work again after `failures` failed attempts. */
  onCommitRecovered?: (failures: number) => void;
  /** Alert changes committed (fired, acknowledged, resolved, late breaches). */
  onAlerts?: (changes: readonly AlertChange[]) => void;
  /**
   * A commit succeeded: everything ingested before it is on disk (the commit is synchronous, so
   * nothing arrived in between). Called before the other events, so sources holding
   * acknowledgements (core/commit-gate.ts) release them as early as possible; it must not throw.
   */
  onCommitted?: () => void;
  /** Inside every commit's transaction: what is handed to `save` commits with the windows (the sources' states, core/commit-gate.ts). */
  onCommitting?: (save: (key: string, state: string) => void) => void;
}

/** What a pipeline is built from: the KPI core's machines and limits, the material library, the checkpoint interval and each machine's alert rules. */
export interface PipelineOptions {
  engine: EngineOptions;
  materials: ReadonlyMap<string, MaterialFactors>;
  /** Where scrap goes, by machine, material and reason (agent/src/kpi/README.md); none known when absent. */
  scrapDestination?: ScrapDestinationOf;
  /** The day of the machine's site that an instant falls in (the stored day sums of rollups); UTC days when absent. */
  dayOf?: (machine: string, t: number) => { start: number; end: number };
  /** The shift of the machine's site that an instant falls in (the stored shift sums), and a fingerprint of the calendars it follows. */
  shifts?: { of: (machine: string, t: number) => { start: number; end: number } | undefined; fingerprint: number };
  checkpointEveryMs: number;
  alertRules: ReadonlyMap<string, readonly AlertRule[]>;
}

/** Retry delays of a failing store: 1 s doubling to 1 min, so a full disk is not hammered every tick. */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 60_000;

/**
 * The agent's one write path: samples in (synchronous, no I/O), then at each tick the due
 * windows are turned into aggregates and committed in one transaction with their outbox
 * records (one per sink), the engine checkpoint and the rejection counts (agent/src/kpi/README.md, "Windows"; agent/ARCHITECTURE.md, "The commit").
 */
export class Pipeline {
  private readonly engine: KpiEngine;
  private readonly alerts: AlertManager;
  private readonly commits: CommitStats = { windowsEmitted: 0, windowsRevised: 0, checkpoints: 0, lastCheckpointMs: 0, commitErrors: 0 };
  private readonly materials: ReadonlyMap<string, MaterialFactors>;
  private readonly scrapDestination: ScrapDestinationOf | undefined;
  private readonly dayOf: (machine: string, t: number) => { start: number; end: number };
  private readonly shiftOf: (machine: string, t: number) => { start: number; end: number } | undefined;
  /** The calendars' fingerprint, until the first commit has recorded it with the store. */
  private shiftCalendars: number | undefined;
  private readonly checkpointEveryMs: number;
  private lastCheckpointAt = -Infinity;
  /** The checkpoint's parts as the store has them: a commit writes only those that differ. */
  private savedParts = new Map<string, string>();
  private baselinesAtCommit = 0;
  private readonly committedRejections = new Map<string, number>();
  private failuresInRow = 0;
  private retryAt = -Infinity;

  constructor(
    opts: PipelineOptions,
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly events: PipelineEvents = {},
    private readonly writers: readonly OutboxWriter[] = [],
  ) {
    this.engine = new KpiEngine(opts.engine);
    this.materials = opts.materials;
    this.scrapDestination = opts.scrapDestination;
    this.dayOf = opts.dayOf ?? ((_m, t) => ({ start: Math.floor(t / 86_400_000) * 86_400_000, end: Math.floor(t / 86_400_000) * 86_400_000 + 86_400_000 }));
    this.shiftOf = opts.shifts?.of ?? (() => undefined);
    this.shiftCalendars = opts.shifts?.fingerprint ?? 0;
    this.checkpointEveryMs = opts.checkpointEveryMs;
    const cp = store.loadCheckpoint();
    const snapshot = cp === undefined ? undefined : decodeCheckpoint(cp.state, cp.parts);
    if (snapshot !== undefined) this.engine.restore(snapshot);
    if (cp !== undefined) this.savedParts = cp.parts;
    const machines = opts.engine.machines.map((m) => m.path);
    this.alerts = new AlertManager(opts.alertRules, () => clock.now());
    // A resolve older than the longest cooldown cannot keep a rule quiet any more.
    const longestCooldown = Math.max(0, ...[...opts.alertRules.values()].flatMap((rules) => rules.map((r) => r.cooldown)));
    this.alerts.restore(store.alerts.query({ state: 'open' }), store.alerts.lastResolved(longestCooldown), (m, n) => store.recentAggregates(m, n));
    for (const m of machines) {
      const observer = this.alerts.observer(m);
      if (observer !== undefined) this.engine.observe(m, observer);
    }
  }

  /** Keeps the stored hour, site day and shift of a window in step with it: a revision replaces its earlier emission's share. Inside the commit's transaction. */
  private addToSums(agg: Aggregate, prev: Aggregate | undefined): void {
    const hour = Math.floor(agg.windowStart / HOUR_MS) * HOUR_MS;
    const day = this.dayOf(agg.machine, agg.windowStart);
    const shift = this.shiftOf(agg.machine, agg.windowStart);
    const levels: [RollupLevel, number, number][] = [['hour', hour, hour + HOUR_MS], ['day', day.start, day.end]];
    if (shift !== undefined) levels.push(['shift', shift.start, shift.end]);
    for (const [level, start, end] of levels) {
      const data = this.store.getRollupSums(level, agg.machine, start, agg.material, agg.product);
      const key = { machine: agg.machine, start, end, material: agg.material, product: agg.product };
      const sums = data === undefined ? emptySums(agg.machine, start, end, agg.material, agg.product) : decodeSums({ ...key, data });
      if (prev !== undefined) addPartial(sums, partialOf(prev), -1);
      addPartial(sums, partialOf(agg), 1);
      this.store.putRollupSums(level, { ...key, data: encodeSums(sums) });
    }
  }

  /** Counts since start and the state of the commit path (metrics, API, logs). */
  stats(): PipelineStats {
    return { ingest: this.engine.stats, commits: this.commits, openWindows: this.engine.openWindows(), failuresInRow: this.failuresInRow };
  }

  /** The rate limit each counter is held to now, and where it comes from (the status; off the hot path). */
  rateLimits(): CounterRateLimit[] {
    return this.engine.rateLimits();
  }

  /** True when `path` is a configured machine (what sources check a topic's machine against). */
  hasMachine(path: string): boolean {
    return this.engine.hasMachine(path);
  }

  /** Machines whose counters were re-baselined since the last call (one log line each, off the hot path). */
  drainRebaselined(): string[] {
    return this.engine.drainRebaselined();
  }

  /** The incident the rules hold open for a machine in memory (none or one): what the next commit judges from. */
  openAlerts(machine: string): readonly Alert[] {
    return this.alerts.open(machine);
  }

  /** Hot path: samples that arrived now. */
  ingest(samples: readonly Sample[]): void {
    this.engine.ingest(samples, this.clock.now());
  }

  /** Adds an amount by dimension to its machine's window (agent/src/kpi/README.md, "Dimensions"); false when it was a counted rejection. */
  record(entry: BreakdownEntry): boolean {
    return this.engine.recordBreakdown(entry, this.clock.now());
  }

  /** Counts a message that could not become samples. */
  reject(reason: string, machine?: string): void {
    this.engine.reject(reason, machine, this.clock.now());
  }

  /**
   * Emits the windows that are due, with a checkpoint, in one transaction; also checkpoints
   * when `checkpointInterval` has passed. Returns what was emitted.
   */
  tick(): readonly Aggregate[] {
    const now = this.clock.now();
    if (now < this.retryAt) return [];
    const due = this.engine.takeDue(now);
    // A new baseline is saved at once: until it is, a crash would lose the counts between the
    // first value and the first value after the restart.
    const newBaselines = this.engine.stats.baselines !== this.baselinesAtCommit;
    if (due.length === 0 && !newBaselines && !this.alerts.hasPending() && now - this.lastCheckpointAt < this.checkpointEveryMs) return [];
    return this.commit(due, now);
  }

  /**
   * Commits now, whether or not anything is due: the due windows and the checkpoint, so that what
   * sources hold for acknowledgement is on disk (pipeline/group-commit.ts). False when the commit
   * failed, or when the store is backing off after a failure.
   */
  commitNow(): boolean {
    const now = this.clock.now();
    if (now < this.retryAt) return false;
    this.commit(this.engine.takeDue(now), now);
    return this.failuresInRow === 0;
  }

  /** Emits every open window, complete or not: the end of a replay. */
  flushAll(): readonly Aggregate[] {
    return this.commit(this.engine.takeAll(), this.clock.now());
  }

  /**
   * An operator acknowledges an incident (every rule in it at once): persisted and offered to the
   * channels at once. Returns the incident, or undefined when no open, unacknowledged one, and no
   * resolved one that was never acknowledged, has that id. Throws when the store fails.
   */
  acknowledge(id: string, by: string, comment: string | undefined): Alert | undefined {
    const now = this.clock.now();
    if (this.alerts.hasPending()) {
      // The fast rule changed incidents in memory that the store does not have yet (one may have
      // resolved since the operator saw it firing): saved first, so that the acknowledgement
      // finds the incident as it is and its change is recorded after them.
      this.commit([], now);
      if (this.alerts.hasPending()) throw new Error('The local store does not take writes now; try again.');
    }
    const before = this.alerts.snapshot();
    const change = this.alerts.acknowledge(id, by, comment, now) ?? this.acknowledgeReturned(id, by, comment, now);
    if (change === undefined) return undefined;
    try {
      this.store.transaction(() => this.recordAlerts([change], now));
    } catch (err) {
      // Not saved: not acknowledged either, so the operator's retry finds it firing.
      this.alerts.rollback(before);
      throw err;
    }
    this.events.onAlerts?.([change]);
    return change.alert;
  }

  /** ISA-18.2's "returned to normal, unacknowledged": a resolved alert nobody acknowledged still takes an acknowledgement. */
  private acknowledgeReturned(id: string, by: string, comment: string | undefined, now: number): AlertChange | undefined {
    const a = this.store.alerts.get(id);
    if (a === undefined || a.state !== 'resolved' || a.acknowledgedAt !== undefined) return undefined;
    return { kind: 'acknowledged', alert: { ...a, acknowledgedAt: now, acknowledgedBy: by, comment, updatedAt: now }, at: now, by, notify: true };
  }

  /** Saves counter state and open windows now (shutdown). */
  checkpoint(): void {
    this.commit([], this.clock.now());
  }

  /**
   * Records a change of a manual scrap entry (agent/src/kpi/README.md, "Manual scrap"): `write`
   * stores the entry's new version and names where it was and is (machine and time), and every
   * window those fall in is revised from its entries as they are now, like a window revised by
   * late data. A window whose first emission is still to come takes them then (the engine holds
   * it open, and the checkpoint saved in the same transaction keeps it so); a past window of a
   * machine that sent nothing is made, holding only the manual scrap. Alert rules judge these
   * windows like late data (recorded, never raised live). One transaction: the entry, the revisions, their outbox records and
   * the checkpoint commit together or not at all. Throws when the store fails; nothing is saved then.
   */
  changeEntry(write: () => readonly { machine: string; ts: number }[]): readonly Aggregate[] {
    return this.commit([], this.clock.now(), (now) => {
      const out: Aggregate[] = [];
      const seen = new Set<string>();
      for (const place of write()) {
        const stored = this.store.aggregateHolding(place.machine, place.ts);
        // A window whose first emission is still to come takes the entries then (the checkpoint below keeps it open across a crash).
        if (stored === undefined && this.engine.holdOpen(place.machine, place.ts, now)) continue;
        const start = stored?.windowStart ?? this.engine.windowStartOf(place.ts);
        const key = `${place.machine} ${start}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const empty = this.engine.emptyWindow(place.machine, start, stored?.windowEnd, stored === undefined);
        const agg = empty === undefined ? undefined : this.emitWindow(empty, now);
        if (agg !== undefined) out.push(agg);
      }
      return out;
    });
  }

  /** Stores one window's aggregate (its first emission or a revision, with the window's manual entries as they are now), its rollup sums and its outbox records; inside the commit's transaction. */
  private emitWindow(d: DueWindow, now: number): Aggregate | undefined {
    const prev = this.store.getAggregate(d.window.machine, d.window.start);
    // A stored window keeps its own end (it may have another size than the windows of today).
    const entries = this.store.entries.inWindow(d.window.machine, d.window.start, prev?.windowEnd ?? d.window.end);
    const agg = toAggregate(d, prev, now, this.materials, this.scrapDestination, entries);
    if (agg === undefined) return undefined;
    this.store.putAggregate(agg);
    this.addToSums(agg, prev);
    for (const w of this.writers) {
      const payload = w.serialize(agg);
      if (payload !== undefined) this.store.outbox.append(w.sink, now, windowRecordKey(agg), payload);
    }
    return agg;
  }

  /**
   * One commit: the due windows, and what `extra` emits in the same transaction (a manual entry's
   * revisions; its error is thrown to the caller, while the windows' own commits are retried).
   */
  private commit(due: DueWindow[], now: number, extra?: (now: number) => Aggregate[]): readonly Aggregate[] {
    const t0 = performance.now();
    let emitted: Aggregate[];
    const pending = this.alerts.drainPending();
    let changes: AlertChange[] = pending;
    const before = due.length > 0 || extra !== undefined ? this.alerts.snapshot() : undefined;
    let checkpoint: Map<string, string> | undefined;
    try {
      emitted = this.store.transaction(() => {
        if (this.shiftCalendars !== undefined) this.store.noteShiftCalendars(this.shiftCalendars, now);
        const out: Aggregate[] = [];
        for (const d of due) {
          const agg = this.emitWindow(d, now);
          if (agg !== undefined) out.push(agg);
        }
        // Pending changes happened first (the fast rule, or a commit that failed): saved first.
        changes = [...pending, ...this.alerts.onWindows(out, now)];
        if (extra !== undefined) {
          // An entry's windows are judged like late data: what would have fired is recorded, nothing is raised live.
          const revised = extra(now);
          changes.push(...this.alerts.onWindows(revised, now, true));
          out.push(...revised);
        }
        this.recordAlerts(changes, now);
        // Sources never wait for a sink: beyond its bound, a sink's oldest records are dropped (counted).
        if (out.length > 0 || changes.length > 0) for (const w of this.writers) this.store.outbox.enforceBound(w.sink, now, w.bound);
        checkpoint = this.saveCheckpoint(now);
        this.events.onCommitting?.((key, state) => this.store.saveSourceState(key, now, state));
        this.store.addRejections(Math.floor(now / HOUR_MS) * HOUR_MS, this.rejectionDelta());
        return out;
      });
      this.shiftCalendars = undefined;
    } catch (err) {
      if (extra !== undefined) {
        // An entry's commit: the operator hears of it and retries; the windows' own commits keep their pace.
        if (before !== undefined) this.alerts.rollback(before);
        this.alerts.requeue(pending);
        this.commits.commitErrors++;
        throw err;
      }
      this.engine.putBack(due);
      // The windows go back to the engine and are judged again at the retry, from the state before.
      if (before !== undefined) this.alerts.rollback(before);
      this.alerts.requeue(pending);
      this.commits.commitErrors++;
      this.failuresInRow++;
      this.retryAt = now + Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.failuresInRow - 1));
      this.events.onCommitError?.(err, this.failuresInRow);
      return [];
    }
    if (this.failuresInRow > 0) this.events.onCommitRecovered?.(this.failuresInRow);
    this.failuresInRow = 0;
    this.retryAt = -Infinity;
    if (checkpoint !== undefined) this.savedParts = checkpoint;
    this.baselinesAtCommit = this.engine.stats.baselines;
    for (const [k, v] of this.engine.stats.rejected) this.committedRejections.set(k, v);
    this.lastCheckpointAt = now;
    this.commits.checkpoints++;
    this.commits.lastCheckpointMs = performance.now() - t0;
    for (const a of emitted) {
      if (a.revision === 0) this.commits.windowsEmitted++;
      else this.commits.windowsRevised++;
    }
    this.events.onCommitted?.();
    if (emitted.length > 0) this.events.onEmit?.(emitted);
    if (changes.length > 0) this.events.onAlerts?.(changes);
    return emitted;
  }

  /**
   * Saves the engine's checkpoint (kpi/snapshot.ts: a header and a part per machine), writing
   * only the parts that differ from the store's; inside the commit's transaction. Returns the
   * parts as the store has them once the transaction commits.
   */
  private saveCheckpoint(now: number): Map<string, string> {
    const cp = encodeCheckpoint(this.engine.snapshot());
    this.store.saveCheckpoint(now, cp.header);
    for (const [key, text] of cp.parts) if (this.savedParts.get(key) !== text) this.store.putCheckpointPart(key, text);
    for (const key of this.savedParts.keys()) if (!cp.parts.has(key)) this.store.dropCheckpointPart(key);
    return cp.parts;
  }

  /** Persists alert changes with their audit events and their outbox records; inside a transaction. */
  private recordAlerts(changes: readonly AlertChange[], now: number): void {
    for (const c of changes) {
      this.store.alerts.record(c);
      if (!c.notify) continue;
      const open = this.alerts.open(c.alert.machine);
      for (const w of this.writers) {
        const payload = w.serializeAlert?.(c, open);
        if (payload !== undefined) this.store.outbox.append(w.sink, now, `alert ${c.alert.id} ${c.kind}`, payload);
      }
    }
  }

  private rejectionDelta(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [k, v] of this.engine.stats.rejected) {
      const d = v - (this.committedRejections.get(k) ?? 0);
      if (d > 0) out.set(k, d);
    }
    return out;
  }
}
