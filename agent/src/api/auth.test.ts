import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../agent.js';
import { VirtualClock } from '../core/clock.js';
import { YieldwatchError } from '../core/errors.js';
import { validateConfig } from '../config/load.js';
import { createMetrics } from '../observe/metrics.js';
import { Store } from '../store/store.js';
import { entryService } from '../wiring/entries.js';
import { createPipeline } from '../wiring/pipeline-options.js';
import { buildApp } from './app.js';
import { Sessions } from './auth/sessions.js';
import { UserFile } from './auth/users.js';
import type { SessionJson } from './contract.js';
import { storeReader } from '../readers/store/index.js';
import { machineList } from '../readers/machine-list.js';
import { materialList, shiftList, siteList } from '../wiring/site-list.js';

const M = 'plant/l1/press';
const T0 = Date.UTC(2026, 11, 3, 9, 0, 0);
const TOKENS = { viewer: 'viewer-token-0123456789ab', operator: 'operator-token-0123456789', admin: 'admin-token-0123456789abcd' };
const config = validateConfig({ machines: [{ path: M, signals: { parts_good: { kind: 'delta' } } }], sources: [] });

/** Cookies a response set, as a Cookie header for the next request. */
function cookiesOf(res: LightMyRequestResponse, jar: Map<string, string>): string {
  for (const c of res.cookies) jar.set(c.name, c.value);
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

describe('logins: users with sessions, tokens, CSRF, roles', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-auth-'));
  const users = new UserFile(join(dir, 'users.json'));
  const clock = new VirtualClock(T0);
  const store = new Store({ path: ':memory:' });
  const pipeline = createPipeline(config, store, clock);
  let app: FastifyInstance;
  const deps = () => ({
      reader: storeReader(store, config, machineList(config), clock),
      registry: createMetrics({ pipeline, store, sources: [] }),
      health: () => ({}),
      sites: () => siteList(config),
      materials: () => materialList(config),
      shifts: shiftList(config),
      acknowledge: () => undefined,
      entries: entryService(config, store, pipeline, clock),
      tokens: (Object.keys(TOKENS) as (keyof typeof TOKENS)[]).map((role) => ({ name: `${role} script`, token: TOKENS[role], role })),
      users,
      sessions: new Sessions(3_600_000, () => clock.now()),
  });
  beforeAll(async () => {
    await users.add('Anna', 'operator', 'correct horse battery', new Date(T0));
    await users.add('Wim', 'viewer', 'staple of the wall', new Date(T0));
    app = buildApp(deps());
  });
  afterAll(async () => {
    await app.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const login = async (name: string, password: string) => {
    const jar = new Map<string, string>();
    const res = await app.inject({ method: 'POST', url: '/api/v1/login', payload: { name, password }, remoteAddress: `10.0.0.${name.length}` });
    return { res, cookie: cookiesOf(res, jar), jar };
  };

  it('the users file keeps scrypt hashes, never a password', () => {
    const text = readFileSync(users.path, 'utf8');
    expect(text).not.toContain('correct horse battery');
    expect(text).toMatch(/"hash": "scrypt\$32768\$8\$1\$/);
  });

  it('a browser logs in, reads with its session cookie, and logs out', async () => {
    expect((await app.inject('/api/v1/machines')).statusCode).toBe(401);
    const wrong = await login('Anna', 'wrong password');
    expect(wrong.res.statusCode).toBe(401);
    expect(wrong.res.cookies.find((c) => c.name === 'yw_session')).toBeUndefined();
    const { res, cookie } = await login('Anna', 'correct horse battery');
    expect(res.statusCode).toBe(200);
    expect(res.json<SessionJson>()).toMatchObject({ login: 'session', name: 'Anna', role: 'operator' });
    const set = res.cookies.find((c) => c.name === 'yw_session')!;
    expect(set).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/' });
    expect((await app.inject({ url: '/api/v1/machines', headers: { cookie } })).statusCode).toBe(200);
    expect((await app.inject({ url: '/api/v1/session', headers: { cookie } })).json<SessionJson>()).toMatchObject({ name: 'Anna', role: 'operator' });
    const csrf = res.json<SessionJson>().csrf!;
    expect((await app.inject({ method: 'POST', url: '/api/v1/logout', headers: { cookie, 'x-csrf-token': csrf } })).statusCode).toBe(204);
    expect((await app.inject({ url: '/api/v1/machines', headers: { cookie } })).statusCode).toBe(401);
    // A forged cookie (not signed by this agent) opens nothing.
    expect((await app.inject({ url: '/api/v1/machines', headers: { cookie: 'yw_session=abc.def' } })).statusCode).toBe(401);
  });

  it('a session\'s state change needs its CSRF token; a token-authenticated script does not', async () => {
    const { res, cookie } = await login('Anna', 'correct horse battery');
    const csrf = res.json<SessionJson>().csrf!;
    const body = { machine: M, parts: 2, time: T0 - 1000 };
    const without = await app.inject({ method: 'POST', url: '/api/v1/entries', payload: body, headers: { cookie } });
    expect(without.statusCode).toBe(403);
    const forged = await app.inject({ method: 'POST', url: '/api/v1/entries', payload: body, headers: { cookie, 'x-csrf-token': 'made-up' } });
    expect(forged.statusCode).toBe(403);
    // Another user's token does not pass either.
    const wim = await login('Wim', 'staple of the wall');
    const wimsToken = wim.res.json<SessionJson>().csrf!;
    expect((await app.inject({ method: 'POST', url: '/api/v1/entries', payload: body, headers: { cookie, 'x-csrf-token': wimsToken } })).statusCode).toBe(403);
    const ok = await app.inject({ method: 'POST', url: '/api/v1/entries', payload: body, headers: { cookie, 'x-csrf-token': csrf } });
    expect(ok.statusCode).toBe(201);
    expect(ok.json<{ by: string }>().by).toBe('Anna');
    const script = await app.inject({ method: 'POST', url: '/api/v1/entries', payload: body, headers: { authorization: `Bearer ${TOKENS.operator}` } });
    expect(script.statusCode).toBe(201);
    expect(script.json<{ by: string }>().by).toBe('operator script');
  });

  it('a session ends after its lifetime unused', async () => {
    const { cookie } = await login('Wim', 'staple of the wall');
    clock.advance(3_600_000 - 1);
    expect((await app.inject({ url: '/api/v1/machines', headers: { cookie } })).statusCode).toBe(200);
    clock.advance(3_600_000);
    expect((await app.inject({ url: '/api/v1/machines', headers: { cookie } })).statusCode).toBe(401);
  });

  it('removing a user or changing the password ends the user\'s sessions; removing the last user does not open the API', async () => {
    await users.add('Piet', 'operator', 'temporary password', new Date(T0));
    const first = await login('Piet', 'temporary password');
    expect((await app.inject({ url: '/api/v1/machines', headers: { cookie: first.cookie } })).statusCode).toBe(200);
    await users.passwd('Piet', 'another long password');
    expect((await app.inject({ url: '/api/v1/machines', headers: { cookie: first.cookie } })).statusCode).toBe(401);
    const second = await login('Piet', 'another long password');
    expect((await app.inject({ url: '/api/v1/machines', headers: { cookie: second.cookie } })).statusCode).toBe(200);
    users.remove('Piet');
    expect((await app.inject({ url: '/api/v1/machines', headers: { cookie: second.cookie } })).statusCode).toBe(401);
  });

  it('logins are rate limited per address: the 11th attempt in 15 minutes gets 429, even with the right password', async () => {
    const from = { remoteAddress: '10.9.9.9' };
    for (let i = 0; i < 10; i++) expect((await app.inject({ method: 'POST', url: '/api/v1/login', payload: { name: 'Anna', password: `guess ${i}` }, ...from })).statusCode).toBe(401);
    const blocked = await app.inject({ method: 'POST', url: '/api/v1/login', payload: { name: 'Anna', password: 'correct horse battery' }, ...from });
    expect(blocked.statusCode).toBe(429);
    // Another address is not blocked.
    expect((await app.inject({ method: 'POST', url: '/api/v1/login', payload: { name: 'Anna', password: 'correct horse battery' }, remoteAddress: '10.9.9.10' })).statusCode).toBe(200);
  });

  it('the bearer scheme is case-insensitive; a prefix, an extension or a near miss of a token is refused', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const res = await app.inject({ url: '/api/v1/session', headers: { authorization: `${scheme} ${TOKENS.viewer}` } });
      expect(res.statusCode, scheme).toBe(200);
      expect(res.json<SessionJson>()).toMatchObject({ login: 'token', role: 'viewer' });
    }
    expect((await app.inject({ url: '/api/v1/session', headers: { authorization: `bearer\t ${TOKENS.admin} ` } })).json<SessionJson>()).toMatchObject({ role: 'admin' });
    for (const wrong of [TOKENS.viewer.slice(0, -1), `${TOKENS.viewer}x`, `${TOKENS.viewer.slice(0, -1)}c`, '']) {
      expect((await app.inject({ url: '/api/v1/session', headers: { authorization: `Bearer ${wrong}` } })).statusCode, wrong).toBe(403);
    }
    // Another scheme is no token: the caller needs a login.
    expect((await app.inject({ url: '/api/v1/session', headers: { authorization: `Basic ${TOKENS.viewer}` } })).statusCode).toBe(401);
    expect((await app.inject({ url: '/api/v1/session', headers: { authorization: `Bearer${TOKENS.viewer}` } })).statusCode).toBe(401);
  });

  it('?token= is for the live stream only: elsewhere a 400 that points to the Authorization header', async () => {
    const res = await app.inject(`/api/v1/machines?token=${TOKENS.viewer}`);
    expect(res.statusCode).toBe(400);
    expect(res.json<{ message: string }>().message).toMatch(/"token".*Authorization: Bearer/);
  });

  it('behind a TLS reverse proxy listed in api.trustProxy, the session and CSRF cookies are Secure; plain http or an unlisted proxy\'s header gets none', async () => {
    const proxied = buildApp({ ...deps(), trustProxy: ['127.0.0.1'] });
    try {
      const secureFlags = async (remoteAddress: string, proto?: string) => {
        const res = await proxied.inject({ method: 'POST', url: '/api/v1/login', payload: { name: 'Wim', password: 'staple of the wall' }, remoteAddress, headers: proto === undefined ? {} : { 'x-forwarded-proto': proto } });
        expect(res.statusCode).toBe(200);
        return Object.fromEntries(res.cookies.map((c) => [c.name, c.secure === true]));
      };
      expect(await secureFlags('127.0.0.1', 'https')).toEqual({ yw_session: true, _csrf: true });
      expect(await secureFlags('127.0.0.1')).toEqual({ yw_session: false, _csrf: false });
      expect(await secureFlags('10.0.0.9', 'https')).toEqual({ yw_session: false, _csrf: false });
    } finally {
      await proxied.close();
    }
  });

  it('security headers on every answer: a CSP of \'self\', no sniffing, no framing', async () => {
    const res = await app.inject('/api/v1/session');
    expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
  });

  describe('every route × every role', () => {
    // What each role gets; `anonymous` has no token. Ids that do not exist give 404 past the role check.
    const routes: [string, string, unknown, Record<'anonymous' | 'viewer' | 'operator' | 'admin', number>][] = [
      ['GET', '/api/v1/machines', undefined, { anonymous: 401, viewer: 200, operator: 200, admin: 200 }],
      ['GET', `/api/v1/kpis?machine=${M}`, undefined, { anonymous: 401, viewer: 200, operator: 200, admin: 200 }],
      ['GET', '/api/v1/alerts', undefined, { anonymous: 401, viewer: 200, operator: 200, admin: 200 }],
      ['GET', `/api/v1/alerts/history?machine=${M}`, undefined, { anonymous: 401, viewer: 200, operator: 200, admin: 200 }],
      ['GET', '/api/v1/alerts/nope', undefined, { anonymous: 401, viewer: 404, operator: 404, admin: 404 }],
      ['POST', '/api/v1/alerts/nope/ack', {}, { anonymous: 401, viewer: 403, operator: 404, admin: 404 }],
      ['GET', '/api/v1/status', undefined, { anonymous: 401, viewer: 200, operator: 200, admin: 200 }],
      ['GET', '/api/v1/entries', undefined, { anonymous: 401, viewer: 200, operator: 200, admin: 200 }],
      ['GET', '/api/v1/entries/nope', undefined, { anonymous: 401, viewer: 404, operator: 404, admin: 404 }],
      ['POST', '/api/v1/entries', { machine: M, parts: 1, time: T0 - 1000 }, { anonymous: 401, viewer: 403, operator: 201, admin: 201 }],
      ['PATCH', '/api/v1/entries/nope', { parts: 2, why: 'recount' }, { anonymous: 401, viewer: 403, operator: 404, admin: 404 }],
      ['DELETE', '/api/v1/entries/nope', { why: 'typo' }, { anonymous: 401, viewer: 403, operator: 404, admin: 404 }],
      ['GET', '/api/v1/session', undefined, { anonymous: 401, viewer: 200, operator: 200, admin: 200 }],
      ['POST', '/api/v1/login', { name: 'Nobody', password: 'x' }, { anonymous: 401, viewer: 401, operator: 401, admin: 401 }],
      ['POST', '/api/v1/logout', undefined, { anonymous: 401, viewer: 204, operator: 204, admin: 204 }],
      ['GET', '/api/v1/overview', undefined, { anonymous: 401, viewer: 200, operator: 200, admin: 200 }],
      ['GET', '/api/v1/sites', undefined, { anonymous: 401, viewer: 200, operator: 200, admin: 200 }],
      ['GET', '/api/v1/materials', undefined, { anonymous: 401, viewer: 200, operator: 200, admin: 200 }],
      ['GET', `/api/v1/shifts?site=plant&from=${T0 - 86_400_000}&to=${T0}`, undefined, { anonymous: 401, viewer: 404, operator: 404, admin: 404 }],
      ['GET', `/api/v1/kpis/series?machine=${M}&from=${T0 - 3_600_000}&to=${T0}`, undefined, { anonymous: 401, viewer: 200, operator: 200, admin: 200 }],
      ['GET', `/api/v1/kpis/rollup?period=day&from=${T0 - 86_400_000}&to=${T0}`, undefined, { anonymous: 401, viewer: 200, operator: 200, admin: 200 }],
      // No reports in this app (no report service): past the role check, a 404.
      ['GET', '/api/v1/reports?period=2026-11', undefined, { anonymous: 401, viewer: 404, operator: 404, admin: 404 }],
      // No live stream in this app (no event hub): past the role check, a 404.
      ['GET', '/api/v1/stream', undefined, { anonymous: 401, viewer: 404, operator: 404, admin: 404 }],
      // Probes and scrapers need no login.
      ['GET', '/livez', undefined, { anonymous: 200, viewer: 200, operator: 200, admin: 200 }],
      ['GET', '/readyz', undefined, { anonymous: 200, viewer: 200, operator: 200, admin: 200 }],
      ['GET', '/metrics', undefined, { anonymous: 200, viewer: 200, operator: 200, admin: 200 }],
    ];
    for (const [method, url, body, expected] of routes) {
      it(`${method} ${url}`, async () => {
        for (const role of ['anonymous', 'viewer', 'operator', 'admin'] as const) {
          const headers = role === 'anonymous' ? {} : { authorization: `Bearer ${TOKENS[role]}` };
          const res = await app.inject({ method: method as 'GET', url, headers, remoteAddress: `10.1.${role.length}.1`, ...(body !== undefined ? { payload: body as Record<string, unknown> } : {}) });
          expect(res.statusCode, `${role}: ${res.body}`).toBe(expected[role]);
        }
      });
    }
    it('the table above names every route the API documents: a new route cannot skip it', async () => {
      const doc = app.swagger() as { paths: Record<string, Record<string, unknown>> };
      const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path.replace(/\{[^}]+\}/g, ':param')}`));
      const tested = new Set(routes.map(([method, url]) => `${method} ${url.split('?')[0]!.replace(/\/(nope)(?=\/|$)/, '/:param')}`));
      expect(documented.filter((r) => !tested.has(r)).sort()).toEqual([]);
    });
    it('health and metrics stay open for probes and scrapers', async () => {
      expect((await app.inject('/livez')).statusCode).toBe(200);
      expect((await app.inject('/metrics')).statusCode).toBe(200);
    });
  });
});

describe('an API without logins', () => {
  it('answers only requests addressed to this machine itself (no DNS rebinding), and an agent that had users stays closed when the last one goes', async () => {
    const store = new Store({ path: ':memory:' });
    const clock = new VirtualClock(T0);
    const pipeline = createPipeline(config, store, clock);
    const open = buildApp({ reader: storeReader(store, config, [], clock), registry: createMetrics({ pipeline, store, sources: [] }), health: () => ({}) });
    expect((await open.inject({ url: '/api/v1/machines', headers: { host: '127.0.0.1:8080' } })).statusCode).toBe(200);
    expect((await open.inject({ url: '/api/v1/machines', headers: { host: 'localhost' } })).statusCode).toBe(200);
    expect((await open.inject({ url: '/api/v1/machines', headers: { host: 'attacker.example:8080' } })).statusCode).toBe(403);
    await open.close();
    const dir = mkdtempSync(join(tmpdir(), 'yw-closed-'));
    const users = new UserFile(join(dir, 'users.json'));
    await users.add('Only', 'admin', 'the only password', new Date(T0));
    const closed = buildApp({ reader: storeReader(store, config, [], clock), registry: createMetrics({ pipeline, store, sources: [] }), health: () => ({}), users });
    users.remove('Only');
    expect((await closed.inject('/api/v1/machines')).statusCode).toBe(401);
    await closed.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('an API that others reach needs a login', () => {
  it('the agent refuses to listen on a non-loopback address with no users and no tokens, naming the key; with a user it starts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'yw-open-'));
    const cfg = validateConfig({ agent: { dataDir: dir }, machines: [{ path: M, signals: { parts_good: { kind: 'delta' } } }], sources: [], api: { host: '0.0.0.0', port: 0 } });
    const open = new Agent({ config: cfg, dataDir: dir, baseDir: dir, logger: pino({ level: 'silent' }) });
    const err = await open.start().then(() => undefined, (e: unknown) => e);
    await open.stop();
    expect(err).toBeInstanceOf(YieldwatchError);
    expect((err as YieldwatchError).code).toBe('YW_ERR_API_OPEN');
    expect((err as YieldwatchError).message).toContain('api.host');
    await new UserFile(join(dir, 'users.json')).add('admin', 'admin', 'long enough password', new Date());
    const guarded = new Agent({ config: cfg, dataDir: dir, baseDir: dir, logger: pino({ level: 'silent' }) });
    const url = await guarded.start();
    expect((await fetch(`${url!.replace('0.0.0.0', '127.0.0.1')}/api/v1/machines`)).status).toBe(401);
    await guarded.stop();
    rmSync(dir, { recursive: true, force: true });
  });
});
