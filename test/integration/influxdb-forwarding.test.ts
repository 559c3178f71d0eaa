import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/src/agent.js';
import { validateConfig } from '../../agent/src/config/load.js';
import { startAedesBroker, type AedesBroker } from '../helpers/aedes-broker.js';
import { expectRowsEqualStore } from '../helpers/influxdb-assert.js';
import { requireInfluxd, startInfluxdb, type InfluxdbServer } from '../helpers/influxdb.js';
import { waitFor } from '../helpers/wait.js';

/**
 * The whole agent (MQTT source → KPI core → store + outbox → forwarder → InfluxDB sink) against
 * an aedes broker and a real InfluxDB that the tests stop and start again.
 */

const MACHINES = ['fwd/l1/m1', 'fwd/l1/m2', 'fwd/l2/m3'];
const hasInfluxd = requireInfluxd();

describe.skipIf(!hasInfluxd)('forwarding to InfluxDB through outages', () => {
  let influx: InfluxdbServer;
  let broker: AedesBroker;
  const dirs: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    [influx, broker] = await Promise.all([startInfluxdb(), startAedesBroker()]);
  }, 30_000);
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });
  afterAll(async () => {
    await Promise.all([influx?.stop(), broker?.close()]);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  async function run(database: string, sink: Record<string, unknown> = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'yw-fwd-'));
    dirs.push(dir);
    const config = validateConfig({
      agent: { id: 'fwd-test', dataDir: dir },
      kpi: { windowSize: '1s', allowedLateness: '200ms', checkpointInterval: '500ms' },
      machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } },
      machines: MACHINES.map((path) => ({ path, partMassKg: 0.2 })),
      sources: [
        {
          type: 'mqtt',
          id: 'line',
          url: broker.url,
          clientId: `yw-${database}`,
          topics: [{ topic: 'fwd/{line}/{machine}/counters', site: 'fwd', fields: { parts_good: 'good', parts_scrap: 'scrap' }, timestamp: { field: 'ts' } }],
        },
      ],
      sinks: [{ type: 'influxdb', id: 'influx', url: influx.url, database, createDatabase: true, retryMin: '100ms', retryMax: '500ms', batchSize: 20, ...sink }],
      api: { enabled: false },
    });
    const agent = new Agent({ config, dataDir: dir, baseDir: dir, logger: pino({ level: 'silent' }) });
    await agent.start();
    cleanups.push(() => agent.stop());
    // Counters of every machine, 20 times a second.
    const pub = await mqtt.connectAsync(broker.url, { clientId: `pub-${database}` });
    const counts = new Map(MACHINES.map((m) => [m, { good: 0, scrap: 0 }]));
    let n = 0;
    const publish = () => {
      const ts = Date.now();
      for (const m of MACHINES) {
        const c = counts.get(m)!;
        c.good += 1 + (n % 3);
        if (n % 7 === 0) c.scrap += 1;
        const parts = m.split('/');
        void pub.publishAsync(`fwd/${parts.at(-2)}/${parts.at(-1)}/counters`, JSON.stringify({ good: c.good, scrap: c.scrap, ts }), { qos: 1 });
      }
      n++;
    };
    const timer = setInterval(publish, 50);
    const stopPublishing = async () => {
      clearInterval(timer);
      await pub.endAsync();
    };
    cleanups.push(stopPublishing);
    const status = () => agent.forwarders[0]!.status();
    /** Stops the machines, waits until every window is emitted and delivered. */
    const settle = async () => {
      await stopPublishing();
      await waitFor('every window emitted', () => agent.pipeline.stats().openWindows === 0, 10_000);
      await waitFor('the outbox drained', () => status().pendingRecords === 0, 30_000);
    };
    return { agent, status, settle };
  }

  it('InfluxDB down for many windows: they wait in the outbox, then every window lands once with the stored values and the backlog drains to zero', async () => {
    const { agent, status, settle } = await run('yw_outage');
    await waitFor('first windows delivered', () => status().delivered >= 6, 15_000);
    await influx.stopProcess();
    const deliveredBefore = status().delivered;
    await waitFor('a backlog of 30 windows', () => status().pendingRecords >= 30, 30_000);
    expect(status().health.status).toBe('degraded');
    expect(status().errors.retryable).toBeGreaterThan(0);
    expect(status().delivered).toBe(deliveredBefore);
    await influx.startProcess();
    await settle();
    expect(status().health.status).toBe('ok');
    const stored = agent.store.queryAggregates();
    expect(stored.length).toBeGreaterThan(30);
    const rows = await influx.query('yw_outage', 'SELECT * FROM yieldwatch_window GROUP BY *', { epoch: 'ms' });
    expectRowsEqualStore(rows, stored, 'fwd-test');
    expect(status()).toMatchObject({ pendingRecords: 0, dropped: 0, deadLettered: 0 });
    // Delivered records = first emissions + revisions; each became or replaced exactly one point.
    expect(status().delivered).toBe(agent.pipeline.stats().commits.windowsEmitted + agent.pipeline.stats().commits.windowsRevised);
  }, 90_000);

  it('a tiny backlog bound: the agent keeps running, drops the oldest records (counted, health warns) and still delivers the newest', async () => {
    await influx.stopProcess();
    const { agent, status, settle } = await run('yw_bound', { backlog: { maxSize: '4KiB', maxAge: '7d' } });
    await waitFor('records dropped', () => status().dropped >= 20, 30_000);
    expect(status().pendingBytes).toBeLessThanOrEqual(4096);
    expect(agent.pipeline.stats().commits.commitErrors).toBe(0);
    await influx.startProcess();
    await settle();
    expect(status().health).toMatchObject({ status: 'degraded' });
    expect(status().health.reason).toContain('dropped unsent by the outbox bound');
    const stored = agent.store.queryAggregates();
    const rows = await influx.query('yw_bound', 'SELECT * FROM yieldwatch_window GROUP BY *', { epoch: 'ms' });
    // Everything emitted is accounted for: delivered or dropped, nothing else.
    const emitted = agent.pipeline.stats().commits.windowsEmitted + agent.pipeline.stats().commits.windowsRevised;
    expect(status().delivered + status().dropped).toBe(emitted);
    // The newest window of every machine made it, with the stored values.
    for (const m of MACHINES) {
      const newest = stored.filter((a) => a.machine === m).at(-1)!;
      const row = rows.find((r) => `${r.site}/${r.line}/${r.machine}` === m && r.time === newest.windowStart);
      expect(row, `newest window of ${m}`).toBeDefined();
      expect(row!.parts_good).toBe(newest.kpis.parts_good);
    }
    expect(rows.length).toBeLessThan(stored.length);
  }, 90_000);
});
