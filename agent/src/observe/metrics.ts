import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Source } from '../core/plugin.js';
import { SINK_ERROR_KINDS, type ForwarderStatus } from '../core/sink.js';
import type { PipelineStats, ReportScheduleStats } from '../core/stats.js';

/** What the metrics are read from, each at scrape time. */
export interface MetricSources {
  pipeline: { stats(): PipelineStats };
  store: { sizeBytes(): number };
  sources: readonly Source[];
  /** Delivery state of every sink (none when the agent forwards nowhere). */
  sinks?: () => readonly ForwarderStatus[];
  /** What each report schedule did (none when no report is scheduled); their deliveries are in `sinks`. */
  reports?: () => readonly ReportScheduleStats[];
}

const QUALITY_KINDS = ['stale', 'implausible', 'rebaselined', 'dup', 'skewed', 'too_late'] as const;
const COUNTER_EVENTS = { reset: 'resets', rollover: 'rollovers', baseline: 'baselines' } as const;

/**
 * Prometheus metrics of the agent. Every value is read from the parts' own counters at scrape
 * time, so the hot path never touches a metric object.
 */
export function createMetrics(deps: MetricSources): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'yieldwatch_' });
  const { pipeline, store, sources } = deps;
  const sinks = deps.sinks ?? (() => []);
  const ingest = () => pipeline.stats().ingest;

  new Counter({
    name: 'yieldwatch_samples_total',
    help: 'Samples received from all sources.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(ingest().samples);
    },
  });
  new Counter({
    name: 'yieldwatch_samples_accepted_total',
    help: 'Samples accepted into a window (baselines included).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(ingest().accepted);
    },
  });
  new Counter({
    name: 'yieldwatch_rejected_total',
    help: 'Messages or samples rejected, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of ingest().rejected) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'yieldwatch_machine_rejected_total',
    help: 'Samples or messages kept out of the KPIs (the reasons of yieldwatch_rejected_total) or flagged (implausible, rebaselined, stale, skewed, too_late, dup), per machine: a configured path, or unknown.',
    // Bounded: machines come from the config, with one `unknown` bucket; reasons are fixed labels.
    labelNames: ['machine', 'reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [machine, reasons] of ingest().byMachine) for (const [reason, n] of reasons) this.inc({ machine, reason }, n);
    },
  });
  new Counter({
    name: 'yieldwatch_data_quality_total',
    help: 'Samples flagged by the KPI method (stale, implausible, rebaselined, dup, skewed, too_late).',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const kind of QUALITY_KINDS) this.inc({ kind }, ingest()[kind]);
    },
  });
  new Counter({
    name: 'yieldwatch_counter_events_total',
    help: 'Counter baselines, resets and rollovers seen.',
    labelNames: ['event'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [event, key] of Object.entries(COUNTER_EVENTS)) this.inc({ event }, ingest()[key]);
    },
  });
  new Counter({
    name: 'yieldwatch_windows_emitted_total',
    help: 'Windows emitted for the first time.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(pipeline.stats().commits.windowsEmitted);
    },
  });
  new Counter({
    name: 'yieldwatch_windows_revised_total',
    help: 'Window revisions emitted because late samples arrived.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(pipeline.stats().commits.windowsRevised);
    },
  });
  new Counter({
    name: 'yieldwatch_commit_errors_total',
    help: 'Failed store commits (the windows stay in memory and are retried).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(pipeline.stats().commits.commitErrors);
    },
  });
  new Gauge({
    name: 'yieldwatch_open_windows',
    help: 'Windows held in memory, not yet emitted.',
    registers: [registry],
    collect() {
      this.set(pipeline.stats().openWindows);
    },
  });
  new Gauge({
    name: 'yieldwatch_checkpoint_duration_seconds',
    help: 'Duration of the last commit (emission and checkpoint in one transaction).',
    registers: [registry],
    collect() {
      this.set(pipeline.stats().commits.lastCheckpointMs / 1000);
    },
  });
  new Counter({
    name: 'yieldwatch_checkpoints_total',
    help: 'Commits of the engine checkpoint.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(pipeline.stats().commits.checkpoints);
    },
  });
  new Gauge({
    name: 'yieldwatch_store_size_bytes',
    help: 'Size of the local store on disk (database and WAL).',
    registers: [registry],
    collect() {
      this.set(store.sizeBytes());
    },
  });
  new Gauge({
    name: 'yieldwatch_source_up',
    help: '1 when the source is healthy, 0.5 degraded, 0 down.',
    labelNames: ['source', 'type'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of sources) {
        const h = s.health().status;
        this.set({ source: s.id, type: s.type }, h === 'ok' ? 1 : h === 'degraded' ? 0.5 : 0);
      }
    },
  });
  new Counter({
    name: 'yieldwatch_source_events_total',
    help: 'Per-source counters (messages, rejected, reconnects, bytes).',
    labelNames: ['source', 'event'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of sources) for (const [event, n] of Object.entries(s.counters())) this.inc({ source: s.id, event }, n);
    },
  });
  sinkMetrics(registry, sinks);
  reportMetrics(registry, deps.reports ?? (() => []));
  return registry;
}

