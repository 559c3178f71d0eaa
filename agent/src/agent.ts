import type { FastifyInstance } from 'fastify';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { KpiReader } from './api/reader.js';
import type { EntryService } from './core/entries.js';
import type { ReportContext } from './reports/service.js';
import { EventHub } from './api/events.js';
import type { Aggregate } from './core/aggregate.js';
import { systemClock, type Scheduler } from './core/clock.js';
import { packageVersion } from './core/package-root.js';
import type { Health } from './core/health.js';
import type { PluginContext, SampleSink, Source } from './core/plugin.js';
import type { ForwarderStatus } from './core/sink.js';
import type { Config } from './config/schema.js';
import { configWarnings } from './config/warnings.js';
import type { Forwarder } from './forward.js';
import { ENGINE_FLAG_REASONS, ENGINE_REJECT_REASONS } from './kpi/engine.js';
import { agentLog, type AgentLog } from './observe/agent-log.js';
import { partsHealth } from './observe/health.js';
import { createMetrics } from './observe/metrics.js';
import type { Pipeline } from './pipeline/pipeline.js';
import { Ticker } from './pipeline/ticker.js';
import { GroupCommit } from './pipeline/group-commit.js';
import { privacyWarnings } from './store/private-files.js';
import { Store } from './store/store.js';
import { machineList } from './readers/machine-list.js';
import { createPipeline } from './wiring/pipeline-options.js';
import { createForwarder, outboxWriter } from './wiring/sinks.js';
import { createSource } from './wiring/sources.js';
import { entryService } from './wiring/entries.js';
import { storeReader } from './readers/store/index.js';
import { ReportScheduler } from './wiring/report-scheduler.js';
import { materialList, shiftList, siteList } from './wiring/site-list.js';
import { KPI_METHOD } from './kpi/derive.js';
import { UserFile } from './api/auth/users.js';

export interface AgentOptions {
  config: Config;
  /** Absolute folder of the local store. */
  dataDir: string;
  /** Folder relative paths in plugin configs are resolved against. */
  baseDir: string;
  /** `version` of the material library file, named in reports. */
  materialLibraryVersion?: string | undefined;
  logger: Logger;
  clock?: Scheduler;
  /** Called with every committed emission (tests, live stream). */
  onEmit?: (aggregates: readonly Aggregate[]) => void;
}

/**
 * The composition root: builds the parts from the config and connects them — sources → pipeline
 * (KPI core, alerts, store, outbox) → forwarders, with the ticker and the HTTP API beside them.
 * The constructor does no I/O but open the store; `start` connects, `stop` saves and closes.
 */
export class Agent {
  readonly store: Store;
  readonly pipeline: Pipeline;
  readonly sources: Source[];
  readonly forwarders: Forwarder[];
  /** Scheduled reports (`reports.schedules`) and the forwarders of their deliveries. */
  readonly reports: ReportScheduler;
  /** Committed windows and alert changes, for the live stream. */
  readonly events = new EventHub();
  readonly registry: Registry;
  /** The HTTP API and dashboard, made in `start` when `api.enabled`. */
  private app: FastifyInstance | undefined;
  private readonly clock: Scheduler;
  private readonly startedAt: number;
  private readonly reader: KpiReader;
  private readonly entries: EntryService;
  private readonly reportSources: Omit<ReportContext, 'cfg' | 'clock'>;
  private readonly ticker: Ticker;
  /** The commits that sources holding acknowledgements wait for (core/commit-gate.ts). */
  private readonly commits: GroupCommit;
  private readonly log: AgentLog;
  /** Delivery state of every sink and every scheduled report's delivery channel, read at call time. */
  private readonly sinks = (): ForwarderStatus[] => [...this.forwarders, ...this.reports.forwarders].map((f) => f.status());
  /** The local users who log in to the dashboard (`api.usersFile`). */
  readonly users: UserFile;
  private stopped = false;

  constructor(private readonly opts: AgentOptions) {
    const { config, logger } = opts;
    const clock = opts.clock ?? systemClock;
    const log = (this.log = agentLog(logger));
    this.store = new Store({ path: join(opts.dataDir, 'yieldwatch.db'), synchronous: config.store.synchronous });
    this.users = new UserFile(resolve(opts.dataDir, config.api.usersFile));
    const context = (id: string, labels: Record<string, string>): PluginContext => ({
      id,
      logger: logger.child(labels),
      clock,
      agentId: config.agent.id,
      isMachine: (p) => this.pipeline.hasMachine(p),
      baseDir: opts.baseDir,
    });
    this.forwarders = config.sinks.map((sc) => createForwarder(sc, this.store.outbox, context(sc.id, { sink: sc.id, type: sc.type })));
    const wakeSinks = () => this.forwarders.forEach((f) => f.wake());
    this.commits = new GroupCommit({
      clock,
      intervalMs: config.kpi.commitInterval,
      maxMessages: config.kpi.commitMaxMessages,
      commit: () => this.pipeline.commitNow(),
      restored: this.store.loadSourceStates(),
    });
    this.pipeline = createPipeline(config, this.store, clock, {
      onCommitting: (save) => this.commits.saveStates(save),
      onCommitted: () => this.commits.committed(),
      onEmit: (aggregates) => {
        log.windowsEmitted(aggregates);
        wakeSinks();
        this.events.publish({ type: 'windows', aggregates });
        opts.onEmit?.(aggregates);
      },
      onAlerts: (changes) => {
        log.alertChanges(changes);
        wakeSinks();
        this.events.publish({ type: 'alerts', changes });
      },
      onCommitError: log.commitFailed,
      onCommitRecovered: log.commitRecovered,
    }, config.sinks.map((sc) => outboxWriter(sc, config.agent.id)));
    this.sources = config.sources.map((sc) => createSource(sc, context(sc.id, { source: sc.id, type: sc.type })));
    // The configured machines do not change while the agent runs.
    const machines = machineList(config);
    const reader = storeReader(this.store, config, machines, clock);
    const entries = entryService(config, this.store, this.pipeline, clock);
    const reportSources = { reader, entries, materialLibraryVersion: opts.materialLibraryVersion, agentId: config.agent.id };
    this.reports = new ReportScheduler({ config, store: this.store, clock, logger: logger.child({ part: 'reports' }), dataDir: opts.dataDir, sources: reportSources });
    this.ticker = new Ticker({
      pipeline: this.pipeline,
      prune: (before) => {
        this.reports.pruneFiles(before);
        return this.store.prune(before);
      },
      clock,
      retentionMs: config.store.retention,
      rejectReasons: [...ENGINE_REJECT_REASONS, ...ENGINE_FLAG_REASONS],
      events: log,
    });
    this.registry = createMetrics({ pipeline: this.pipeline, store: this.store, sources: this.sources, sinks: this.sinks, reports: () => this.reports.stats() });
    this.clock = clock;
    this.startedAt = clock.now();
    this.reader = reader;
    this.entries = entries;
    this.reportSources = reportSources;
  }

