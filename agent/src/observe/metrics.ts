import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { Source } from '../core/plugin.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { Store } from '../store/store.js';

const QUALITY_KINDS = ['stale', 'implausible', 'rebaselined', 'dup', 'skewed', 'too_late'] as const;
const COUNTER_EVENTS = { reset: 'resets', rollover: 'rollovers', baseline: 'baselines' } as const;

/**
 * Prometheus metrics of the agent. Every value is read from the parts' own counters at scrape
 * time, so the hot path never touches a metric object.
 */
export function createMetrics(deps: { pipeline: Pipeline; store: Store; sources: readonly Source[] }): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'yieldwatch_' });
  const { pipeline, store, sources } = deps;
  const stats = pipeline.engine.stats;

  new Counter({
    name: 'yieldwatch_samples_total',
    help: 'Samples received from all sources.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.samples);
    },
  });
  new Counter({
    name: 'yieldwatch_samples_accepted_total',
    help: 'Samples accepted into a window (baselines included).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(stats.accepted);
    },
  });
  new Counter({
    name: 'yieldwatch_rejected_total',
    help: 'Messages or samples rejected, by reason.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of stats.rejected) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'yieldwatch_data_quality_total',
    help: 'Samples flagged by the KPI method (stale, implausible, rebaselined, dup, skewed, too_late).',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      this.reset();
      for (const kind of QUALITY_KINDS) this.inc({ kind }, stats[kind]);
    },
  });
  new Counter({
    name: 'yieldwatch_counter_events_total',
    help: 'Counter baselines, resets and rollovers seen.',
    labelNames: ['event'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [event, key] of Object.entries(COUNTER_EVENTS)) this.inc({ event }, stats[key]);
    },
  });
  new Counter({
    name: 'yieldwatch_windows_emitted_total',
    help: 'Windows emitted for the first time.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(pipeline.stats.windowsEmitted);
    },
  });
  new Counter({
    name: 'yieldwatch_windows_revised_total',
    help: 'Window revisions emitted because late samples arrived.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(pipeline.stats.windowsRevised);
    },
  });
  new Counter({
    name: 'yieldwatch_commit_errors_total',
    help: 'Failed store commits (the windows stay in memory and are retried).',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(pipeline.stats.commitErrors);
    },
  });
  new Gauge({
    name: 'yieldwatch_open_windows',
    help: 'Windows held in memory, not yet emitted.',
    registers: [registry],
    collect() {
      this.set(pipeline.engine.openWindows());
    },
  });
  new Gauge({
    name: 'yieldwatch_checkpoint_duration_seconds',
    help: 'Duration of the last commit (emission and checkpoint in one transaction).',
    registers: [registry],
    collect() {
      this.set(pipeline.stats.lastCheckpointMs / 1000);
    },
  });
  new Counter({
    name: 'yieldwatch_checkpoints_total',
    help: 'Commits of the engine checkpoint.',
    registers: [registry],
    collect() {
      this.reset();
      this.inc(pipeline.stats.checkpoints);
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
  return registry;
}
