import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import { VirtualClock } from '../core/clock.js';
import { Store } from '../store/store.js';
import { backfillChannel, backfillSink, backfillTimes, parseBackfillTime, ProgressLine, runBackfill, type BackfillRequest } from './backfill.js';
import { createPipeline } from './pipeline-options.js';

const FROM = Date.parse('2024-03-04T00:00:00Z');
const MACHINES = ['p/l1/a', 'p/l1/b', 'p/l2/c'];

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { stream, text: () => text };
}

describe('backfill times and sinks', () => {
  it('reads a UTC date, an ISO instant with Z or an offset, or epoch ms, and nothing else', () => {
    expect(parseBackfillTime('2024-03-04')).toBe(FROM);
    expect(parseBackfillTime('2024-02-29')).toBe(Date.parse('2024-02-29T00:00:00Z'));
    expect(parseBackfillTime('2024-03-04T01:00:00+01:00')).toBe(FROM);
    expect(parseBackfillTime('2024-03-04T00:00Z')).toBe(FROM);
    // The form the help gives for a site's midnight: minutes and an offset, no seconds.
    expect(parseBackfillTime('2024-03-05T00:00+01:00')).toBe(FROM + 23 * 3_600_000);
    expect(parseBackfillTime(String(FROM))).toBe(FROM);
    for (const bad of ['2023-02-29', '2024-13-01', '2024-03-04T00:00:00', 'yesterday', '', '4.3.2024']) expect(parseBackfillTime(bad), bad).toBeUndefined();
  });

  it('--to defaults to now; wrong times and durations are sentences', () => {
    expect(backfillTimes({ from: '2024-03-04', to: undefined, giveUpAfter: undefined }, FROM + 1)).toEqual({ from: FROM, to: FROM + 1, giveUpAfterMs: 120_000 });
    expect(backfillTimes({ from: '2024-03-04', to: '2024-03-05', giveUpAfter: '30s' }, 0)).toMatchObject({ to: FROM + 86_400_000, giveUpAfterMs: 30_000 });
    expect(backfillTimes({ from: undefined, to: undefined, giveUpAfter: undefined }, 0)).toMatch(/^backfill needs --from TIME/);
    expect(backfillTimes({ from: '2024-03-04', to: undefined, giveUpAfter: undefined }, FROM)).toBe('--from (2024-03-04T00:00:00.000Z) must be before --to (now, 2024-03-04T00:00:00.000Z).');
    expect(backfillTimes({ from: '2024-03-04', to: 'soon', giveUpAfter: undefined }, 0)).toMatch(/^--to "soon" is not a time; give a date/);
    expect(backfillTimes({ from: '2024-03-04', to: '2024-03-05', giveUpAfter: '2 minutes' }, 0)).toMatch(/--give-up-after "2 minutes" is not a duration/);
  });

  it('the channel cannot be a sink id', () => {
    expect(backfillChannel('central')).toBe('central~backfill');
    expect(() => validateConfig({ sinks: [{ type: 'influxdb', id: 'central~backfill', url: 'http://127.0.0.1:1', database: 'x' }] }, 'c.yaml')).toThrow(/sinks\[0\]\.id: expected letters, digits/);
  });
});

describe('the progress line', () => {
  it('on a terminal: one line redrawn in place, log lines above it', () => {
    const c = capture();
    const p = new ProgressLine(c.stream, true);
    p.update('1 sent', true);
    p.line('a log line');
    p.update('2 sent', true);
    p.end();
    expect(c.text()).toBe('\r1 sent\x1b[K\r\x1b[Ka log line\n1 sent\r2 sent\x1b[K\r\x1b[K');
  });

  it('without a terminal: whole lines, not more often than every few seconds', () => {
    const c = capture();
    const p = new ProgressLine(c.stream, false);
    p.update('1 sent');
    p.update('2 sent');
    p.update('3 sent', true);
    p.end();
    expect(c.text()).toBe('1 sent\n3 sent\n');
  });
});

