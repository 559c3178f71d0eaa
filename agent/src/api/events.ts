import type { Aggregate } from '../core/aggregate.js';
import type { AlertChange } from '../core/alert.js';

/** What the live stream carries: committed windows and alert changes, in commit order. */
export type LiveEvent = { type: 'windows'; aggregates: readonly Aggregate[] } | { type: 'alerts'; changes: readonly AlertChange[] };

/**
 * Fan-out of committed events to the live-stream clients. Publishing is synchronous and cheap
 * (a commit calls it); a listener that throws is dropped rather than allowed to break the commit path.
 */
export class EventHub {
  private readonly listeners = new Set<(e: LiveEvent) => void>();

  subscribe(listener: (e: LiveEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(e: LiveEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch {
        this.listeners.delete(l);
      }
    }
  }

  get size(): number {
    return this.listeners.size;
  }
}

/** How many live streams may be open at once: in all, and per token or browser session. */
export interface StreamLimits {
  total: number;
  perLogin: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = { total: 200, perLogin: 20 };

/**
 * The live streams open now, in all and per login (a token's name or a session's id; an open API,
 * with no logins, has only the total). Each stream holds a socket, a listener on every commit and
 * up to 1 MiB of unsent events: without a bound, one script in a loop would exhaust a small device.
 */
export class StreamSlots {
  private total = 0;
  private readonly byLogin = new Map<string, number>();

  constructor(readonly limits: StreamLimits) {}

  /** Takes a slot and returns its release (idempotent), or says which limit is reached: the caller's own first. */
  take(login: string | undefined): (() => void) | 'total' | 'login' {
    const mine = login === undefined ? 0 : (this.byLogin.get(login) ?? 0);
    if (login !== undefined && mine >= this.limits.perLogin) return 'login';
    if (this.total >= this.limits.total) return 'total';
    this.total++;
    if (login !== undefined) this.byLogin.set(login, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      if (login === undefined) return;
      const n = (this.byLogin.get(login) ?? 1) - 1;
      if (n === 0) this.byLogin.delete(login);
      else this.byLogin.set(login, n);
    };
  }

  get open(): number {
    return this.total;
  }
}
