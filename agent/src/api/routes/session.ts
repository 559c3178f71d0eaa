import type { FastifyPluginAsync } from 'fastify';
import { loginRequired, SESSION_COOKIE, sessionOf, type AuthOptions } from '../auth/check.js';
import type { SessionJson } from '../contract.js';
import { NO_QUERY } from '../schemas.js';

/** Login attempts one address may make: enough for typos, too few to guess a password. */
const LOGIN_ATTEMPTS = 10;
const LOGIN_WINDOW = '15 minutes';

/**
 * `POST /api/v1/login` (name and password → a session cookie and the CSRF token), `POST
 * /api/v1/logout`, and `GET /api/v1/session`: who the browser is, and its CSRF token.
 */
export const sessionRoutes: FastifyPluginAsync<AuthOptions & { central: boolean }> = async (app, o) => {
  app.post<{ Body: { name: string; password: string } }>(
    '/login',
    {
      config: { public: true, rateLimit: { max: LOGIN_ATTEMPTS, timeWindow: LOGIN_WINDOW } },
      schema: {
        summary: 'Log in: a session cookie and the CSRF token (10 attempts per address per 15 minutes)',
        tags: ['session'],
        querystring: NO_QUERY,
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'password'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 1024 } },
        },
      },
    },
    async (req, reply): Promise<SessionJson | undefined> => {
      const who = o.users === undefined ? undefined : await o.users.verify(req.body.name, req.body.password);
      if (who === undefined) {
        await reply.code(401).send({ error: 'wrong user name or password' });
        return;
      }
      const id = o.sessions.open(who.name, who.role, o.users!.lookup(who.name)!.hash);
      // No Max-Age: the cookie ends with the browser; the session ends after api.sessionTtl unused.
      reply.setCookie(SESSION_COOKIE, id, { signed: true, httpOnly: true, sameSite: 'strict', path: '/', secure: req.protocol === 'https' });
      req.principal = { name: who.name, role: who.role, via: 'session', session: id };
      return { login: 'session', name: who.name, role: who.role, csrf: reply.generateCsrf({ userInfo: who.name }), central: o.central };
    },
  );

  app.post('/logout', { schema: { summary: 'End the session', tags: ['session'], querystring: NO_QUERY } }, async (req, reply) => {
    const s = sessionOf(req, o);
    if (s !== undefined) o.sessions.close(s.id);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.code(204).send();
  });

  app.get('/session', { schema: { summary: 'Who the caller is, with the CSRF token of a session', tags: ['session'], querystring: NO_QUERY } }, async (req, reply): Promise<SessionJson> => {
    if (!loginRequired(o)) return { login: 'none', name: null, role: 'admin', csrf: null, central: o.central };
    const p = req.principal!;
    return { login: p.via, name: p.name, role: p.role, csrf: p.via === 'session' ? reply.generateCsrf({ userInfo: p.name }) : null, central: o.central };
  });
};
