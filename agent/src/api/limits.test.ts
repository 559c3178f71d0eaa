import { mkdtempSync, rmSync } from 'node:fs';
import { get, request, type ClientRequest, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/wait.js';
import { systemClock } from '../core/clock.js';
import { validateConfig } from '../config/load.js';
import { createMetrics } from '../observe/metrics.js';
import { storeReader } from '../readers/store/index.js';
import { Store } from '../store/store.js';
import { entryService } from '../wiring/entries.js';
import { createPipeline } from '../wiring/pipeline-options.js';
import { buildApp } from './app.js';
import { UserFile } from './auth/users.js';
import { EventHub, StreamSlots } from './events.js';

const VIEWER = 'viewer-token-0123456789ab';
const OPERATOR = 'operator-token-0123456789';

interface Opened {
  status: number;
  headers: IncomingMessage['headers'];
  /** The body of a refusal (a stream's body never ends). */
  body: Promise<string>;
  close(): void;
}

/** One request to the live stream over a real socket, resolved at its status line. */
function openStream(url: string, headers: Record<string, string>): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const req: ClientRequest = get(`${url}/api/v1/stream`, { headers }, (res) => {
      const body = new Promise<string>((done) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => done(text));
        res.on('error', () => done(text));
      });
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body, close: () => req.destroy() });
    });
    req.on('error', reject);
  });
}

describe('the API\'s limits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-streams-'));
  const config = validateConfig({ machines: [{ path: 'plant/l1/press', signals: { parts_good: { kind: 'delta' } } }], sources: [], api: { maxStreams: 5, maxStreamsPerLogin: 2 } });
  const store = new Store({ path: ':memory:' });
  const pipeline = createPipeline(config, store, systemClock);
  const users = new UserFile(join(dir, 'users.json'));
  const opened: Opened[] = [];
  let app: FastifyInstance;
  let url = '';

  beforeAll(async () => {
    await users.add('Anna', 'viewer', 'correct horse battery', new Date());
    app = buildApp({
      reader: storeReader(store, config, [], systemClock),
      registry: createMetrics({ pipeline, store, sources: [] }),
      health: () => ({}),
      events: new EventHub(),
      streamLimits: { total: config.api.maxStreams, perLogin: config.api.maxStreamsPerLogin },
      tokens: [
        { name: 'wallboard', token: VIEWER, role: 'viewer' },
        { name: 'scada', token: OPERATOR, role: 'operator' },
      ],
      users,
      entries: entryService(config, store, pipeline, systemClock),
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    for (const o of opened) o.close();
    await app.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async (headers: Record<string, string>) => {
    const o = await openStream(url, headers);
    opened.push(o);
    return o;
  };
  const login = async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/login', payload: { name: 'Anna', password: 'correct horse battery' } });
    return res.cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  };

  it('a token or a session holds at most maxStreamsPerLogin (429 beyond), the agent at most maxStreams (503 beyond); a closed stream frees its slot', async () => {
    const viewer = { authorization: `Bearer ${VIEWER}` };
    const first = await open(viewer);
    expect(first.status).toBe(200);
    expect((await open(viewer)).status).toBe(200);
    const third = await open(viewer);
    expect(third.status).toBe(429);
    expect(third.headers['retry-after']).toBe('10');
    expect(await third.body).toContain('api.maxStreamsPerLogin');

    // Another token, and a browser session, have slots of their own: five streams in all.
    expect((await open({ authorization: `Bearer ${OPERATOR}` })).status).toBe(200);
    const session = { cookie: await login() };
    expect((await open(session)).status).toBe(200);
    expect((await open(session)).status).toBe(200);
    expect((await open(session)).status).toBe(429);
    // The sixth is one too many for the agent, whoever asks.
    const full = await open({ cookie: await login() });
    expect(full.status).toBe(503);
    expect(full.headers['retry-after']).toBe('30');
    expect(await full.body).toContain('api.maxStreams');

    // A refused request took no slot; a closed stream gives its slot back.
    first.close();
    const again = await waitFor('the closed stream\'s slot', async () => {
      const o = await open(viewer);
      if (o.status === 200) return o;
      o.close();
      return undefined;
    }, 5000, 20);
    expect(again.status).toBe(200);
    expect(again.headers['content-type']).toContain('text/event-stream');
  });

  it('a request body over 1 MiB is a 413, headers over 16 KiB a 431; the API answers the next request', async () => {
    const big = await app.inject({ method: 'POST', url: '/api/v1/entries', headers: { authorization: `Bearer ${OPERATOR}`, 'content-type': 'application/json' }, payload: JSON.stringify({ machine: 'plant/l1/press', parts: 1, comment: 'x'.repeat(1 << 20) }) });
    expect(big.statusCode).toBe(413);
    // Node's own parser bounds the headers before fastify sees the request: only a real socket shows it.
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(`${url}/api/v1/machines`, { headers: { authorization: `Bearer ${VIEWER}`, 'x-padding': 'x'.repeat(17 * 1024) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(status).toBe(431);
    expect((await app.inject({ url: '/api/v1/machines', headers: { authorization: `Bearer ${VIEWER}` } })).statusCode).toBe(200);
  });

  it('slots: released once however often the release is called; an open API (no login) counts only in the total', () => {
    const slots = new StreamSlots({ total: 3, perLogin: 1 });
    const a = slots.take('token a');
    expect(typeof a).toBe('function');
    expect(slots.take('token a')).toBe('login');
    const anon = [slots.take(undefined), slots.take(undefined)];
    expect(anon.every((r) => typeof r === 'function')).toBe(true);
    expect(slots.take(undefined)).toBe('total');
    (a as () => void)();
    (a as () => void)();
    expect(slots.open).toBe(2);
    expect(typeof slots.take('token a')).toBe('function');
    expect(slots.take('token b')).toBe('total');
  });
});