  /**
   * The HTTP API with the dashboard. Loaded only when enabled: fastify, its plugins and the
   * dashboard's bundler are a third of the agent's memory, which a headless agent (the API off,
   * a small board) does not need to carry.
   */
  private async buildApi(): Promise<FastifyInstance> {
    const [{ buildApp }, { dashboardPlugin }, { authDeps }, { reportService }, { guardsJson }] = await Promise.all([
      import('./api/app.js'),
      import('../../dashboard/server/plugin.js'),
      import('./wiring/http-api.js'),
      import('./wiring/report.js'),
      import('./api/routes/status.js'),
    ]);
    const { config, logger } = this.opts;
    const clock = this.clock;
    const sites = siteList(config);
    const materials = materialList(config);
    return buildApp(
      {
        reader: this.reader,
        agent: { id: config.agent.id, version: packageVersion(), startedAt: this.startedAt },
        registry: this.registry,
        health: () => this.health(),
        sinks: this.sinks,
        guards: () => guardsJson(this.pipeline.stats().ingest.byMachine, this.pipeline.rateLimits()),
        events: this.events,
        streamLimits: { total: config.api.maxStreams, perLogin: config.api.maxStreamsPerLogin },
        acknowledge: (id, by, comment) => this.pipeline.acknowledge(id, by, comment),
        sites: () => sites,
        shifts: shiftList(config),
        materials: () => materials,
        method: KPI_METHOD,
        entries: this.entries,
        reports: reportService({ cfg: config, clock, ...this.reportSources }),
        ...authDeps(config, this.users, clock, logger),
      },
      [{ plugin: dashboardPlugin }],
    );
  }

  /** Starts the API (when enabled), the ticker, every sink's forwarder and every source; returns the API's URL. */
  async start(): Promise<string | undefined> {
    for (const w of configWarnings(this.opts.config)) this.log.configWarning(w);
    for (const w of privacyWarnings(this.opts.dataDir, this.store.path)) this.log.configWarning(w);
    if (this.store.recovery !== undefined) this.log.storeRecovered(this.store.recovery);
    let url: string | undefined;
    if (this.opts.config.api.enabled) {
      const { AGENT_API_EXPOSES, listenApi } = await import('./wiring/http-api.js');
      this.app = await this.buildApi();
      // An open API would let anyone on the network acknowledge alerts and record scrap.
      url = await listenApi(this.app, this.opts.config, this.users, AGENT_API_EXPOSES);
    }
    this.ticker.start();
    // Windows of the checkpoint that came due while the agent was down are emitted before a report due now reads the store.
    this.ticker.tick();
    for (const f of this.forwarders) f.start();
    // A report due while the agent was down is made now, in the background.
    this.reports.start();
    const sink: SampleSink = {
      samples: (b) => this.pipeline.ingest(b),
      reject: (reason, machine) => this.pipeline.reject(reason, machine),
      commits: this.commits,
    };
    await Promise.all(this.sources.map((s) => s.start(sink)));
    this.log.started({ machines: this.opts.config.machines.length, sources: this.sources.length, dataDir: this.opts.dataDir });
    return url;
  }

  /** Stops sources, saves the checkpoint, closes the API and the store. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ticker.stop();
    // Waits for a report being made (the store stays open until it is recorded).
    await Promise.allSettled([...this.sources.map((s) => s.stop()), this.reports.stop()]);
    this.commits.close();
    this.pipeline.tick();
    this.pipeline.checkpoint();
    // What a sink has not accepted yet stays in the outbox for the next start.
    await Promise.allSettled(this.forwarders.map((f) => f.stop()));
    if (this.app) await this.app.close();
    this.store.close();
    this.log.stopped();
  }

  /** Health of every long-running part, by name. */
  health(): Record<string, Health> {
    return { ...partsHealth({ pipeline: this.pipeline, sources: this.sources, sinks: this.sinks }), ...this.reports.health() };
  }
}
