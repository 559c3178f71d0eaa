import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Health } from '../core/health.js';
import type { Alert } from '../core/alert.js';
import type { ForwarderStatus } from '../core/sink.js';
import { registerAuth, type ApiToken } from './auth.js';
import type { EventHub } from './events.js';
import { alertRoutes } from './routes/alerts.js';
import { streamRoutes } from './routes/stream.js';
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
  /** Committed windows and alert changes, for `/api/v1/stream`. */
  events?: EventHub;
  /** Acknowledges an open alert (persisted and sent to the channels); undefined when it is not firing. */
  acknowledge?: (id: string, by: string, comment: string | undefined) => Alert | undefined;
  /** API tokens; none: the API is open. */
  tokens?: readonly ApiToken[];
  logger?: Logger;
}

/** Builds the fastify app (no `listen`): the entry point listens, tests use `inject()`. */
export function buildApp(deps: ApiDeps): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger?.child({ part: 'api' }) as FastifyBaseLogger | undefined,
    disableRequestLogging: true,
    // Live-stream clients hold their connections open: closing the API ends them too.
    forceCloseConnections: true,
    // An unknown query parameter is a typo the caller should hear about, not something to drop silently.
    ajv: { customOptions: { removeAdditional: false } },
  });
  app.decorateRequest('principal', undefined);
  app.register(healthRoutes, deps);
  // Every /api/v1 route lives in this one plugin, and the token check is a hook of that plugin:
  // it runs for whatever URL fastify routed there (encoded paths, absolute-form request lines).
  app.register(
    async (api) => {
      registerAuth(api, deps.tokens ?? []);
      await api.register(alertRoutes, deps);
      await api.register(streamRoutes, deps);
      await api.register(kpiRoutes, deps);
      await api.register(statusRoutes, deps);
    },
    { prefix: '/api/v1' },
  );
  return app;
}
