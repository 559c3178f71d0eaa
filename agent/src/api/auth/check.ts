import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isLoopbackHost } from '../../core/loopback.js';
import type { Principal, Role } from './roles.js';
import type { Sessions } from './sessions.js';
import type { UserFile } from './users.js';

export interface ApiToken {
  name: string;
  token: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Who called, when the API needs a login; undefined when it is open (no users, no tokens). */
    principal: Principal | undefined;
  }
  interface FastifyContextConfig {
    /** A route anyone may call (the login itself). */
    public?: boolean;
    /** The one route that takes `?token=`: a browser's EventSource cannot send a header. */
    tokenInQuery?: boolean;
  }
}

/** The cookie that holds a browser's session id (signed; HttpOnly; SameSite=Strict). */
export const SESSION_COOKIE = 'yw_session';

/** Who may log in and how: API tokens for machines and scripts, local users with sessions for people. */
export interface AuthOptions {
  tokens: readonly ApiToken[];
  users: UserFile | undefined;
  sessions: Sessions;
  /** A login is needed whatever the users file says now: the agent listens where other machines reach it, or started with users. */
  alwaysLogin: boolean;
}

/**
 * True when the API needs a login: it has a token or a user, or must have one (`alwaysLogin`).
 * Fails closed: an agent that needed a login keeps needing one when its last user is removed.
 */
export function loginRequired(o: AuthOptions): boolean {
  return o.alwaysLogin || o.tokens.length > 0 || (o.users?.count() ?? 0) > 0;
}


const sha256 = (s: string) => createHash('sha256').update(s).digest();

/**
 * The token a caller gave, compared with every configured one in the same time whatever it is:
 * the SHA-256 of both sides has one length, so neither a length check nor the first differing
 * byte ends the comparison early, and every token is compared (the position of a match tells nothing).
 */
export function tokenOf(tokens: readonly ApiToken[], given: string): ApiToken | undefined {
  const g = sha256(given);
  let found: ApiToken | undefined;
  for (const t of tokens) if (timingSafeEqual(sha256(t.token), g) && found === undefined) found = t;
  return found;
}

/** The credential of an `Authorization: Bearer <token>` header; the scheme is case-insensitive (RFC 9110, 11.1). */
export function bearerToken(header: string | undefined): string | undefined {
  const m = header === undefined ? null : /^bearer[ \t]+(.*)$/is.exec(header);
  return m === null ? undefined : m[1]!.trim();
}

/** The session a request's signed cookie names, if it is open. */
export function sessionOf(req: FastifyRequest, o: Pick<AuthOptions, 'sessions' | 'users'>): { id: string; name: string; role: Role } | undefined {
  const raw = req.cookies[SESSION_COOKIE];
  if (raw === undefined || o.users === undefined) return undefined;
  const unsigned = req.unsignCookie(raw);
  if (!unsigned.valid || unsigned.value === null) return undefined;
  const users = o.users;
  const s = o.sessions.use(unsigned.value, (name) => users.lookup(name));
  return s === undefined ? undefined : { id: unsigned.value, ...s };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The check every request to the routes of `app` (the `/api/v1` plugin) goes through. When the
 * API needs a login: a bearer token (401 without one, 403 for a wrong one) or a session cookie;
 * `?token=` only on the live stream (a 400 elsewhere: tokens in URLs end up in proxy logs). A
 * browser's state change (session, not token) needs its CSRF token in `x-csrf-token`. Health and
 * metrics stay open for probes and scrapers, as do the routes marked public.
 */
export function registerAuth(app: FastifyInstance, o: AuthOptions): void {
  app.addHook('onRequest', async (req, reply) => {
    const query = req.query as Record<string, unknown> | undefined;
    const cfg = req.routeOptions.config;
    if (query?.token !== undefined && cfg.tokenInQuery !== true) {
      return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: 'query parameter "token" is only for /api/v1/stream (a browser\'s EventSource cannot send a header): send "Authorization: Bearer <token>" instead' });
    }
    if (!loginRequired(o)) {
      // An open API is for this machine alone: a page elsewhere that rebinds its name to 127.0.0.1 gets nothing.
      if (!isLoopbackHost(req.headers.host ?? '')) return reply.code(403).send({ error: 'this agent has no logins, so it answers only to its own loopback address (localhost, 127.0.0.1)' });
      return;
    }
    if (cfg.public === true) return;
    const given = bearerToken(req.headers.authorization) ?? (typeof query?.token === 'string' ? query.token : undefined);
    if (given !== undefined) {
      const t = tokenOf(o.tokens, given);
      if (t === undefined) return reply.code(403).send({ error: 'unknown token' });
      req.principal = { name: t.name, role: t.role, via: 'token' };
      return;
    }
    const s = sessionOf(req, o);
    if (s === undefined) return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'this API needs a login (POST /api/v1/login) or a token: Authorization: Bearer <token>' });
    req.principal = { name: s.name, role: s.role, via: 'session', session: s.id };
  });
  app.addHook('preHandler', (req, reply, done) => {
    if (req.principal?.via !== 'session' || SAFE_METHODS.has(req.method)) return done();
    // A browser holds the cookie whatever page sent the request: only our page knows the CSRF token.
    app.csrfProtection(req, reply as FastifyReply, done);
  });
}
