/** Source of the agent's time in epoch ms; injected everywhere so tests and replay control it. */
export interface Clock {
  now(): number;
}

/** A pending call of a `Scheduler`; opaque to the caller. */
export type TimerHandle = { readonly __timer: unique symbol } | NodeJS.Timeout;

/** `keepAlive`: the timer keeps the process running (the agent's own ticker); by default it does not. */
export interface TimerOptions {
  keepAlive?: boolean;
}

/**
 * A clock that also runs timers on its own time: what long-running parts (sources, sinks) use,
 * so that a test moves their time, and their timers fire, without waiting. By default a timer
 * does not keep the process alive (an agent that is told to stop is not held open by a retry).
 */
export interface Scheduler extends Clock {
  /** Calls `fn` once, `ms` after now on this clock. */
  setTimeout(fn: () => void, ms: number, options?: TimerOptions): TimerHandle;
  /** Calls `fn` every `ms` on this clock, until cleared. */
  setInterval(fn: () => void, ms: number, options?: TimerOptions): TimerHandle;
  /** Cancels a timer of either kind; an undefined or already fired handle is ignored. */
  clearTimer(handle: TimerHandle | undefined): void;
}

function keepAlive(t: NodeJS.Timeout, options: TimerOptions | undefined): NodeJS.Timeout {
  return options?.keepAlive === true ? t : t.unref();
}

/** Wall-clock time and Node's timers. */
export const systemClock: Scheduler = {
  now: () => Date.now(),
  setTimeout: (fn, ms, options) => keepAlive(setTimeout(fn, ms), options),
  setInterval: (fn, ms, options) => keepAlive(setInterval(fn, ms), options),
  clearTimer: (h) => {
    if (h !== undefined) clearTimeout(h as NodeJS.Timeout);
  },
};

interface VirtualTimer {
  at: number;
  every: number | undefined;
  fn: () => void;
  seq: number;
}

/**
 * A clock that only moves when told to: replay and tests. Its timers fire, in the order they
 * are due, as `set` or `advance` moves time past them; each sees `now()` at its own due time.
 */
export class VirtualClock implements Scheduler {
  private readonly timers = new Set<VirtualTimer>();
  private seq = 0;

  constructor(private t = 0) {}

  now(): number {
    return this.t;
  }

  /** Moves time forward to `t` (never back), firing every timer due on the way. */
  set(t: number): void {
    for (;;) {
      const next = this.nextDue(t);
      if (next === undefined) break;
      if (next.at > this.t) this.t = next.at;
      if (next.every === undefined) this.timers.delete(next);
      else next.at += next.every;
      next.fn();
    }
    if (t > this.t) this.t = t;
  }

  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.set(this.t + ms);
  }

  /** Timers not yet fired (interval timers count until cleared). */
  pendingTimers(): number {
    return this.timers.size;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, undefined);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  clearTimer(handle: TimerHandle | undefined): void {
    if (handle !== undefined) this.timers.delete(handle as unknown as VirtualTimer);
  }

  private add(fn: () => void, ms: number, every: number | undefined): TimerHandle {
    const timer: VirtualTimer = { at: this.t + Math.max(0, ms), every, fn, seq: this.seq++ };
    this.timers.add(timer);
    return timer as unknown as TimerHandle;
  }

  private nextDue(until: number): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    for (const timer of this.timers) {
      if (timer.at > until) continue;
      if (best === undefined || timer.at < best.at || (timer.at === best.at && timer.seq < best.seq)) best = timer;
    }
    return best;
  }
}
