import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../agent/src/core/package-root.js';
import { dashboardAssets } from './build.js';

/** The views' paths: each has its own URL, and a reload or a shared link opens the same view. */
const VIEWS = ['/', '/machines/*', '/floor/*', '/alerts', '/alerts/*', '/sustainability', '/reports', '/status'];

/**
 * Serves the dashboard: its page at every view's path and its bundled assets under `/assets/`
 * (dashboard/README.md). The page reads the agent only through the HTTP API.
 */
export const dashboardPlugin: FastifyPluginAsync = async (app) => {
  const index = readFileSync(join(packageRoot(), 'dashboard', 'src', 'index.html'));
  const favicon = readFileSync(join(packageRoot(), 'dashboard', 'src', 'favicon.svg'));
  const assets = await dashboardAssets();
  // The security headers (a CSP of 'self' only, among others) are the app's, for every route (agent/src/api/app.ts).
  const secure = (reply: FastifyReply) => reply;
  for (const path of VIEWS) app.get(path, async (_req, reply) => secure(reply).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-cache').send(index));
  // Browsers ask for /favicon.ico whatever the page says; both get the icon.
  for (const path of ['/favicon.svg', '/favicon.ico']) app.get(path, async (_req, reply) => secure(reply).header('content-type', 'image/svg+xml').header('cache-control', 'max-age=86400').send(favicon));
  app.get<{ Params: { name: string } }>('/assets/:name', async (req, reply) => {
    const a = assets.get(req.params.name);
    if (a === undefined) return reply.code(404).send({ error: `no asset "${req.params.name}"` });
    secure(reply).header('content-type', a.type).header('etag', a.etag).header('cache-control', 'no-cache');
    if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
    return reply.send(a.body);
  });
};
