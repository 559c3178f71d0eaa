import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Health } from '../core/health.js';
import type { ForwarderStatus } from '../forward.js';
import type { Store } from '../store/store.js';
import { healthRoutes } from './routes/health.js';
import { kpiRoutes, type MachineInfo } from './routes/kpis.js';
import { statusRoutes } from './routes/status.js';

/** What the HTTP API reads; it never writes the store. */
export interface ApiDeps {
  store: Store;
  registry: Registry;
  machines: () => readonly MachineInfo[];
  /** Health of every long-running part, by name. */
  health: () => Record<string, Health>;
  /** Delivery state of every sink (none when the agent forwards nowhere). */
  sinks?: () => readonly ForwarderStatus[];
  logger?: Logger;
}

/** Builds the fastify app (no `listen`): the entry point listens, tests use `inject()`. */
export function buildApp(deps: ApiDeps): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger?.child({ part: 'api' }) as FastifyBaseLogger | undefined,
    disableRequestLogging: true,
    // An unknown query parameter is a typo the caller should hear about, not something to drop silently.
    ajv: { customOptions: { removeAdditional: false } },
  });
  app.register(healthRoutes, deps);
  app.register(kpiRoutes, { ...deps, prefix: '/api/v1' });
  app.register(statusRoutes, { ...deps, prefix: '/api/v1' });
  return app;
}
