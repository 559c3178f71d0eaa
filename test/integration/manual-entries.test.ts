/**
 * Manual scrap entries through the whole agent, as a process (agent/src/kpi/README.md, "Manual
 * scrap"): an entry survives a SIGKILL right after its 201, and an edit and a delete revise the
 * right windows in the store, in InfluxDB and on the MQTT broker, with the audit trail kept.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { EntryJson, WindowJson } from '../../agent/src/api/contract.js';
import { startAedesBroker, type AedesBroker } from '../helpers/aedes-broker.js';
import { agentStarter, type AgentProcess } from '../helpers/agent-process.js';
import { freePort } from '../helpers/free-port.js';
import { requireInfluxd, startInfluxdb, type InfluxdbServer } from '../helpers/influxdb.js';
import { waitFor } from '../helpers/wait.js';

const M = 'man/l1/m1';
const TOKEN = 'operator-token-for-the-manual-entry-test';
/** Without influxd (only outside CI) the InfluxDB part is left out. */
const hasInfluxd = requireInfluxd();

describe('manual scrap entries in the running agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-manual-'));
  const procs: AgentProcess[] = [];
  let influx: InfluxdbServer | undefined;
  let broker: AedesBroker | undefined;
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all([influx?.stop(), broker?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('an entry survives a SIGKILL right after its 201; its edit and delete revise the right windows in the store, InfluxDB and MQTT', { timeout: 120_000 }, async () => {
    broker = await startAedesBroker();
    if (hasInfluxd) influx = await startInfluxdb();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}/api/v1`;
    const configFile = join(dir, 'agent.yaml');
    writeFileSync(
      configFile,
      stringify({
        agent: { id: 'manual', dataDir: './data', logLevel: 'warn' },
        kpi: { windowSize: '1s', allowedLateness: '200ms', checkpointInterval: '500ms' },
        sites: { man: { scrapReasons: { burr: { label: { en: 'Burr' } }, crack: { label: { en: 'Crack' }, destination: 'landfill' } } } },
        materials: { steel: { pricePerKg: 2, scrapDestination: 'external_recycling' } },
        machines: [{ path: M, partMassKg: 0.2, material: 'steel', signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } }],
        sources: [{ type: 'mqtt', id: 'line', url: broker.url, clientId: 'yw-manual-src', topics: [{ topic: '{site}/{line}/{machine}/counters', fields: { parts_good: 'good', parts_scrap: 'scrap' }, timestamp: { field: 'ts' } }] }],
        sinks: [
          { type: 'mqtt', id: 'uns', url: broker.url, retryMin: '100ms', retryMax: '500ms' },
          ...(influx ? [{ type: 'influxdb', id: 'influx', url: influx.url, database: 'manual', createDatabase: true, retryMin: '100ms', retryMax: '500ms' }] : []),
        ],
        api: { host: '127.0.0.1', port, tokens: [{ name: 'Anna', token: TOKEN, role: 'operator' }] },
      }),
    );
    const start = agentStarter(configFile, procs);
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
      return { status: res.status, body: (await res.json()) as unknown };
    };
    const windowAt = async (t: number) => ((await call('GET', `/kpis?machine=${M}&from=${t}&to=${t + 1}`)).body as { items: WindowJson[] }).items[0];
    const drained = async () => {
      const status = (await call('GET', '/status')).body as { sinks: { sink: string; backlog_records: number }[] };
      return status.sinks.length > 0 && status.sinks.every((s) => s.backlog_records === 0);
    };

    // What the MQTT sink publishes, window by window (the last payload of each).
    const seen = new Map<number, WindowJson[]>();
    const sub = await mqtt.connectAsync(broker.url, { clientId: 'manual-subscriber' });
    await sub.subscribeAsync(`${M}/yieldwatch/kpi`, { qos: 1 });
    sub.on('message', (_t, payload) => {
      const w = JSON.parse(payload.toString()) as WindowJson;
      seen.set(w.window_start, [...(seen.get(w.window_start) ?? []), w]);
    });

    let agent = start();
    try {
      await waitFor('the API', async () => (await fetch(`${base}/machines`, { headers: { authorization: `Bearer ${TOKEN}` } }).catch(() => undefined))?.ok, 30_000, 100);
      // A machine counting for about three seconds, then stopping.
      const pub = await mqtt.connectAsync(broker.url, { clientId: 'manual-publisher' });
      let good = 0;
      let scrap = 0;
      for (let k = 0; k < 60; k++) {
        good += 2;
        if (k % 5 === 0) scrap += 1;
        await pub.publishAsync(`${M}/counters`, JSON.stringify({ good, scrap, ts: Date.now() }), { qos: 1 });
        await new Promise((r) => setTimeout(r, 50));
      }
      await pub.endAsync();
      const windows = await waitFor('two whole windows stored', async () => {
        const items = ((await call('GET', `/kpis?machine=${M}`)).body as { items: WindowJson[] }).items.filter((w) => (w.parts_good as number) > 0);
        return items.length >= 3 ? items : undefined;
      }, 10_000, 100);
      const [a, b] = [windows[1]!, windows[2]!];

      // The entry, then SIGKILL as soon as the 201 is in.
      const created = await call('POST', '/entries', { machine: M, time: a.window_start + 100, parts: 5, reason: 'burr', comment: 'bin behind the press' });
      agent.child.kill('SIGKILL');
      expect(created.status).toBe(201);
      expect(await agent.exited).toBe('SIGKILL');
      const id = (created.body as EntryJson).id;

      agent = start();
      await waitFor('the API after the restart', async () => (await fetch(`${base}/machines`, { headers: { authorization: `Bearer ${TOKEN}` } }).catch(() => undefined))?.ok, 30_000, 100);
      const kept = (await call('GET', `/entries?machine=${M}`)).body as { items: EntryJson[] };
      expect(kept.items.map((e) => [e.id, e.version, e.parts, e.reason, e.by])).toEqual([[id, 1, 5, 'burr', 'Anna']]);
      const afterKill = (await windowAt(a.window_start))!;
      expect(afterKill).toMatchObject({ revision: a.revision + 1, manual_scrap_parts: 5, manual_scrap_kg: 1, parts_good: a.parts_good, parts_scrap: (a.parts_scrap as number) + 5, parts_total: (a.parts_total as number) + 5 });
      expect(afterKill.scrap_by_reason!.burr).toMatchObject({ parts_scrap: 5, manual_scrap_parts: 5 });

      // Edit: another window and reason. Window a loses the entry, window b gets it.
      const edited = await call('PATCH', `/entries/${id}`, { time: b.window_start + 100, reason: 'crack', why: 'it came from the next batch' });
      expect(edited.status).toBe(200);
      const a2 = (await windowAt(a.window_start))!;
      const b2 = (await windowAt(b.window_start))!;
      expect(a2).toMatchObject({ revision: a.revision + 2, manual_scrap_parts: 0, parts_scrap: a.parts_scrap, parts_total: a.parts_total });
      expect(a2.scrap_by_reason!.burr).toMatchObject({ parts_scrap: 0, manual_scrap_parts: 0 });
      expect(b2).toMatchObject({ revision: b.revision + 1, manual_scrap_parts: 5, parts_scrap: (b.parts_scrap as number) + 5 });
      expect(b2.scrap_kg_by_destination!.landfill).toBeCloseTo(1, 9);

      // Delete: window b is back to the machine's counts.
      expect((await call('DELETE', `/entries/${id}`, { why: 'parts were reworked' })).status).toBe(200);
      const b3 = (await windowAt(b.window_start))!;
      expect(b3).toMatchObject({ revision: b.revision + 2, manual_scrap_parts: 0, parts_scrap: b.parts_scrap, parts_total: b.parts_total });
      const trail = (await call('GET', `/entries/${id}`)).body as EntryJson;
      expect(trail.history.map((v) => [v.event, v.by, v.why ?? null])).toEqual([
        ['created', 'Anna', null],
        ['edited', 'Anna', 'it came from the next batch'],
        ['deleted', 'Anna', 'parts were reworked'],
      ]);

      await waitFor('every sink delivered', drained, 20_000, 100);
      // MQTT: the last payload of each window is the stored revision; one sent just before the kill may come again (at least once).
      const revisions = (t: number) => [...new Map(seen.get(t)!.map((w) => [w.revision, w.manual_scrap_parts ?? null])).values()];
      await waitFor('the revisions on the broker', () => seen.get(a.window_start)?.at(-1)?.revision === a2.revision && seen.get(b.window_start)?.at(-1)?.revision === b3.revision, 10_000);
      expect(revisions(a.window_start)).toEqual([null, 5, 0]);
      expect(revisions(b.window_start)).toEqual([null, 5, 0]);
      expect(seen.get(b.window_start)!.at(-1)).toEqual(expect.objectContaining({ parts_scrap: b.parts_scrap, parts_total: b.parts_total }));

      if (influx) {
        // InfluxDB: the window points hold the last revision; the reason points the entry left are 0, not its old value.
        const point = async (measurement: string, t: number, extra = '') =>
          (await influx!.query('manual', `SELECT * FROM ${measurement} WHERE time = ${t}ms ${extra}`, { epoch: 'ms' }))[0];
        expect(await point('yieldwatch_window', a.window_start)).toMatchObject({ revision: a2.revision, manual_scrap_parts: 0, parts_scrap: a.parts_scrap });
        expect(await point('yieldwatch_window', b.window_start)).toMatchObject({ revision: b3.revision, manual_scrap_parts: 0, parts_scrap: b.parts_scrap });
        expect(await point('yieldwatch_window_by_reason', a.window_start, "AND reason = 'burr'")).toMatchObject({ parts_scrap: 0, manual_scrap_parts: 0, revision: a2.revision });
        expect(await point('yieldwatch_window_by_reason', b.window_start, "AND reason = 'crack'")).toMatchObject({ parts_scrap: 0, manual_scrap_parts: 0, revision: b3.revision });
        expect(await point('yieldwatch_window_by_destination', b.window_start, "AND destination = 'landfill'")).toMatchObject({ scrap_kg: 0, manual_scrap_kg: 0 });
      }
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
    } catch (err) {
      throw new Error(`${(err as Error).message}\nagent output:\n${agent.output()}`);
    } finally {
      await sub.endAsync();
    }
  });
});