describe('runBackfill against an HTTP server that speaks the InfluxDB write API', () => {
  let dir: string;
  let server: Server;
  let url: string;
  /** The answer of /write now; the lines of every accepted write. */
  let status = 503;
  const accepted: string[] = [];
  let config: ReturnType<typeof validateConfig>;
  let store: Store;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(body).toString() : body.toString();
        if (req.url?.startsWith('/write') === true && status === 204) accepted.push(...text.split('\n'));
        res.writeHead(req.url?.startsWith('/write') === true ? status : 200, { 'content-type': 'application/json' });
        res.end(status === 204 ? '' : '{"error":"busy"}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), 'yw-backfill-unit-'));
    const raw = {
      agent: { id: 'edge', dataDir: dir },
      kpi: { windowSize: '1m', allowedLateness: '1s' },
      store: { retention: '3650d' },
      machineDefaults: { signals: { parts_good: { kind: 'counter' } } },
      machines: MACHINES.map((path) => ({ path })),
      sinks: [{ type: 'influxdb', id: 'central', url, database: 'db', batchSize: 7, retryMin: '20ms', retryMax: '50ms' }],
    };
    config = validateConfig(raw);
    store = new Store({ path: join(dir, 'yieldwatch.db') });
    const clock = new VirtualClock(FROM);
    const pipeline = createPipeline(config, store, clock, {}, []);
    let good = 0;
    for (let t = FROM; t <= FROM + 40 * 60_000; t += 10_000) {
      clock.set(t);
      good += 2;
      pipeline.ingest(MACHINES.map((machine) => ({ machine, signal: 'parts_good', value: good, ts: t, source: 't' })));
      pipeline.tick();
    }
    pipeline.checkpoint();
  });

  afterAll(async () => {
    store?.close();
    await new Promise((r) => server?.close(r));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const loaded = () => ({ config, dataDir: dir, baseDir: dir });
  const request = (more: Partial<BackfillRequest> = {}): BackfillRequest => {
    const sink = backfillSink(config, 'c.yaml', 'central');
    if (typeof sink === 'string') throw new Error(sink);
    return { sink, from: FROM, to: FROM + 86_400_000, dryRun: false, giveUpAfterMs: 200, ...more };
  };

  it('stopped part-way through the range (queueing a few ahead of a failing sink), the next run sends the rest: every window once, none queued twice', async () => {
    const windows = store.queryAggregates({});
    // 39 windows a machine: the 40th is not due yet.
    expect(windows).toHaveLength(3 * 39);
    status = 503;
    const first = capture();
    // Pages of 2 are smaller than the 3 windows of one start: each page takes the whole start.
    const code = await runBackfill(loaded(), request(), { out: () => undefined, err: first.stream, tty: false, limits: { page: 2, queueAhead: 10 } });
    expect(code, first.text()).toBe(1);
    expect(first.text()).toMatch(/Sink "central" took no write for 0\.\d s: HTTP 503: busy\. The backfill stops .*sent 0 windows; 12 stay queued for sink "central"/);
    const channel = store.outbox.stats('central~backfill');
    expect(channel.pendingRecords).toBe(12);
    expect(store.meta('backfill central~backfill queued')).toBe(FROM + 4 * 60_000);

    status = 204;
    const out: string[] = [];
    const second = capture();
    const code2 = await runBackfill(loaded(), request(), { out: (l) => out.push(l), err: second.stream, tty: false, limits: { page: 4, queueAhead: 10 } });
    expect(code2, second.text()).toBe(0);
    expect(second.text()).toMatch(/stopped after queueing the windows before 2024-03-04T00:04:00\.000Z; its 12 unsent records are sent first; this run queues from 2024-03-04T00:04:00\.000Z on\./);
    expect(out).toEqual([expect.stringMatching(/^sent 117 windows to sink "central" in \d+\.\d s: 105 queued now from 2024-03-04T00:04:00\.000Z to 2024-03-05T00:00:00\.000Z \(0 of them revised\), 12 queued by an earlier run\.$/)]);
    // Every stored window exactly once, as series and timestamp.
    const keys = accepted.map((l) => `${l.split(' ')[0]} ${l.split(' ').at(-1)}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys.sort()).toEqual(windows.map((a) => `yieldwatch_window,agent=edge,line=${a.machine.split('/')[1]},machine=${a.machine.split('/')[2]},site=p,window=1m ${a.windowStart}`).sort());
    // Finished: the range is forgotten, and the channel is empty.
    expect(store.meta('backfill central~backfill queued')).toBeUndefined();
    expect(store.outbox.stats('central~backfill')).toMatchObject({ pendingRecords: 0, delivered: 117 });
  });

  it('an abort (Ctrl-C) stops after the page and the write in flight, and keeps what is queued', async () => {
    status = 503;
    const abort = new AbortController();
    const err = capture();
    setTimeout(() => abort.abort('SIGINT'), 100);
    const code = await runBackfill(loaded(), request({ giveUpAfterMs: 60_000 }), { out: () => undefined, err: err.stream, tty: false, signal: abort.signal, limits: { page: 3, queueAhead: 30 } });
    expect(code, err.text()).toBe(130);
    expect(err.text()).toMatch(/Interrupted \(SIGINT\) after .*: sent 0 windows; 30 stay queued for sink "central", and the range is remembered/);
    expect(store.outbox.stats('central~backfill').pendingRecords).toBe(30);
  });
});
