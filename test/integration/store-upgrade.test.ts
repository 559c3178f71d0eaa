/**
 * Upgrading: a store made by the previous release (schema 14, test/fixtures/stores/README.md)
 * is migrated by today's agent at its start, keeps every window, alert, entry and report run,
 * and is served through the API; a store of a newer yieldwatch makes the agent refuse to start
 * (YW_ERR_STORE_VERSION) without touching it. The Store class's own refusal is unit-tested in
 * agent/src/store/store.test.ts; this is the agent process an operator starts.
 */
import Database from 'better-sqlite3';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { AlertJson, WindowJson } from '../../agent/src/api/contract.js';
import { MIGRATIONS } from '../../agent/src/store/migrations.js';
import { startAedesBroker, type AedesBroker } from '../helpers/aedes-broker.js';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURE = join(ROOT, 'test/fixtures/stores/schema-14.db');

/** What a window holds, read with plain SQL: no yieldwatch code between the file and the test. */
interface Held {
  revision: number;
  parts_good: number | undefined;
  parts_scrap: number | undefined;
  material_in_kg: number | undefined;
}

function readPlain(file: string) {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const windows = new Map<string, Held>();
    for (const r of db.prepare('SELECT machine, window_start, revision, kpis FROM aggregates').all() as { machine: string; window_start: number; revision: number; kpis: string }[]) {
      const k = JSON.parse(r.kpis) as Record<string, number | undefined>;
      windows.set(`${r.machine}@${r.window_start}`, { revision: r.revision, parts_good: k.parts_good, parts_scrap: k.parts_scrap, material_in_kg: k.material_in_kg });
    }
    const count = (table: string) => (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return {
      version: db.pragma('user_version', { simple: true }) as number,
      windows,
      alerts: (db.prepare('SELECT id, state FROM alerts ORDER BY id').all() as { id: string; state: string }[]),
      alertEvents: count('alert_events'),
      entries: count('manual_entries'),
      reportRuns: count('report_runs'),
      machines: (db.prepare('SELECT DISTINCT machine FROM aggregates ORDER BY machine').all() as { machine: string }[]).map((r) => r.machine),
    };
  } finally {
    db.close();
  }
}

describe('a store made by the previous release', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-upgrade-'));
  const procs: AgentProcess[] = [];
  let broker: AedesBroker | undefined;
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is migrated at the agent\'s start, keeps every window, alert, entry and report run, and is served through the API; a newer store is refused', { timeout: 60_000 }, async () => {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    const store = join(dataDir, 'yieldwatch.db');
    copyFileSync(FIXTURE, store);
    const before = readPlain(store);
    // The fixture is what its README says: the previous schema, with something in every part.
    expect(before.version).toBe(14);
    expect(before.windows.size).toBeGreaterThan(100);
    expect(before.alerts.length * before.entries * before.reportRuns).toBeGreaterThan(0);

    // The demo config the fixture was made with (5 s windows), reading a broker that stays silent.
    broker = await startAedesBroker();
    const port = await freePort();
    const demo = parse(readFileSync(join(ROOT, 'config/demo.yaml'), 'utf8')) as Record<string, unknown> & { kpi: Record<string, unknown>; sources: { type: string }[]; reports: Record<string, unknown> };
    delete demo.demo;
    const config = {
      ...demo,
      agent: { id: 'demo', dataDir: './data', logLevel: 'info' },
      kpi: { ...demo.kpi, windowSize: '5s' },
      sources: [{ ...demo.sources.find((s) => s.type === 'mqtt'), url: broker.url }],
      sinks: [],
      api: { host: '127.0.0.1', port },
      reports: { ...demo.reports, schedules: [] },
    };
    const configFile = join(dir, 'agent.yaml');
    writeFileSync(configFile, stringify(config));

    const agent = spawnAgent(['start', '--config', configFile]);
    procs.push(agent);
    const base = `http://127.0.0.1:${port}/api/v1`;
    await waitFor('the upgraded agent\'s API', async () => (await fetch(`${base}/machines`).catch(() => undefined))?.ok, 30_000, 100);

    // Every window the old store held, served with the numbers it held.
    for (const machine of before.machines) {
      const res = (await (await fetch(`${base}/kpis?machine=${encodeURIComponent(machine)}&from=0`)).json()) as { items: WindowJson[] };
      const served = res.items as unknown as (WindowJson & Record<string, number>)[];
      for (const [key, held] of before.windows) {
        if (!key.startsWith(`${machine}@`)) continue;
        const w = served.find((s) => `${s.machine}@${s.window_start}` === key);
        expect(w, `${key} served`).toBeDefined();
        expect({ revision: w!.revision, parts_good: w!.parts_good, parts_scrap: w!.parts_scrap, material_in_kg: w!.material_in_kg }, key).toEqual(held);
      }
    }
    const alerts = (await (await fetch(`${base}/alerts`)).json()) as { items: AlertJson[] };
    expect(alerts.items.map((a) => ({ id: a.id, state: a.state })).sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(before.alerts);
    // Acknowledged before it resolved, and who did it is kept.
    expect(alerts.items.filter((a) => a.acknowledged_by !== null).map((a) => a.acknowledged_by)).toEqual(['Anna']);

    agent.child.kill('SIGTERM');
    expect(await agent.exited, agent.output()).toBe(0);
    const after = readPlain(store);
    expect(after.version).toBe(MIGRATIONS.length);
    // Kept: every window with its revision and numbers (windows the checkpoint still held open may be added).
    for (const [key, held] of before.windows) expect(after.windows.get(key), key).toEqual(held);
    expect({ alerts: after.alerts, entries: after.entries, reportRuns: after.reportRuns }).toEqual({ alerts: before.alerts, entries: before.entries, reportRuns: before.reportRuns });
    expect(after.alertEvents).toBeGreaterThanOrEqual(before.alertEvents);

    // A downgrade: the store now says it was written by a yieldwatch one schema ahead.
    const db = new Database(store);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    const refused = spawnAgent(['start', '--config', configFile]);
    procs.push(refused);
    expect(await refused.exited).toBe(1);
    expect(refused.output()).toMatch(/\[YW_ERR_STORE_VERSION\]/);
    expect(refused.output()).toMatch(new RegExp(`schema version ${MIGRATIONS.length + 1}, newer than this yieldwatch knows \\(${MIGRATIONS.length}\\)`));
    const untouched = readPlain(store);
    expect(untouched.version).toBe(MIGRATIONS.length + 1);
    expect(untouched.windows).toEqual(after.windows);
  });
});
