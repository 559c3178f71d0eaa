import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { registerAuth } from './auth.js';
import type { ApiDeps } from './deps.js';
import { alertRoutes } from './routes/alerts.js';
import { entryRoutes } from './routes/entries.js';
import { streamRoutes } from './routes/stream.js';
import { healthRoutes } from './routes/health.js';
import { kpiRoutes } from './routes/kpis.js';
import { statusRoutes } from './routes/status.js';

/** A fastify plugin the composition root adds beside the API (the dashboard), with its options. */
export interface AppPlugin {
  plugin: FastifyPluginAsync<Record<string, unknown>>;
  options?: Record<string, unknown>;
}

/**
 * Builds the fastify app (no `listen`): the entry point listens, tests use `inject()`. `plugins`
 * are registered after the API, so a UI is added without the API knowing it.
 */
export function buildApp(deps: ApiDeps, plugins: readonly AppPlugin[] = []): FastifyInstance {
  const app: FastifyInstance = Fastify({
    loggerInstance: deps.logger?.child({ part: 'api' }) as FastifyBaseLogger | undefined,
    disableRequestLogging: true,
    // Live-stream clients hold their connections open: closing the API ends them too.
    forceCloseConnections: true,
    // An unknown query parameter is a typo the caller should hear about, not something to drop silently.
    // …and a value of the wrong type is an error, not something to coerce (`"parts": true` is not 1 part).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false } },
    // A 400 names the field: ajv's own message for an unknown one does not.
    schemaErrorFormatter: (errors, dataVar) =>
      new Error(
        errors
          .map((e) => `${dataVar}${e.instancePath} ${e.message ?? 'is not valid'}${typeof e.params.additionalProperty === 'string' ? `: "${e.params.additionalProperty}"` : ''}`)
          .join(', '),
      ),
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
      await api.register(entryRoutes, deps);
      await api.register(statusRoutes, deps);
    },
    { prefix: '/api/v1' },
  );
  for (const p of plugins) app.register(p.plugin, p.options ?? {});
  return app;
}
