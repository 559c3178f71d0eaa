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
