import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from '../deps.js';

/** `/livez` (the process answers), `/readyz` (every part is up) and `/metrics` (Prometheus). */
export const healthRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get('/livez', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_req, reply) => {
    const parts = deps.health();
    const ready = Object.values(parts).every((h) => h.status !== 'down');
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', parts });
  });

  app.get('/metrics', async (_req, reply) => {
    const text = await deps.registry.metrics();
    return reply.header('content-type', deps.registry.contentType).send(text);
  });
};
