import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/helpers/wait.js';
import { captureLogs } from '../../test/helpers/sources.js';
import { sinkStatusJson } from './api/routes/status.js';
import { webhookSinkSchema } from './sinks/webhook/config.js';
import { createForwarder } from './wiring/sinks.js';
import { systemClock, VirtualClock } from './core/clock.js';
import type { Health } from './core/health.js';
import { SinkError, type OutboxRecord, type Sink } from './core/sink.js';
import { ERROR_TEXT_MAX, Forwarder, retryDelay, type ForwarderOptions } from './forward.js';
import { Store } from './store/store.js';

/**
 * The forwarder loop against a scripted sink: what it accepts is recorded, and `answer` decides
 * each write. The real sinks (InfluxDB, MQTT) are tested against real servers in their folders.
 */
class ScriptedSink implements Sink {
  readonly type = 'scripted';
  readonly accepted: string[] = [];
  readonly writes: number[] = [];
  answer: (batch: readonly OutboxRecord[]) => SinkError | undefined = () => undefined;
  constructor(readonly id = 'scripted') {}
  async write(batch: readonly OutboxRecord[]): Promise<void> {
    this.writes.push(batch.length);
    const err = this.answer(batch);
    if (err) throw err;
    for (const r of batch) this.accepted.push(r.payload);
  }
  async close(): Promise<void> {}
  health(): Health {
    return { status: 'ok' };
  }
}

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (stops.length > 0) await stops.pop()!();
});

function setup(opts: Partial<ForwarderOptions> = {}) {
  const store = new Store({ path: ':memory:' });
  const sink = new ScriptedSink();
  const log = captureLogs();
  const fwd = new Forwarder({ sink, outbox: store.outbox, clock: systemClock, logger: log.logger, batchSize: 4, retryMin: 20, retryMax: 200, idlePoll: 20, random: () => 0.5, ...opts });
  stops.push(async () => {
    await fwd.stop();
    store.close();
  });
  const append = (...payloads: string[]) =>
    store.transaction(() => {
      for (const p of payloads) store.outbox.append(sink.id, Date.now(), `key ${p}`, p);
    });
  return { store, sink, fwd, log, append };
}

const range = (n: number, prefix = 'r') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('retryDelay', () => {
  it('doubles from the minimum to the cap, with jitter between half and all of it; Retry-After wins when longer', () => {
    expect([1, 2, 3, 4, 5, 10].map((f) => retryDelay(f, 1000, 8000, 1))).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
    expect(retryDelay(3, 1000, 8000, 0)).toBe(2000);
    expect(retryDelay(1, 1000, 8000, 0.5, 30_000)).toBe(30_000);
    expect(retryDelay(4, 1000, 8000, 1, 10)).toBe(8000);
  });
});

