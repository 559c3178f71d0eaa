import type { DataValue } from 'node-opcua';
import type { Logger } from 'pino';
import type { Clock } from '../../core/clock.js';
import type { SampleSink } from '../../core/plugin.js';
import type { Sample } from '../../core/sample.js';
import { LogThrottle } from '../../observe/log-throttle.js';
import type { Item } from './items.js';
import { epochMs, toSampleValue } from './values.js';

/** Reasons a data change is rejected (bounded label set). */
export const REJECT_REASONS = ['bad_status', 'unsupported_type'] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

const SINK_ERROR = 'sink_error';

/**
 * The hot path: turns each data change into a sample for the pipeline, or into a counted
 * rejection (bad status, unsupported type). Synchronous, no I/O; logs are throttled per machine and reason.
 */
export class DataChanges {
  /** Data changes received, whatever became of them: the watchdog's sign of life. */
  received = 0;
  values = 0;
  rejected = 0;
  /** Data changes the sink threw on (a bug downstream); dropped. */
  sinkErrors = 0;
  private readonly byReason: Record<string, number> = Object.create(null) as Record<string, number>;
  private readonly batch: Sample[] = [];
  private readonly throttle: LogThrottle;
  /** Where samples go while the source is started. */
  sink: SampleSink | undefined;

  constructor(
    private readonly sourceId: string,
    private readonly log: Logger,
    clock: Clock,
    rejectLogInterval: number,
  ) {
    this.throttle = new LogThrottle(clock, rejectLogInterval);
  }

  accept(item: Item, dv: DataValue): void {
    this.received++;
    const sink = this.sink;
    if (sink === undefined) return;
    try {
      if (!dv.statusCode.isGood()) {
        this.reject('bad_status', item, dv.statusCode.name);
        sink.reject('bad_status', item.machine);
        return;
      }
      const value = toSampleValue(dv.value?.value);
      if (value === undefined) {
        this.reject('unsupported_type', item, String(dv.value?.dataType));
        sink.reject('unsupported_type', item.machine);
        return;
      }
      const batch = this.batch;
      batch.push({ machine: item.machine, signal: item.signal, value, ts: epochMs(dv.sourceTimestamp) ?? epochMs(dv.serverTimestamp), source: this.sourceId, reason: item.reason });
      this.values++;
      sink.samples(batch);
      // No server sends a value again: a commit soon after it bounds what a crash loses.
      sink.commits?.hold();
    } catch (err) {
      this.sinkErrors++;
      if (this.throttle.due(SINK_ERROR)) {
        this.log.error({ err, machine: item.machine, signal: item.signal, count: this.throttle.take(SINK_ERROR) }, 'An OPC UA value could not be handed to the pipeline and was dropped; this is a bug.');
      }
    } finally {
      this.batch.length = 0;
    }
  }

  rejectedByReason(): Readonly<Record<string, number>> {
    return { ...this.byReason };
  }

  private reject(reason: RejectReason, item: Item, detail: string): void {
    this.rejected++;
    this.byReason[reason] = (this.byReason[reason] ?? 0) + 1;
    // Per machine and reason (machines are the configured ones the source reads): one machine's bad node must not hide another's.
    const key = `${item.machine} ${reason}`;
    if (this.throttle.due(key)) {
      this.log.warn(
        { reason, machine: item.machine, signal: item.signal, nodeId: item.nodeId, browsePath: item.browsePath, detail, count: this.throttle.take(key) },
        `Rejected an OPC UA value (${reason}); further "${reason}" rejections of ${item.machine} are counted and logged at most once per rejectLogInterval.`,
      );
    }
  }
}
