import type { Scheduler, TimerHandle } from '../core/clock.js';
import type { CommitGate } from '../core/commit-gate.js';

export interface GroupCommitOptions {
  clock: Scheduler;
  /** Longest a held message waits for its commit (`kpi.commitInterval`). */
  intervalMs: number;
  /** This many held messages are committed at once (`kpi.commitMaxMessages`). */
  maxMessages: number;
  /** One commit of the pipeline (due windows and the checkpoint); false when it failed. */
  commit: () => boolean;
  /** What the sources saved with `persist` in the last commit of an earlier run, by key. */
  restored?: ReadonlyMap<string, string>;
}

/**
 * Group commit for the sources that hold acknowledgements (core/commit-gate.ts): one commit
 * covers every message held since the last one, at most `intervalMs` after the first of them
 * or as soon as `maxMessages` are held. The commit itself runs on a timer, never inside a
 * source's hot path. `committed()` is the pipeline's `onCommitted` event: any successful
 * commit (a tick's too) releases what is held.
 */
export class GroupCommit implements CommitGate {
  private held = 0;
  private timer: TimerHandle | undefined;
  private readonly listeners = new Set<() => void>();
  private closed = false;
  private readonly states = new Map<string, () => string>();
  /** What the last successful commit saved with `persist`, by key. */
  private readonly saved: Map<string, string>;
  /** What the commit under way saves; becomes `saved` when it succeeds. */
  private readonly saving = new Map<string, string>();

  constructor(private readonly o: GroupCommitOptions) {
    this.saved = new Map(o.restored);
  }

  hold(): void {
    const n = ++this.held;
    if (n === 1) this.arm(this.o.intervalMs);
    else if (n === this.o.maxMessages) this.arm(0);
  }

  commitNow(): boolean {
    // A successful commit calls committed() through the pipeline's event.
    return this.o.commit();
  }

  onCommitted(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  persist(key: string, state: () => string): string | undefined {
    this.states.set(key, state);
    return this.saved.get(key);
  }

  /**
   * Inside the pipeline's commit transaction: hands `save` each state that differs from what
   * the last successful commit saved (an idle source writes nothing).
   */
  saveStates(save: (key: string, state: string) => void): void {
    this.saving.clear();
    for (const [key, state] of this.states) {
      const text = state();
      if (this.saved.get(key) === text) continue;
      save(key, text);
      this.saving.set(key, text);
    }
  }

  /** The pipeline committed: everything held so far is on disk. */
  committed(): void {
    for (const [key, text] of this.saving) this.saved.set(key, text);
    this.saving.clear();
    this.held = 0;
    this.o.clock.clearTimer(this.timer);
    this.timer = undefined;
    for (const fn of this.listeners) fn();
  }

  /** Messages waiting for a commit (metrics, tests). */
  waiting(): number {
    return this.held;
  }

  /** Stops the timer (the agent stops; its last checkpoint commits what is held). */
  close(): void {
    this.closed = true;
    this.o.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number): void {
    if (this.closed) return;
    this.o.clock.clearTimer(this.timer);
    this.timer = this.o.clock.setTimeout(() => this.fire(), ms);
  }

  private fire(): void {
    this.timer = undefined;
    // A failed commit keeps everything held; try again after another interval (the pipeline
    // answers false at once while its own back-off runs, so a broken disk is not hammered).
    if (!this.o.commit() && this.held > 0) this.arm(this.o.intervalMs);
  }
}
