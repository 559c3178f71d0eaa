import type { Logger } from 'pino';
import { Backoff } from '../../core/backoff.js';
import type { Clock } from '../../core/clock.js';
import type { Health } from '../../core/health.js';
import { describeItem, signalOf, type Item } from './items.js';

/** Refused items (e.g. BadNodeIdUnknown while a restarted server builds its address space) are retried by a rebuild after this, doubling. */
const RETRY_MIN_MS = 30_000;
const RETRY_MAX_MS = 600_000;

/**
 * The items the server refused at the last build, or whose browse path led nowhere: counted per
 * refusal, logged once per (item, NodeId, status), retried on a doubling schedule, and turned
 * into the source's health. The other items keep working meanwhile.
 */
export class RefusedItems {
  /** Status of each refused item, by index in `items`. */
  private refused = new Map<number, string>();
  /** (index, NodeId, status) combinations already logged, so a refusal is logged once, not at every rebuild. */
  private readonly logged = new Set<string>();
  private refusals = 0;
  private readonly retry: Backoff;
  private retryAt = Infinity;

  constructor(
    private readonly items: readonly Item[],
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly endpoint: string,
    /** The source's longest reconnect delay: a retry never comes sooner. */
    reconnectMax: number,
  ) {
    const first = Math.max(RETRY_MIN_MS, reconnectMax);
    this.retry = new Backoff(first, Math.max(RETRY_MAX_MS, first));
  }

  get size(): number {
    return this.refused.size;
  }

  /** Refusals so far, one per item per attempt (the `node_errors` counter). */
  get count(): number {
    return this.refusals;
  }

  refuse(index: number, status: string): void {
    const item = this.items[index]!;
    this.refusals++;
    this.refused.set(index, status);
    const key = `${index}/${item.nodeId ?? ''}/${status}`;
    if (this.logged.has(key)) return;
    this.logged.add(key);
    this.log.error(
      { machine: item.machine, signal: item.signal, reason: item.reason, nodeId: item.nodeId, browsePath: item.browsePath, status, endpoint: this.endpoint },
      `OPC UA server refused ${describeItem(item)} (machine ${item.machine}, signal ${signalOf(item)}): ${status}; the other signals keep working.`,
    );
  }

  /** A new build starts: it refuses afresh. */
  clear(): void {
    this.refused.clear();
  }

  /**
   * Takes the statuses of the monitored items as they are now, after node-opcua re-created them on
   * its own: a restarted server may refuse some. Unresolved browse paths have no monitored item and
   * stay refused until a rebuild resolves them.
   */
  reread(refusedNow: Iterable<readonly [number, string]>): void {
    const still = new Map<number, string>();
    for (const [i, status] of this.refused) if (this.items[i]!.nodeId === undefined) still.set(i, status);
    for (const [i, status] of refusedNow) {
      const known = this.refused.get(i);
      if (known === undefined) this.refuse(i, status);
      still.set(i, known ?? status);
    }
    this.refused = still;
  }

  /** Plans the next retry while some items are refused (30 s doubling to 10 min); none, and the doubling starts over, when all are monitored. */
  scheduleRetry(): void {
    if (this.refused.size === 0) {
      this.retry.reset();
      this.retryAt = Infinity;
      return;
    }
    this.retryAt = this.clock.now() + this.retry.fail();
  }

  /** True once when the planned retry is due; the caller rebuilds. */
  takeDueRetry(): boolean {
    if (this.clock.now() < this.retryAt) return false;
    this.retryAt = Infinity;
    return true;
  }

  /** When the next retry is due (epoch ms; Infinity: none planned). */
  get nextRetryAt(): number {
    return this.retryAt;
  }

  /** The source's health once subscribed: ok, degraded while some items are refused, down when all are. */
  health(): Health {
    const details: Record<string, unknown> = { endpoint: this.endpoint, items: this.items.length };
    if (this.refused.size === 0) return { status: 'ok', details };
    const refused = [...this.refused].map(([i, status]) => {
      const it = this.items[i]!;
      return `${it.machine} ${signalOf(it)} ${describeItem(it)}: ${status}`;
    });
    return {
      status: this.refused.size === this.items.length ? 'down' : 'degraded',
      reason: `the server refused ${refused.length} of ${this.items.length} monitored items: ${refused.join('; ')}`,
      details: { ...details, refused },
    };
  }
}
