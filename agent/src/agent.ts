import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { buildApp } from './api/app.js';
import { EventHub } from './api/events.js';
import type { MachineInfo } from './api/routes/kpis.js';
import type { Aggregate } from './core/aggregate.js';
import { systemClock, type Scheduler } from './core/clock.js';
import { YieldwatchError } from './core/errors.js';
import type { Health } from './core/health.js';
import type { PluginContext, SampleSink, Source } from './core/plugin.js';
import { parseMachinePath } from './core/sample.js';
import type { Config, SinkConfig, SourceConfig } from './config/schema.js';
import type { Forwarder } from './forward.js';
import { configWarnings } from './config/warnings.js';
import { createMetrics } from './observe/metrics.js';
import { ENGINE_REJECT_REASONS } from './kpi/engine.js';
import { Pipeline } from './pipeline/pipeline.js';
import { createForwarder, outboxWriter } from './wiring/sinks.js';
import { SOURCE_TYPES } from './sources/registry.js';
import { Store } from './store/store.js';

export interface AgentOptions {
  config: Config;
  /** Absolute folder of the local store. */
  dataDir: string;
  /** Folder relative paths in plugin configs are resolved against. */
  baseDir: string;
  logger: Logger;
  clock?: Scheduler;
  /** Called with every committed emission (tests, live stream). */
  onEmit?: (aggregates: readonly Aggregate[]) => void;
}

/** How often due windows are looked for; a window is emitted at most this late after `end + allowedLateness`. */
const TICK_MS = 250;
const PRUNE_EVERY_MS = 3_600_000;
/** Rejections found by the KPI core (not by a source, which logs its own) are logged at most this often. */
const REJECT_LOG_EVERY_MS = 60_000;

/**
 * The agent: sources → pipeline (KPI core + store) and the HTTP API, with one ticker that
 * emits due windows. `createAgent` does no I/O but open the store; `start` connects.
 */
export class Agent {
  readonly store: Store;
  readonly pipeline: Pipeline;
  readonly sources: Source[];
  readonly forwarders: Forwarder[];
  /** Committed windows and alert changes, for the live stream. */
  readonly events = new EventHub();
  readonly registry: Registry;
  readonly app: FastifyInstance | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private lastPrune = 0;
  private lastRejectLog = -Infinity;
  private readonly loggedRejections = new Map<string, number>();
  private stopped = false;
  private readonly clock: Scheduler;
  private readonly log: Logger;

  constructor(private readonly opts: AgentOptions) {
    const { config, logger } = opts;
    this.clock = opts.clock ?? systemClock;
    this.log = logger;
    this.store = new Store({ path: join(opts.dataDir, 'yieldwatch.db'), synchronous: config.store.synchronous });
    this.forwarders = config.sinks.map((sc) => this.createForwarder(sc));
    this.pipeline = new Pipeline(config, this.store, this.clock, {
      onEmit: (aggs) => {
        logger.debug({ windows: aggs.length }, 'Windows emitted.');
        for (const f of this.forwarders) f.wake();
        this.events.publish({ type: 'windows', aggregates: aggs });
        opts.onEmit?.(aggs);
      },
      onAlerts: (changes) => {
        for (const c of changes) {
          const a = c.alert;
          const fields = { alert: a.id, machine: a.machine, rule: a.rule, severity: a.severity, value: a.value, threshold: a.threshold, by: c.by };
          if (c.kind === 'fired') logger.warn(fields, `Alert: ${a.message}`);
          else if (c.kind === 'late_breach') logger.info(fields, `Late data shows a breach that was not alerted live: ${a.message}`);
          else logger.info(fields, `Alert ${c.kind}: ${a.machine} ${a.rule}.`);
        }
        for (const f of this.forwarders) f.wake();
        this.events.publish({ type: 'alerts', changes });
      },
      onCommitError: (err, failuresInRow) => {
        // One line per outage (and again every 60 failed retries), not one per retry.
        if (failuresInRow === 1 || failuresInRow % 60 === 0) {
          logger.error({ err, failuresInRow }, 'Cannot write to the local store; windows stay in memory and are retried with back-off.');
        }
      },
      onCommitRecovered: (failures) => logger.warn({ failures }, 'The local store accepts writes again; the held windows are saved.'),
    }, config.sinks.map((sc) => outboxWriter(sc, config.agent.id)));
    this.sources = config.sources.map((sc) => this.createSource(sc));
    this.registry = createMetrics({ pipeline: this.pipeline, store: this.store, sources: this.sources, forwarders: this.forwarders });
    this.app = config.api.enabled
      ? buildApp({
          store: this.store,
          registry: this.registry,
          machines: () => this.machines(),
          health: () => this.health(),
          sinks: () => this.forwarders.map((f) => f.status()),
          events: this.events,
          acknowledge: (id, by, comment) => this.pipeline.acknowledge(id, by, comment),
          tokens: config.api.tokens,
          logger,
        })
      : undefined;
  }

