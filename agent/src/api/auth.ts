import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';

export interface ApiToken {
  name: string;
  token: string;
  role: 'viewer' | 'operator';
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who called, when the API has tokens; undefined when it has none. */
    principal: { name: string; role: 'viewer' | 'operator' } | undefined;
  }
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h?.startsWith('Bearer ')) return h.slice(7).trim();
  // EventSource cannot send headers: the live stream also takes ?token=.
  const q = (req.query as Record<string, unknown> | undefined)?.token;
  return typeof q === 'string' ? q : undefined;
}

/**
 * With tokens configured, every request to the routes of `app` (the `/api/v1` plugin) needs one
 * (401 without, 403 for a wrong one); health and metrics stay open for probes and scrapers.
 * Without tokens nothing is checked.
 */
export function registerAuth(app: FastifyInstance, tokens: readonly ApiToken[]): void {
  if (tokens.length === 0) return;
  app.addHook('onRequest', async (req, reply) => {
    const given = bearer(req);
    if (given === undefined) return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'this API needs a token: Authorization: Bearer <token>' });
    const t = tokens.find((x) => same(x.token, given));
    if (t === undefined) return reply.code(403).send({ error: 'unknown token' });
    req.principal = { name: t.name, role: t.role };
  });
}