describe('forwarder', () => {
  it('delivers every record once, in commit order, in batches, and empties the outbox', async () => {
    const { sink, fwd, append, store } = setup();
    append(...range(10));
    fwd.start();
    await waitFor('all delivered', () => sink.accepted.length === 10, 5000);
    expect(sink.accepted).toEqual(range(10));
    expect(sink.writes).toEqual([4, 4, 2]);
    append('late');
    fwd.wake();
    await waitFor('the new record', () => sink.accepted.length === 11, 5000);
    expect(store.outbox.stats(sink.id)).toMatchObject({ pendingRecords: 0, delivered: 11 });
    expect(fwd.status().health.status).toBe('ok');
  });

  it('a channel of its own: it sends and acks only that channel, and the sink\'s own records wait', async () => {
    const { sink, store, append } = setup();
    const fwd = new Forwarder({ sink, outbox: store.outbox, channel: 'scripted~backfill', clock: systemClock, logger: captureLogs().logger, batchSize: 4, retryMin: 20, retryMax: 200, idlePoll: 20 });
    stops.push(() => fwd.stop());
    append('live');
    store.transaction(() => ['b0', 'b1'].forEach((p) => store.outbox.append('scripted~backfill', Date.now(), `key ${p}`, p)));
    fwd.start();
    await waitFor('the channel delivered', () => sink.accepted.length === 2, 5000);
    expect(sink.accepted).toEqual(['b0', 'b1']);
    expect(fwd.status()).toMatchObject({ sink: 'scripted', pendingRecords: 0, delivered: 2 });
    expect(store.outbox.stats('scripted')).toMatchObject({ pendingRecords: 1, delivered: 0 });
  });

  it('retryable failures: nothing is lost or doubled, the delays grow, and health says why meanwhile', async () => {
    const { sink, fwd, append, log } = setup();
    let failures = 5;
    sink.answer = () => (failures-- > 0 ? new SinkError('retryable', 'HTTP 503: unavailable') : undefined);
    append(...range(6));
    fwd.start();
    await waitFor('degraded', () => fwd.status().health.status === 'degraded', 5000);
    expect(fwd.status().health.reason).toContain('HTTP 503');
    await waitFor('all delivered', () => sink.accepted.length === 6, 5000);
    expect(sink.accepted).toEqual(range(6));
    const delays = log.lines.filter((l) => typeof l.retryInMs === 'number').map((l) => l.retryInMs);
    expect(delays).toEqual([15, 30, 60, 120, 150]);
    expect(log.lines.filter((l) => l.level === 40)).toHaveLength(1);
    expect(fwd.status()).toMatchObject({ errors: { retryable: 5, malformed: 0, blocked: 0 }, failuresInRow: 0 });
    expect(fwd.status().health.status).toBe('ok');
  });

  it("honours the server's Retry-After", async () => {
    const { sink, fwd, append } = setup();
    let first = true;
    sink.answer = () => (first ? ((first = false), new SinkError('retryable', 'HTTP 429', { retryAfterMs: 400 })) : undefined);
    append('a');
    const t0 = Date.now();
    fwd.start();
    await waitFor('delivered', () => sink.accepted.length === 1, 5000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(390);
  });

  it('a malformed record is isolated into the dead-letter table; every good record is accepted exactly once', async () => {
    const { sink, fwd, append, store } = setup({ batchSize: 8 });
    const records = range(8);
    records[5] = 'bad';
    sink.answer = (batch) => (batch.some((r) => r.payload === 'bad') ? new SinkError('malformed', 'HTTP 400: unable to parse "bad"') : undefined);
    append(...records);
    fwd.start();
    await waitFor('done', () => store.outbox.stats(sink.id).pendingRecords === 0, 5000);
    expect([...sink.accepted].sort()).toEqual(records.filter((r) => r !== 'bad').sort());
    const dead = store.outbox.deadLetters(sink.id);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ payload: 'bad', key: 'key bad', error: 'HTTP 400: unable to parse "bad"' });
    expect(store.outbox.stats(sink.id)).toMatchObject({ delivered: 7, deadLettered: 1 });
  });

  it('a blocked sink keeps every record, reports down, and delivers them all once unblocked', async () => {
    const { sink, fwd, append, store } = setup({ retryMax: 100 });
    let blocked = true;
    sink.answer = () => (blocked ? new SinkError('blocked', 'HTTP 401: authorization failed') : undefined);
    append(...range(5));
    fwd.start();
    await waitFor('down', () => fwd.status().health.status === 'down', 5000);
    expect(fwd.status().health.reason).toContain('HTTP 401');
    await waitFor('a few attempts', () => sink.writes.length >= 3, 5000);
    expect(store.outbox.stats(sink.id).pendingRecords).toBe(5);
    blocked = false;
    await waitFor('delivered', () => sink.accepted.length === 5, 5000);
    expect(fwd.status().health.status).toBe('ok');
  });

  it('stop() during a back-off returns at once and leaves the records in the outbox', async () => {
    const { sink, fwd, append, store } = setup({ retryMin: 60_000, retryMax: 60_000 });
    sink.answer = () => new SinkError('retryable', 'down');
    append('a', 'b');
    fwd.start();
    await waitFor('a failed attempt', () => sink.writes.length === 1, 5000);
    const t0 = Date.now();
    await fwd.stop();
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(store.outbox.stats(sink.id).pendingRecords).toBe(2);
  });

  it('after records were dropped by the bound, health warns', async () => {
    const { sink, fwd, append, store } = setup();
    append(...range(10));
    store.transaction(() => store.outbox.enforceBound(sink.id, Date.now(), { maxBytes: 6, maxAgeMs: 1e9 }));
    fwd.start();
    await waitFor('delivered', () => store.outbox.stats(sink.id).pendingRecords === 0, 5000);
    expect(sink.accepted).toEqual(['r7', 'r8', 'r9']);
    expect(fwd.status().health).toMatchObject({ status: 'degraded', reason: '7 records were dropped unsent by the outbox bound (oldest first)' });
  });

  it('the warning about dropped records ends an hour after the last drop', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 10, 27));
    const { sink, fwd, append, store } = setup({ clock });
    append(...range(10));
    store.transaction(() => store.outbox.enforceBound(sink.id, clock.now(), { maxBytes: 6, maxAgeMs: 1e12 }));
    expect(fwd.status().health.status).toBe('degraded');
    clock.set(clock.now() + 59 * 60_000);
    expect(fwd.status().health.status).toBe('degraded');
    clock.set(clock.now() + 2 * 60_000);
    expect(fwd.status().health.status).toBe('ok');
    // A new drop starts the hour again.
    append(...range(10, 'again'));
    store.transaction(() => store.outbox.enforceBound(sink.id, clock.now(), { maxBytes: 6, maxAgeMs: 1e12 }));
    expect(fwd.status().health.status).toBe('degraded');
  });
});


