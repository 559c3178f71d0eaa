import type { Clock } from '../../core/clock.js';

/**
 * Tells when a subscription has gone silent: neither a data change nor a keep-alive for `limitMs`.
 * Data changes are counted on the hot path, not timed: each look turns "changes since my last
 * look" into an activity time.
 */
export class TrafficWatch {
  private lastActivity = 0;
  private changesSeen = 0;

  constructor(
    private readonly clock: Clock,
    readonly limitMs: number,
  ) {}

  /** A keep-alive arrived, a build finished, or data flows again. */
  active(): void {
    this.lastActivity = this.clock.now();
  }

  /** Nothing is known to be alive (a build failed): the next look finds the subscription silent. */
  forget(): void {
    this.lastActivity = 0;
  }

  /** How long the subscription has been silent, given the data changes counted so far; undefined while it is not. */
  silentFor(changes: number): number | undefined {
    const now = this.clock.now();
    if (changes !== this.changesSeen) {
      this.changesSeen = changes;
      this.lastActivity = now;
    }
    const silent = now - this.lastActivity;
    return silent >= this.limitMs ? silent : undefined;
  }

  /** False until the first sign of life since start or since `forget()`. */
  get everActive(): boolean {
    return this.lastActivity > 0;
  }
}
