import type { FastifyPluginAsync } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../agent/src/core/package-root.js';

/**
 * Serves the dashboard's pages from `dashboard/src/`, read once at registration. Every asset is
 * the agent's own (plants are often offline), so the page may load nothing from another host.
 */
export const dashboardPlugin: FastifyPluginAsync = async (app) => {
  const index = readFileSync(join(packageRoot(), 'dashboard', 'src', 'index.html'));
  app.get('/', async (_req, reply) =>
    reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', "default-src 'self'; style-src 'self' 'unsafe-inline'").send(index),
  );
};