  /** What a plugin instance gets from the agent: its id, a labelled child logger, the clock and the config's folder. */
  private pluginContext(id: string, labels: Record<string, string>): PluginContext {
    return {
      id,
      logger: this.log.child(labels),
      clock: this.clock,
      agentId: this.opts.config.agent.id,
      isMachine: (p) => this.pipeline.engine.hasMachine(p),
      baseDir: this.opts.baseDir,
    };
  }

  private createSource(sc: SourceConfig): Source {
    return SOURCE_TYPES[sc.type].create(sc as never, this.pluginContext(sc.id, { source: sc.id, type: sc.type }));
  }

  private createForwarder(sc: SinkConfig): Forwarder {
    return createForwarder(sc, this.store.outbox, this.pluginContext(sc.id, { sink: sc.id, type: sc.type }));
  }

  /** Starts the API (when enabled), the ticker, every sink's forwarder and every source; returns the API's URL. */
  async start(): Promise<string | undefined> {
    for (const w of configWarnings(this.opts.config)) this.log.warn(w);
    const r = this.store.recovery;
    if (r !== undefined) {
      this.log.error(
        { damagedFile: r.damagedFile, problem: r.problem, tables: r.tables, lostRecords: r.lostRecords },
        'The local store file was damaged; a new one was made from its intact part and the damaged file kept beside it. Lost outbox records are counted per sink.',
      );
    }
    let url: string | undefined;
    if (this.app) {
      const { host, port } = this.opts.config.api;
      try {
        url = await this.app.listen({ host, port });
      } catch (err) {
        throw new YieldwatchError('YW_ERR_API_LISTEN', `The HTTP API cannot listen on ${host}:${port}: ${(err as Error).message}. Set api.port (or YIELDWATCH_API__PORT) to a free port.`, { cause: err });
      }
    }
    this.ticker = setInterval(() => this.tick(), TICK_MS);
    for (const f of this.forwarders) f.start();
    const sink: SampleSink = {
      samples: (b) => this.pipeline.ingest(b),
      reject: (reason, machine) => this.pipeline.reject(reason, machine),
    };
    await Promise.all(this.sources.map((s) => s.start(sink)));
    this.log.info({ machines: this.opts.config.machines.length, sources: this.sources.length, dataDir: this.opts.dataDir }, 'Agent started.');
    return url;
  }

  /** Emits due windows and prunes old ones; never throws (a failed commit is retried next tick). */
  tick(): void {
    try {
      this.pipeline.tick();
      for (const m of this.pipeline.engine.drainRebaselined()) {
        this.log.warn({ machine: m }, 'A counter jumped implausibly three times in a row; its latest value is the new baseline.');
      }
      const now = this.clock.now();
      if (now - this.lastRejectLog >= REJECT_LOG_EVERY_MS) {
        this.lastRejectLog = now;
        this.logCoreRejections();
      }
      if (now - this.lastPrune >= PRUNE_EVERY_MS) {
        this.lastPrune = now;
        const removed = this.store.prune(now - this.opts.config.store.retention);
        if (removed > 0) this.log.info({ removed }, 'Old windows pruned from the local store.');
      }
    } catch (err) {
      this.log.error({ err }, 'Tick failed.');
    }
  }

  private logCoreRejections(): void {
    for (const reason of ENGINE_REJECT_REASONS) {
      const n = this.pipeline.engine.stats.rejected.get(reason) ?? 0;
      const since = n - (this.loggedRejections.get(reason) ?? 0);
      if (since <= 0) continue;
      this.loggedRejections.set(reason, n);
      this.log.warn({ reason, count: since, total: n }, 'Samples were rejected by the KPI core; see yieldwatch_rejected_total.');
    }
  }

  /** Stops sources, saves the checkpoint, closes the API and the store. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.ticker) clearInterval(this.ticker);
    await Promise.allSettled(this.sources.map((s) => s.stop()));
    this.pipeline.tick();
    this.pipeline.checkpoint();
    // What a sink has not accepted yet stays in the outbox for the next start.
    await Promise.allSettled(this.forwarders.map((f) => f.stop()));
    if (this.app) await this.app.close();
    this.store.close();
    this.log.info('Agent stopped; checkpoint saved.');
  }

  machines(): MachineInfo[] {
    const cfg = this.opts.config;
    return cfg.machines.map((m) => {
      const ref = parseMachinePath(m.path)!;
      const product = m.product === undefined ? undefined : cfg.products[m.product];
      const signals = { ...cfg.machineDefaults.signals, ...m.signals };
      return {
        machine: m.path,
        site: ref.site,
        area: ref.area,
        line: ref.line,
        name: ref.machine,
        product: m.product,
        material: product?.material ?? m.material,
        signals: Object.fromEntries(Object.entries(signals).map(([k, v]) => [k, v!.kind])),
      };
    });
  }

  health(): Record<string, Health> {
    const out: Record<string, Health> = {
      store:
        this.pipeline.failuresInRow > 0
          ? { status: 'degraded', reason: `${this.pipeline.failuresInRow} commits to the local store failed in a row` }
          : { status: 'ok' },
    };
    for (const s of this.sources) out[`source:${s.id}`] = s.health();
    for (const f of this.forwarders) out[`sink:${f.sinkId}`] = f.status().health;
    return out;
  }
}
