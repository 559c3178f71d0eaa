import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import compress from '@fastify/compress';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { randomBytes } from 'node:crypto';
import { registerAuth, type AuthOptions } from './auth/check.js';
import { Sessions } from './auth/sessions.js';
import { sessionRoutes } from './routes/session.js';
import type { ApiDeps } from './deps.js';
import { alertRoutes } from './routes/alerts.js';
import { entryRoutes } from './routes/entries.js';
import { streamRoutes } from './routes/stream.js';
import { healthRoutes } from './routes/health.js';
import { kpiRoutes } from './routes/kpis.js';
import { reportRoutes } from './routes/reports.js';
import { statusRoutes } from './routes/status.js';

/** Same origin only, for the API and the dashboard alike: every asset is the agent's own (plants are often offline). */
const CSP = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
  formAction: ["'self'"],
  objectSrc: ["'none'"],
};

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
    trustProxy: deps.trustProxy === undefined || deps.trustProxy.length === 0 ? false : [...deps.trustProxy],
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
  // Signs the session and CSRF cookies; a new key per process, as the sessions live in memory too.
  const secret = randomBytes(32).toString('base64url');
  app.register(cookie, { secret });
  app.register(csrf, {
    // 'auto': Secure when the request came over https, directly or through a proxy in api.trustProxy, as the session cookie.
    cookieOpts: { signed: true, httpOnly: true, sameSite: 'strict', path: '/', secure: 'auto' },
    getToken: (req) => req.headers['x-csrf-token'] as string | undefined,
    // Bound to the user, so a token planted from another session does not pass.
    getUserInfo: (req) => req.principal?.name ?? '',
    csrfOpts: { hmacKey: secret },
  });
  app.register(helmet, { contentSecurityPolicy: { useDefaults: false, directives: CSP }, crossOriginEmbedderPolicy: false });
  app.register(rateLimit, { global: false });
  // The overview of 200 machines is half a megabyte of JSON, and a shop-floor PC may sit on a slow link:
  // gzip answers above 1 kB (cheap enough for a Raspberry Pi; brotli's default level is not). The live stream is not compressed.
  app.register(compress, { encodings: ['gzip', 'deflate'], threshold: 1024 });
  // Every route's schema becomes the OpenAPI document; the docs page is served from the package, offline.
  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'yieldwatch agent API', version: '1', description: 'Material-efficiency KPIs, alerts and manual scrap of the machines this agent reads. Wire types: agent/src/api/contract.ts.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, session: { type: 'apiKey', in: 'cookie', name: 'yw_session' } } },
      security: [{ bearer: [] }, { session: [] }],
    },
  });
  app.register(swaggerUi, { routePrefix: '/api/docs' });
  // Swagger UI sets one inline style; its pages (and only they) may, while scripts stay 'self'.
  const docsCsp = Object.entries({ ...CSP, styleSrc: ["'self'", "'unsafe-inline'"] })
    .map(([k, v]) => `${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} ${v.join(' ')}`)
    .join('; ');
  app.addHook('onSend', async (req, reply) => {
    if (req.url.startsWith('/api/docs')) reply.header('content-security-policy', docsCsp);
  });
  const auth: AuthOptions = {
    tokens: deps.tokens ?? [],
    users: deps.users,
    sessions: deps.sessions ?? new Sessions(12 * 3_600_000, Date.now),
    alwaysLogin: deps.alwaysLogin ?? (deps.users?.count() ?? 0) > 0,
  };
  app.register(healthRoutes, deps);
  // Every /api/v1 route lives in this one plugin, and the token check is a hook of that plugin:
  // it runs for whatever URL fastify routed there (encoded paths, absolute-form request lines).
  app.register(
    async (api) => {
      registerAuth(api, auth);
      requireDocumentedRoutes(api);
      api.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
      await api.register(sessionRoutes, { ...auth, central: deps.reader.backend === 'influxdb' });
      await api.register(alertRoutes, deps);
      await api.register(streamRoutes, deps);
      await api.register(kpiRoutes, deps);
      await api.register(entryRoutes, deps);
      await api.register(reportRoutes, deps);
      await api.register(statusRoutes, deps);
    },
    { prefix: '/api/v1' },
  );
  for (const p of plugins) app.register(p.plugin, p.options ?? {});
  return app;
}

/** Refuses a route without a summary and a query schema: it would take any parameter silently and be missing from the API docs. */
export function requireDocumentedRoutes(api: FastifyInstance): void {
  api.addHook('onRoute', (r) => {
    const schema = r.schema as { summary?: string; querystring?: unknown; hide?: boolean } | undefined;
    if (schema?.hide !== true && (schema?.summary === undefined || schema.querystring === undefined)) throw new Error(`route ${[r.method].flat().join(',')} ${r.url} needs a schema with a summary and a querystring`);
  });
}