describe('upstream error text', () => {
  it('a receiver that echoes the request (Authorization header, secret path, API key) into its 401: logs, status and dead letters get it redacted and bounded', async () => {
    // A receiver that refuses everything and quotes the whole request back, as some proxies do.
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const status = req.url!.includes('bad-record') ? 400 : 401;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(`denied ${req.method} ${req.url} with ${JSON.stringify(req.headers)}\n${'<p>padding</p>\n'.repeat(200)}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const secrets = ['Bearer-token-0123456789', 'x-api-key-0123456789', 'T0SECRET/B0SECRET/XYZSECRET'];
    const sc = webhookSinkSchema.parse({
      type: 'webhook',
      id: 'hook',
      url: `http://127.0.0.1:${port}/services/T0SECRET/B0SECRET/XYZSECRET`,
      headers: { Authorization: 'Bearer Bearer-token-0123456789', 'X-Api-Key': 'x-api-key-0123456789' },
      secret: 'hmac-secret-0123456789',
      retryMin: '20ms',
      retryMax: '50ms',
    });
    const store = new Store({ path: ':memory:' });
    const log = captureLogs();
    const fwd = createForwarder(sc, store.outbox, { id: 'hook', logger: log.logger, clock: systemClock, agentId: 'edge', isMachine: () => true, baseDir: process.cwd() });
    stops.push(async () => {
      await fwd.stop();
      store.close();
      await new Promise((resolve) => server.close(resolve));
    });
    store.transaction(() => store.outbox.append('hook', Date.now(), 'alert a fired', '{"event":"fired"}'));
    fwd.start();
    await waitFor('the sink down', () => (fwd.status().health.status === 'down' ? true : undefined), 5000);
    await waitFor('a second attempt', () => (fwd.status().failuresInRow >= 2 ? true : undefined), 5000);

    const status = sinkStatusJson(fwd.status(), Date.now());
    const shown = [status.last_error!, status.reason!, JSON.stringify(log.lines)];
    expect(status.last_error).toMatch(/^HTTP 401: denied POST \[redacted\] with /);
    expect(status.last_error!.length).toBeLessThanOrEqual(ERROR_TEXT_MAX);
    for (const text of shown) for (const secret of secrets) expect(text).not.toContain(secret);
    // The warning keeps a stack: where the write failed, after the redacted text.
    const warn = log.lines.find((l) => l.level === 40)!;
    const err = warn.err as { message: string; stack: string };
    expect(err.message).toMatch(/^HTTP 401: denied POST \[redacted\] with /);
    expect(err.stack.split('\n')[0]).toBe(`SinkError: ${err.message}`);
    expect(err.stack).toMatch(/\n\s+at /);
  });

  it('a dead letter keeps the answer redacted', async () => {
    const { sink, fwd, append, store, log } = setup({ secrets: ['configured-secret-value'] });
    sink.answer = () => new SinkError('malformed', `HTTP 400: bad line; you sent Authorization: Token abcdefgh12345678 and configured-secret-value ${'x'.repeat(600)}`);
    append('bad');
    fwd.start();
    await waitFor('dead-lettered', () => store.outbox.stats(sink.id).deadLettered === 1, 5000);
    const dead = store.outbox.deadLetters(sink.id)[0]!;
    expect(dead.error).toMatch(/^HTTP 400: bad line; you sent Authorization: \[redacted\]/);
    expect(dead.error.length).toBe(ERROR_TEXT_MAX);
    expect(JSON.stringify(log.lines)).not.toContain('abcdefgh12345678');
    expect(JSON.stringify(log.lines)).not.toContain('configured-secret-value');
  });
});