/** Per-sink gauges and counters, read from each forwarder's status (a few indexed reads of the outbox) at scrape time. */
function sinkMetrics(registry: Registry, sinks: () => readonly ForwarderStatus[]): void {
  const each = (fn: (s: ForwarderStatus) => void) => {
    for (const s of sinks()) fn(s);
  };
  const gauge = (name: string, help: string, value: (s: ForwarderStatus) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['sink', 'type'],
      registers: [registry],
      collect() {
        this.reset();
        each((s) => {
          const v = value(s);
          if (v !== undefined) this.set({ sink: s.sink, type: s.type }, v);
        });
      },
    });
  gauge('yieldwatch_sink_up', '1 when the sink accepts writes, 0.5 degraded (retrying, or records were dropped), 0 blocked.', (s) => (s.health.status === 'ok' ? 1 : s.health.status === 'degraded' ? 0.5 : 0));
  gauge('yieldwatch_sink_backlog_records', 'Records in the outbox waiting for the sink.', (s) => s.pendingRecords);
  gauge('yieldwatch_sink_backlog_bytes', 'Payload bytes in the outbox waiting for the sink.', (s) => s.pendingBytes);
  gauge('yieldwatch_sink_oldest_record_age_seconds', 'Age of the oldest waiting record (0 when none waits).', (s) => (s.oldestCreatedAt === undefined ? 0 : Math.max(0, Date.now() - s.oldestCreatedAt) / 1000));
  gauge('yieldwatch_sink_last_success_timestamp_seconds', 'When the sink last accepted a batch (epoch seconds).', (s) => (s.lastSuccessAt === undefined ? undefined : s.lastSuccessAt / 1000));
  const counter = (name: string, help: string, value: (s: ForwarderStatus) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['sink'],
      registers: [registry],
      collect() {
        this.reset();
        each((s) => this.inc({ sink: s.sink }, value(s)));
      },
    });
  counter('yieldwatch_sink_delivered_records_total', 'Records the sink accepted.', (s) => s.delivered);
  counter('yieldwatch_sink_dropped_records_total', 'Records dropped unsent by the outbox bound (oldest first).', (s) => s.dropped);
  counter('yieldwatch_sink_dropped_bytes_total', 'Payload bytes dropped unsent by the outbox bound.', (s) => s.droppedBytes);
  counter('yieldwatch_sink_lost_records_total', 'Records lost unsent because the store file was damaged and salvaged.', (s) => s.lost);
  counter('yieldwatch_sink_dead_letters_total', 'Records the sink refused as malformed, moved to the dead-letter table.', (s) => s.deadLettered);
  new Counter({
    name: 'yieldwatch_sink_errors_total',
    help: 'Failed writes by kind (retryable, malformed, blocked).',
    labelNames: ['sink', 'kind'],
    registers: [registry],
    collect() {
      this.reset();
      each((s) => {
        for (const kind of SINK_ERROR_KINDS) this.inc({ sink: s.sink, kind }, s.errors[kind]);
      });
    },
  });
}

/** Per-schedule counts of scheduled reports, read at scrape time. */
function reportMetrics(registry: Registry, reports: () => readonly ReportScheduleStats[]): void {
  const counter = (name: string, help: string, value: (s: ReportScheduleStats) => number) =>
    new Counter({
      name,
      help,
      labelNames: ['schedule'],
      registers: [registry],
      collect() {
        this.reset();
        for (const s of reports()) this.inc({ schedule: s.schedule }, value(s));
      },
    });
  counter('yieldwatch_reports_made_total', 'Scheduled reports made (written and recorded once per schedule and period), since start.', (s) => s.made);
  counter('yieldwatch_report_failures_total', 'Attempts of scheduled reports that failed (a bad scope, a store that cannot be read, a writer that fails); each period is tried again with back-off while within the schedule\'s catchUp.', (s) => s.failed);
  new Gauge({
    name: 'yieldwatch_report_failing_periods',
    help: 'Periods whose scheduled report failed and is tried again: a report is missing while this is above 0.',
    labelNames: ['schedule'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of reports()) this.set({ schedule: s.schedule }, s.failing.length);
    },
  });
  new Gauge({
    name: 'yieldwatch_report_last_made_timestamp_seconds',
    help: 'When the schedule last made a report (epoch seconds).',
    labelNames: ['schedule'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of reports()) if (s.lastMadeAt !== undefined) this.set({ schedule: s.schedule }, s.lastMadeAt / 1000);
    },
  });
}
