import type { Clock } from '../core/clock.js';

interface Entry {
  lastAt: number;
  /** Occurrences since the last log line of this key. */
  pending: number;
}

/**
 * Rate limit for repeated log lines: every occurrence of a key is counted, but a line is due at
 * most once per interval, carrying the count since the previous one. Keys are bounded labels
 * (reject reasons), so the map stays small.
 */
export class LogThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: Clock,
    private readonly intervalMs: number,
  ) {}

  /** Counts an occurrence of `key` and tells whether its log line is due now. */
  due(key: string): boolean {
    let entry = this.entries.get(key);
    if (entry === undefined) {
      entry = { lastAt: -Infinity, pending: 0 };
      this.entries.set(key, entry);
    }
    entry.pending++;
    const now = this.clock.now();
    if (now - entry.lastAt < this.intervalMs) return false;
    entry.lastAt = now;
    return true;
  }

  /** Occurrences of `key` since its last log line (this one included); resets the count. */
  take(key: string): number {
    const entry = this.entries.get(key);
    if (entry === undefined) return 0;
    const n = entry.pending;
    entry.pending = 0;
    return n;
  }
}
