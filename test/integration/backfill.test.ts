/**
 * `yieldwatch backfill` as a person runs it: a child process over a store the agent filled
 * before the InfluxDB sink existed, against a real InfluxDB. The windows land equal to the
 * stored ones, a second run makes no duplicates, a range sends only its windows, a refusing or
 * unreachable InfluxDB ends with exit 1 and keeps what was queued for the next run, which sends
 * it (as the newer revision when the window was revised meanwhile), and wrong arguments are a
 * sentence with exit 2. The test process keeps the store open and writes to it between runs,
 * as a running agent would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateConfig } from '../../agent/src/config/load.js';
import type { Aggregate } from '../../agent/src/core/aggregate.js';
import { VirtualClock } from '../../agent/src/core/clock.js';
import { Store } from '../../agent/src/store/store.js';
import { entryService } from '../../agent/src/wiring/entries.js';
import { createPipeline } from '../../agent/src/wiring/pipeline-options.js';
import { spawnAgent } from '../helpers/agent-process.js';
import { freePort } from '../helpers/free-port.js';
import { expectRowsEqualStore } from '../helpers/influxdb-assert.js';
import { requireInfluxd, startInfluxdb, type InfluxdbServer } from '../helpers/influxdb.js';
import { waitFor } from '../helpers/wait.js';

const hasInfluxd = requireInfluxd();

const MIN = 60_000;
const HOUR = 3_600_000;
// Monday 4 March 2024, 00:00 to 10:00 UTC: 5-minute windows, in the past, so --to defaults to after them.
const FROM = Date.parse('2024-03-04T00:00:00Z');
const NOW = Date.parse('2024-03-04T10:00:00Z');
const MACHINES = ['plant/l1/press', 'plant/hall/l2/lathe', 'plant/l2/mill'];
const AGENT = 'edge-1';

async function run(args: string[]) {
  const p = spawnAgent(['backfill', ...args]);
  const code = await p.exited;
  return { code, output: p.output() };
}

describe.skipIf(!hasInfluxd)('yieldwatch backfill', () => {
  let influx: InfluxdbServer;
  let dir: string;
  let configFile: string;
  let store: Store;
  let addEntry: (machine: string, ts: number, parts: number) => void;
  const clock = new VirtualClock(FROM);

  const stored = (from = FROM, to = NOW + HOUR): Aggregate[] => store.queryAggregates({ from, to });
  const points = (db: string) => influx.query(db, 'SELECT * FROM yieldwatch_window GROUP BY *', { epoch: 'ms' });
  const partsByMachine = (rows: readonly { machine?: unknown; parts_total?: unknown }[]) => {
    const sums: Record<string, number> = {};
    for (const r of rows) sums[String(r.machine)] = (sums[String(r.machine)] ?? 0) + Number(r.parts_total);
    return sums;
  };
  const backfill = (sink: string, ...rest: string[]) => run(['--config', configFile, '--sink', sink, '--from', '2024-03-04', ...rest]);

  beforeAll(async () => {
    influx = await startInfluxdb();
    dir = mkdtempSync(join(tmpdir(), 'yw-backfill-'));
    const deadPort = await freePort();
    const influxSink = (id: string, database: string, more: Record<string, unknown> = {}) => ({
      type: 'influxdb',
      id,
      url: influx.url,
      database,
      createDatabase: true,
      batchSize: 100,
      retryMin: '50ms',
      retryMax: '200ms',
      ...more,
    });
    const raw = {
      agent: { id: AGENT, dataDir: dir, logLevel: 'warn' },
      kpi: { windowSize: '5m', allowedLateness: '10s', correctionHorizon: '30d' },
      store: { retention: '3650d' },
      machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } },
      machines: MACHINES.map((path, i) => ({ path, partMassKg: 0.5 + i })),
      sinks: [
        influxSink('central', 'history'),
        influxSink('part', 'part'),
        influxSink('twice', 'twice'),
        influxSink('nodb', 'missing', { createDatabase: false }),
        influxSink('outage', 'outage'),
        { ...influxSink('nowhere', 'nowhere'), url: `http://127.0.0.1:${deadPort}` },
        { type: 'mqtt', id: 'uns', url: 'mqtt://127.0.0.1:1883' },
      ],
      api: { enabled: false },
    };
    configFile = join(dir, 'agent.yaml');
    writeFileSync(configFile, stringify(raw));
    // The agent's history, stored before any of these sinks was configured: no outbox records.
    const config = validateConfig(raw);
    store = new Store({ path: join(dir, 'yieldwatch.db') });
    const pipeline = createPipeline(config, store, clock, {}, []);
    const counts = MACHINES.map(() => ({ good: 0, scrap: 0 }));
    for (let t = FROM; t <= NOW; t += 20_000) {
      clock.set(t);
      MACHINES.forEach((machine, i) => {
        const c = counts[i]!;
        const minute = Math.floor(t / MIN);
        c.good += 3 + ((minute + i) % 4);
        c.scrap += (minute + i) % 5 === 0 ? 1 : 0;
        pipeline.ingest([
          { machine, signal: 'parts_good', value: c.good, ts: t, source: 't' },
          { machine, signal: 'parts_scrap', value: c.scrap, ts: t, source: 't' },
        ]);
      });
      pipeline.tick();
    }
    clock.set(NOW + MIN);
    pipeline.tick();
    pipeline.checkpoint();
    const entries = entryService(config, store, pipeline, clock);
    addEntry = (machine, ts, parts) => {
      const r = entries.create({ machine, ts, parts, kg: undefined, reason: undefined, destination: undefined, comment: 'test' }, 'tester');
      expect(r).toHaveProperty('entry');
    };
    // One window revised before any backfill: it is sent as revision 1.
    addEntry(MACHINES[0]!, FROM + 2 * HOUR + 30_000, 4);
    expect(stored().length).toBe(3 * 120);
    expect(stored().filter((a) => a.revision > 0)).toHaveLength(1);
  }, 60_000);

  afterAll(async () => {
    store?.close();
    await influx?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('wrong arguments are a sentence and exit 2: an unknown sink names the configured ones; a bad time, an empty range, a sink without history', async () => {
    const [unknown, badTime, badDate, empty, mqtt, noSink] = await Promise.all([
      backfill('centrl'),
      run(['--config', configFile, '--sink', 'central', '--from', 'yesterday']),
      run(['--config', configFile, '--sink', 'central', '--from', '2024-02-30']),
      run(['--config', configFile, '--sink', 'central', '--from', '2024-03-04T10:00:00+01:00', '--to', '2024-03-04T09:00:00Z']),
      backfill('uns'),
      run(['--config', configFile, '--from', '2024-03-04']),
    ]);
    expect(unknown.code, unknown.output).toBe(2);
    expect(unknown.output).toMatch(/has no sink "centrl"; its sinks: central \(influxdb\), part \(influxdb\), .*uns \(mqtt\)\./);
    expect(badTime.code).toBe(2);
    expect(badTime.output).toMatch(/--from "yesterday" is not a time; give a date \(2026-03-01, midnight UTC\)/);
    expect(badDate.code).toBe(2);
    expect(badDate.output).toMatch(/--from "2024-02-30" is not a time/);
    expect(empty.code).toBe(2);
    expect(empty.output).toMatch(/--from \(2024-03-04T09:00:00\.000Z\) must be before --to \(2024-03-04T09:00:00\.000Z\)/);
    expect(mqtt.code).toBe(2);
    expect(mqtt.output).toMatch(/Sink "uns" is of type mqtt, which keeps no history .*sinks of type influxdb/);
    expect(noSink.code).toBe(2);
    expect(noSink.output).toMatch(/backfill needs --sink ID; the sinks of .*: central \(influxdb\)/);
    for (const r of [unknown, badTime, empty, mqtt]) expect(r.output).not.toMatch(/\n\s+at /);
  }, 30_000);

  it('--dry-run counts the windows and their bytes and sends nothing', async () => {
    const r = await backfill('central', '--dry-run');
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/dry run, nothing sent: 360 windows \(1 revised\), \d+\.\d KiB for sink "central", would be queued from 2024-03-04T00:00:00\.000Z/);
    expect((await influx.query('', 'SHOW DATABASES')).map((row) => row.name)).not.toContain('history');
    expect(store.outbox.stats('central~backfill').pendingRecords).toBe(0);
  }, 30_000);

  it('sends every stored window once, equal to the store; the live channel is untouched', async () => {
    const r = await backfill('central');
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/sent 360 windows to sink "central" in \d+\.\d s: 360 queued now from 2024-03-04T00:00:00\.000Z to .* \(1 of them revised\)\./);
    const rows = await points('history');
    expectRowsEqualStore(rows, stored(), AGENT);
    const expected: Record<string, number> = {};
    for (const a of stored()) expected[a.machine.split('/').at(-1)!] = (expected[a.machine.split('/').at(-1)!] ?? 0) + a.kpis.parts_total!;
    expect(partsByMachine(rows)).toEqual(expected);
    expect(store.outbox.stats('central~backfill')).toMatchObject({ pendingRecords: 0, delivered: 360, deadLettered: 0 });
    expect(store.outbox.stats('central')).toMatchObject({ pendingRecords: 0, delivered: 0 });
  }, 30_000);

  it('run twice: the second run sends the range again and InfluxDB holds each window once', async () => {
    for (let i = 0; i < 2; i++) {
      const r = await backfill('twice', '--to', '2024-03-05');
      expect(r.code, r.output).toBe(0);
      expect(r.output).toMatch(/sent 360 windows/);
    }
    expectRowsEqualStore(await points('twice'), stored(), AGENT);
  }, 30_000);

  it('a range sends only the windows that start in it', async () => {
    const from = FROM + 2 * HOUR;
    const to = FROM + 5 * HOUR + 15 * MIN;
    const r = await run(['--config', configFile, '--sink', 'part', '--from', '2024-03-04T03:00:00+01:00', '--to', String(to)]);
    expect(r.code, r.output).toBe(0);
    const inRange = stored(from, to);
    expect(inRange).toHaveLength(3 * 39);
    expect(r.output).toMatch(new RegExp(`sent ${inRange.length} windows`));
    expectRowsEqualStore(await points('part'), inRange, AGENT);
  }, 30_000);

  it('a refusing InfluxDB (no such database): exit 1 with a sentence, the records stay queued, and the next run sends them without queueing again', async () => {
    const r = await backfill('nodb');
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(/Sink "nodb" refuses the writes: HTTP 404: database not found: "missing" \(create the database, or set createDatabase: true\)\. The backfill stops .*: sent 0 windows; \d+ stay queued for sink "nodb"/);
    const queued = store.outbox.stats('nodb~backfill').pendingRecords;
    expect(queued).toBe(360);
    await influx.query('', 'CREATE DATABASE missing');
    const again = await backfill('nodb');
    expect(again.code, again.output).toBe(0);
    // The first run had queued its whole range (--to was its now): this one queues only windows stored since.
    expect(again.output).toMatch(/An earlier backfill of sink "nodb" \(2024-03-04T00:00:00\.000Z to (\S+)\) stopped after queueing the windows before \1; its 360 unsent records are sent first; this run queues from \1 on\./);
    expect(again.output).toMatch(/sent 360 windows to sink "nodb" in .*: no windows stored from .*, 360 queued by an earlier run\./);
    expectRowsEqualStore(await points('missing'), stored(), AGENT);
  }, 30_000);

  it('nothing listens: exit 1 after --give-up-after', async () => {
    const r = await backfill('nowhere', '--give-up-after', '500ms');
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(/Sink "nowhere" took no write for 0\.\d s: .*ECONNREFUSED.*The backfill stops/s);
    expect(store.outbox.stats('nowhere~backfill').pendingRecords).toBe(360);
  }, 30_000);

  it('interrupted (SIGTERM) and unreachable: what was queued stays; a window revised meanwhile lands as its newer revision once InfluxDB is back', async () => {
    await influx.stopProcess();
    try {
      // Ctrl-C or SIGTERM while it retries: exit 143, everything queued is kept.
      const p = spawnAgent(['backfill', '--config', configFile, '--sink', 'outage', '--from', '2024-03-04']);
      await waitFor('the backfill queued and is retrying', () => /retrying/.test(p.output()) || /failed \(retryable\)/.test(p.output()), 20_000);
      p.child.kill('SIGTERM');
      expect(await p.exited, p.output()).toBe(143);
      expect(p.output()).toMatch(/Interrupted \(SIGTERM\) after .*: sent 0 windows; \d+ stay queued for sink "outage", and the range is remembered/);
      expect(store.outbox.stats('outage~backfill').pendingRecords).toBeGreaterThan(0);
      // Still down: it gives up, having queued the rest.
      const down = await backfill('outage', '--give-up-after', '1s');
      expect(down.code, down.output).toBe(1);
      expect(down.output).toMatch(/took no write for/);
      expect(store.outbox.stats('outage~backfill').pendingRecords).toBe(360);
    } finally {
      await influx.startProcess();
    }
    // The agent revises a queued window (a manual entry) while the backfill waits.
    addEntry(MACHINES[1]!, FROM + 3 * HOUR + 30_000, 2);
    const revised = store.getAggregate(MACHINES[1]!, FROM + 3 * HOUR)!;
    expect(revised.revision).toBe(1);
    const r = await backfill('outage');
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/sent 360 windows to sink "outage" in .*: no windows stored from .*, 360 queued by an earlier run; 1 sent as the newer revision stored since they were queued\./);
    expectRowsEqualStore(await points('outage'), stored(), AGENT);
    expect(store.outbox.stats('outage~backfill')).toMatchObject({ pendingRecords: 0, delivered: 360 });
  }, 60_000);
});
