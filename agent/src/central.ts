import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { dashboardPlugin } from '../../dashboard/server/plugin.js';
import { buildApp } from './api/app.js';
import { UserFile } from './api/auth/users.js';
import type { Config } from './config/schema.js';
import { systemClock, type Clock } from './core/clock.js';
import { YieldwatchError } from './core/errors.js';
import { packageVersion } from './core/package-root.js';
import { KPI_METHOD } from './kpi/derive.js';
import { influxReader } from './readers/influxdb/index.js';
import { InfluxQuery } from './readers/influxdb/query.js';
import { materialList, shiftList, siteList } from './wiring/site-list.js';
import { authDeps, listenApi } from './wiring/http-api.js';
import { reportService } from './wiring/report.js';

export interface CentralOptions {
  config: Config;
  baseDir: string;
  /** Folder of the users file (`api.usersFile` is relative to it). */
  dataDir: string;
  /** `version` of the material library file, named in reports. */
  materialLibraryVersion?: string | undefined;
  logger: Logger;
  clock?: Clock;
}

/**
 * `yieldwatch dashboard --config FILE`: the dashboard and its API over InfluxDB, for a plant with
 * many agents. It reads what every agent's `influxdb` sink writes there (config key `central`),
 * through the same routes and views as an agent; it acknowledges nothing and takes no manual
 * entries (those belong to the agent that raised or holds them), and has no live stream (the
 * views poll).
 */
export class CentralDashboard {
  readonly app: FastifyInstance;
  readonly users: UserFile;
  private readonly db: InfluxQuery;

  constructor(private readonly opts: CentralOptions) {
    const { config, logger } = opts;
    const central = config.central;
    if (central === undefined) throw new YieldwatchError('YW_ERR_CONFIG_INVALID', 'yieldwatch dashboard needs the config key central.influxdb (the InfluxDB the agents write to): see config/REFERENCE.md, "central".');
    const clock = opts.clock ?? systemClock;
    this.db = new InfluxQuery(central.influxdb, opts.baseDir);
    this.users = new UserFile(resolve(opts.dataDir, config.api.usersFile));
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'yieldwatch_' });
    const stats = this.db.stats;
    new Counter({ name: 'yieldwatch_central_queries_total', help: 'InfluxQL requests the central dashboard made', registers: [registry], collect() { this.reset(); this.inc(stats.queries); } });
    new Counter({ name: 'yieldwatch_central_query_failures_total', help: 'InfluxQL requests that failed (no answer, or an error of InfluxDB)', registers: [registry], collect() { this.reset(); this.inc(stats.failures); } });
    new Counter({ name: 'yieldwatch_central_query_seconds_total', help: 'Seconds spent waiting for InfluxDB', registers: [registry], collect() { this.reset(); this.inc(stats.seconds); } });
    new Gauge({ name: 'yieldwatch_central_up', help: '1 while the last InfluxQL request succeeded', registers: [registry], collect() { this.set(stats.lastOk ? 1 : 0); } });
    const sites = siteList(config);
    const materials = materialList(config);
    const reader = influxReader(config, central, clock, this.db);
    this.app = buildApp(
      {
        reader,
        reports: reportService({ cfg: config, clock, reader, materialLibraryVersion: opts.materialLibraryVersion, agentId: undefined }),
        agent: { id: config.agent.id, version: packageVersion(), startedAt: clock.now() },
        registry,
        health: () => ({ influxdb: stats.lastOk ? { status: 'ok' } : { status: 'down', reason: stats.lastError ?? 'the last query failed' } }),
        sites: () => sites,
        shifts: shiftList(config),
        materials: () => materials,
        method: KPI_METHOD,
        ...authDeps(config, this.users, clock, logger),
      },
      [{ plugin: dashboardPlugin }],
    );
  }

  /** Listens on `api.host`/`api.port`; returns the URL. Like the agent, it needs a login where other machines reach it. */
  async start(): Promise<string> {
    return listenApi(this.app, this.opts.config, this.users, 'every agent\'s KPIs and alerts');
  }

  async stop(): Promise<void> {
    await this.app.close();
  }
}
