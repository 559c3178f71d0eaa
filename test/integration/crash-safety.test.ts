import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { startAedesBroker } from '../helpers/aedes-broker.js';
import { expectRowsEqualStore } from '../helpers/influxdb-assert.js';
import { requireInfluxd, startInfluxdb, type InfluxdbServer } from '../helpers/influxdb.js';
import { Store } from '../../agent/src/store/store.js';
import { agentStarter, type AgentProcess } from '../helpers/agent-process.js';
import { waitFor } from '../helpers/wait.js';
import { mulberry32 } from '../../agent/src/simulator/random.js';

const MACHINES = ['crash/l1/m1', 'crash/l1/m2', 'crash/l2/m3'];
const KILLS = 12;
const ROLLOVER = 65536;

/** Without influxd (only outside CI) the run checks the counts in the store alone. */
const hasInfluxd = requireInfluxd();

describe('crash safety: the agent killed with SIGKILL at random moments', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-crash-'));
  const procs: AgentProcess[] = [];
  let influx: InfluxdbServer | undefined;
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await influx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`loses and doubles no count across ${KILLS} kills and restarts, in the store and in InfluxDB`, { timeout: 180_000 }, async () => {
    const broker = await startAedesBroker();
    if (hasInfluxd) influx = await startInfluxdb();
    const dbFile = join(dir, 'data', 'yieldwatch.db');
    const configFile = join(dir, 'agent.yaml');
    writeFileSync(
      configFile,
      stringify({
        agent: { id: 'crash', dataDir: './data', logLevel: 'warn' },
        kpi: { windowSize: '1s', allowedLateness: '300ms', checkpointInterval: '500ms' },
        machineDefaults: { signals: { parts_good: { kind: 'counter', rollover: ROLLOVER }, parts_scrap: { kind: 'counter', rollover: ROLLOVER } } },
        machines: MACHINES.map((path) => ({ path, partMassKg: 0.1 })),
        sources: [
          {
            type: 'mqtt',
            id: 'line',
            url: broker.url,
            clientId: 'yieldwatch-crash-test',
            topics: [{ topic: '{site}/{line}/{machine}/counters', fields: { parts_good: 'good', parts_scrap: 'scrap' }, timestamp: { field: 'ts', format: 'epoch_ms' } }],
          },
        ],
        // Small batches, so the kills also land while a write to InfluxDB is in flight.
        sinks: influx ? [{ type: 'influxdb', id: 'influx', url: influx.url, database: 'crash', createDatabase: true, batchSize: 3, retryMin: '100ms', retryMax: '500ms' }] : [],
        api: { enabled: false },
      }),
    );

    const rand = mulberry32(20261127);
    // Start near the 16-bit limit so the run crosses rollovers too.
    const good = new Map(MACHINES.map((m, i) => [m, 65_000 + i * 100]));
    const scrap = new Map(MACHINES.map((m) => [m, 0]));
    const produced = new Map(MACHINES.map((m) => [m, { good: 0, scrap: 0 }]));
    let counting = false;
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'crash-publisher' });
    const publishAll = () => {
      const ts = Date.now();
      for (const m of MACHINES) {
        if (counting) {
          const g = Math.floor(rand.next() * 4);
          const s = rand.next() < 0.1 ? 1 : 0;
          good.set(m, (good.get(m)! + g) % ROLLOVER);
          scrap.set(m, (scrap.get(m)! + s) % ROLLOVER);
          produced.get(m)!.good += g;
          produced.get(m)!.scrap += s;
        }
        const [site, line, machine] = m.split('/');
        void pub.publishAsync(`${site}/${line}/${machine}/counters`, JSON.stringify({ good: good.get(m), scrap: scrap.get(m), ts }), { qos: 1 });
      }
    };
    const timer = setInterval(publishAll, 20);

    const start = agentStarter(configFile, procs);
    let agent = start();
    try {
      // Counting starts once the agent holds a saved baseline for every machine.
      await waitFor('a saved baseline for every machine', () => {
        if (!existsSync(dbFile)) return false;
        const db = new Database(dbFile, { readonly: true, fileMustExist: true });
        try {
          // One part per machine (kpi/snapshot.ts, encodeCheckpoint).
          const rows = db.prepare('SELECT key, state FROM checkpoint_parts').all() as { key: string; state: string }[];
          const parts = new Map(rows.map((r) => [r.key, JSON.parse(r.state) as { state: { signals: Record<string, { has: boolean }> } }]));
          return MACHINES.every((m) => parts.get(m)?.state.signals.parts_good?.has && parts.get(m)?.state.signals.parts_scrap?.has);
        } catch {
          return false;
        } finally {
          db.close();
        }
      }, 30_000, 100);
      counting = true;

      for (let k = 0; k < KILLS; k++) {
        await new Promise((r) => setTimeout(r, 400 + rand.next() * 1800));
        agent.child.kill('SIGKILL');
        expect(await agent.exited).toBe('SIGKILL');
        // While the agent is down the broker queues QoS 1 messages for its persistent session.
        await new Promise((r) => setTimeout(r, rand.next() * 800));
        agent = start();
      }
      await new Promise((r) => setTimeout(r, 1500));
      counting = false;
      const lastChange = Date.now();

      // Every window up to the last change must be emitted before the books are closed.
      await waitFor(
        'windows after the last change for every machine',
        () => {
          const db = new Database(dbFile, { readonly: true, fileMustExist: true });
          try {
            const rows = db.prepare('SELECT machine, MAX(window_start) AS last FROM aggregates GROUP BY machine').all() as { machine: string; last: number }[];
            const pending = db.prepare('SELECT COALESCE(SUM(pending_records), 0) AS n FROM sink_state').get() as { n: number };
            return rows.length === MACHINES.length && rows.every((r) => r.last > lastChange + 1000) && pending.n === 0;
          } finally {
            db.close();
          }
        },
        30_000,
        100,
      );
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nagent output:\n${agent.output()}`);
    } finally {
      clearInterval(timer);
      await pub.endAsync();
      await broker.close();
    }

    const db = new Database(dbFile, { readonly: true });
    const rows = db.prepare('SELECT machine, components, revision FROM aggregates').all() as { machine: string; components: string; revision: number }[];
    db.close();
    for (const m of MACHINES) {
      const sums = rows
        .filter((r) => r.machine === m)
        .reduce((acc, r) => {
          const c = JSON.parse(r.components) as { parts_good: number; parts_scrap: number };
          return { good: acc.good + c.parts_good, scrap: acc.scrap + c.parts_scrap };
        }, { good: 0, scrap: 0 });
      expect({ machine: m, ...sums }).toEqual({ machine: m, ...produced.get(m) });
      expect(produced.get(m)!.good).toBeGreaterThan(1000);
    }
    if (influx) {
      // Every window is one point with the values the store holds: none missing, none left at an older revision.
      const store = new Store({ path: dbFile });
      try {
        expect(store.outbox.stats('influx')).toMatchObject({ pendingRecords: 0, dropped: 0, deadLettered: 0 });
        const rowsInflux = await influx.query('crash', 'SELECT * FROM yieldwatch_window GROUP BY *', { epoch: 'ms' });
        expectRowsEqualStore(rowsInflux, store.queryAggregates(), 'crash');
      } finally {
        store.close();
      }
    }
  });
});
