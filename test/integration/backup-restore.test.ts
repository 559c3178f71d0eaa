/**
 * `yieldwatch backup` beside a running agent that keeps writing, and `yieldwatch restore` onto a
 * fresh folder: an agent started on the restored folder answers the API as the original does for
 * everything up to the backup's moment. A damaged, truncated or too new backup, and a target that
 * is not empty, are refused with their codes and change nothing.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { create as createTar, extract } from 'tar';
import { parse, stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import type { AlertJson, EntryJson, MachineListItem, OverviewJson, WindowJson } from '../../agent/src/api/contract.js';
import { UserFile } from '../../agent/src/api/auth/users.js';
import { MIGRATIONS } from '../../agent/src/store/migrations.js';
import { runRestore } from '../../agent/src/wiring/restore.js';
import { startAedesBroker, type AedesBroker } from '../helpers/aedes-broker.js';
import { mqttConnected, spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

const SPIKY = 'bk/l1/spiky';
const BUSY = ['bk/l1/busy1', 'bk/l1/busy2'];
const OPCUA = 'bk/l2/lathe';
const TOKEN = 'admin-token-for-the-backup-restore-test';

describe('yieldwatch backup and restore', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-backup-'));
  const procs: AgentProcess[] = [];
  let broker: AedesBroker | undefined;
  let feeding = false;
  afterAll(async () => {
    feeding = false;
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
    const p = spawnAgent(args, env);
    procs.push(p);
    return { code: await p.exited, output: p.output() };
  }

  it('a backup of the running agent under write load restores onto a fresh folder with identical API answers; bad backups and taken targets are refused', { timeout: 90_000 }, async () => {
    broker = await startAedesBroker();
    const port = await freePort();
    const deadOpcua = await freePort();
    const original = join(dir, 'original');
    mkdirSync(original);
    const configFile = join(original, 'agent.yaml');
    writeFileSync(
      configFile,
      stringify({
        agent: { id: 'bk', dataDir: './data', logLevel: 'info' },
        kpi: { windowSize: '1s', allowedLateness: '200ms' },
        machines: [...[SPIKY, ...BUSY].map((path) => ({ path, signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } })), { path: OPCUA, signals: { parts_good: { kind: 'counter' } } }],
        sources: [
          { type: 'mqtt', id: 'line', url: broker.url, clientId: 'yw-backup-src', topics: [{ topic: '{site}/{line}/{machine}/counters', fields: { parts_good: 'good', parts_scrap: 'scrap' }, timestamp: { field: 'ts' } }] },
          // Never reachable: it is here for its PKI folder (the client's private key), which the backup must carry.
          { type: 'opcua', id: 'lathes', endpointUrl: `opc.tcp://127.0.0.1:${deadOpcua}`, securityMode: 'None', securityPolicy: 'None', allowInsecure: true, pkiDir: './pki', machines: [{ machine: OPCUA, signals: { parts_good: { nodeId: 'ns=1;s=Good' } } }] },
        ],
        alerts: { rules: [{ id: 'scrap-threshold', type: 'threshold', scrapRate: 0.2, minParts: 5 }] },
        sinks: [],
        api: { host: '127.0.0.1', port, tokens: [{ name: 'ops', token: TOKEN, role: 'admin' }] },
      }),
    );
    await new UserFile(join(original, 'data', 'users.json')).add('anna', 'operator', 'a password of anna', new Date());

    const agent = spawnAgent(['start', '--config', configFile]);
    procs.push(agent);
    const get = async <T>(p: number, path: string): Promise<T> => {
      const res = await fetch(`http://127.0.0.1:${p}/api/v1${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
      return (await res.json()) as T;
    };
    await waitFor('the API', async () => (await fetch(`http://127.0.0.1:${port}/livez`).catch(() => undefined))?.ok, 30_000, 100);
    await waitFor('the MQTT source connected', () => mqttConnected(agent), 10_000, 50);

    // The busy machines count every 10 ms until told to stop: the write load the backup runs under.
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'yw-backup-publisher' });
    feeding = true;
    const busy = (async () => {
      let good = 0;
      while (feeding) {
        good += 3;
        await Promise.all(BUSY.map((m) => pub.publishAsync(`${m}/counters`, JSON.stringify({ good, scrap: 0, ts: Date.now() }), { qos: 1 })));
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    // Subscribed for sure once a busy machine's window is stored.
    await waitFor('a busy machine\'s first window', async () => (await get<{ items: WindowJson[] }>(port, `/kpis?machine=${BUSY[0]}&from=0`)).items.length > 0, 15_000, 100);
    // The spiky machine: 3 s of counts with a second of scrap in the middle, then silence.
    let good = 0;
    let scrap = 0;
    let lastSpiky = 0;
    for (let k = 0; k < 30; k++) {
      good += 10;
      if (k >= 10 && k < 20) scrap += 5;
      lastSpiky = Date.now();
      await pub.publishAsync(`${SPIKY}/counters`, JSON.stringify({ good, scrap, ts: lastSpiky }), { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
    }
    const entry = await fetch(`http://127.0.0.1:${port}/api/v1/entries`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ machine: SPIKY, time: Date.now() - 2000, parts: 7, reason: 'burr', by: 'anna' }),
    });
    expect(entry.status).toBe(201);
    await waitFor('the scrap alert', async () => (await get<{ items: AlertJson[] }>(port, '/alerts')).items.length > 0, 15_000, 100).catch((err: Error) => {
      throw new Error(`${err.message}\n${agent.output()}`);
    });
    await waitFor('the client PKI of the OPC UA source', () => existsSync(join(original, 'pki', 'own', 'private', 'private_key.pem')), 20_000, 100);
    // The spiky machine's last window is stored; then every window starting before T0 was stored before the backup began.
    await waitFor('the spiky machine\'s last window stored', async () => {
      const w = (await get<{ items: WindowJson[] }>(port, `/kpis?machine=${SPIKY}&from=0`)).items;
      return w.length > 0 && w[w.length - 1]!.window_end > lastSpiky;
    }, 10_000, 100);
    const latest = (await get<{ items: WindowJson[] }>(port, `/kpis?machine=${BUSY[0]}&from=${Date.now() - 5000}`)).items;
    const t0 = latest[latest.length - 1]!.window_end;

    // The backup, while the busy machines keep the agent committing.
    const out = join(dir, 'yieldwatch-backup.tgz');
    const backup = await cli(['backup', '--config', configFile, '--out', out]);
    expect(backup.code, backup.output).toBe(0);
    // Writing on after the backup: the original must then hold windows the backup does not.
    await new Promise((r) => setTimeout(r, 1500));
    feeding = false;
    await busy;
    await pub.endAsync();
    expect(backup.output).toMatch(/it holds private keys and password hashes/);
    expect(statSync(out).mode & 0o777).toBe(0o600);

    // Restored onto a fresh folder of another "machine".
    const fresh = join(dir, 'fresh');
    const restoredConfig = join(fresh, 'agent.yaml');
    const restore = await cli(['restore', '--in', out, '--data-dir', join(fresh, 'data'), '--config-out', restoredConfig]);
    expect(restore.code, restore.output).toBe(0);
    expect(restore.output).toMatch(/integrity_check ok/);
    const db = new Database(join(fresh, 'data', 'yieldwatch.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
    // The client's private key as private as it was; the users and the config pointed at the restored folders.
    expect(statSync(join(fresh, 'data', 'pki', 'own', 'private', 'private_key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(fresh, 'data', 'pki', 'own', 'private', 'private_key.pem'))).toEqual(readFileSync(join(original, 'pki', 'own', 'private', 'private_key.pem')));
    expect(statSync(join(fresh, 'data', 'users.json')).mode & 0o777).toBe(0o600);
    const rc = parse(readFileSync(restoredConfig, 'utf8')) as { agent: { dataDir: string }; sources: { pkiDir?: string }[] };
    expect([rc.agent.dataDir, rc.sources[1]!.pkiDir]).toEqual(['./data', './data/pki']);
    expect(new UserFile(join(fresh, 'data', 'users.json')).list().map((u) => [u.name, u.role])).toEqual([['anna', 'operator']]);

    // The restored agent, its MQTT source pointed where nothing answers (it must not take the original's session).
    const port2 = await freePort();
    const restored = spawnAgent(['start', '--config', restoredConfig], { YIELDWATCH_API__PORT: String(port2), YIELDWATCH_SOURCES__0__URL: `mqtt://127.0.0.1:${await freePort()}` });
    procs.push(restored);
    await waitFor('the restored agent\'s API', async () => (await fetch(`http://127.0.0.1:${port2}/livez`).catch(() => undefined))?.ok, 30_000, 100);

    const both = <T>(path: string) => Promise.all([get<T>(port, path), get<T>(port2, path)]);
    for (const m of [SPIKY, ...BUSY]) {
      const [a, b] = await both<{ items: WindowJson[] }>(`/kpis?machine=${m}&from=0&to=${t0}`);
      expect(a.items.length, m).toBeGreaterThan(2);
      expect(b.items, m).toEqual(a.items);
    }
    const [alertsA, alertsB] = await both<{ items: AlertJson[] }>('/alerts');
    expect(alertsA.items.some((a) => a.machine === SPIKY)).toBe(true);
    expect(alertsB).toEqual(alertsA);
    const [entriesA, entriesB] = await both<{ items: EntryJson[] }>(`/entries?machine=${SPIKY}`);
    expect(entriesA.items).toHaveLength(1);
    expect(entriesB).toEqual(entriesA);
    // The machines the load did not touch are listed alike; the busy ones hold every window before T0, and fewer than the original, which wrote on.
    const [machinesA, machinesB] = await both<{ items: MachineListItem[] }>('/machines');
    for (const [i, a] of machinesA.items.entries()) {
      const b = machinesB.items[i]!;
      if (BUSY.includes(a.machine)) {
        expect(b.windows).toBeLessThan(a.windows);
        expect(b.last_window_start!).toBeGreaterThanOrEqual(t0 - 1000);
      } else expect(b, a.machine).toEqual(a);
    }
    const [overviewA, overviewB] = await both<OverviewJson>('/overview');
    const item = (o: OverviewJson, m: string) => o.items.find((i) => i.machine === m);
    expect(item(overviewB, SPIKY)).toEqual(item(overviewA, SPIKY));
    expect(item(overviewB, OPCUA)).toEqual(item(overviewA, OPCUA));

    // Refused, each with its code, and the target left as it was: a truncated file through the
    // command, then a tampered member, a store of a newer schema and a taken target.
    const bytes = readFileSync(out);
    writeFileSync(join(dir, 'truncated.tgz'), bytes.subarray(0, Math.floor(bytes.length / 2)));
    const truncated = await cli(['restore', '--in', join(dir, 'truncated.tgz'), '--data-dir', join(dir, 'r1')]);
    expect(truncated.code).toBe(1);
    expect(truncated.output).toMatch(/truncated or damaged\.\n\[YW_ERR_BACKUP_ARCHIVE\]/);
    const unpacked = join(dir, 'unpacked');
    mkdirSync(unpacked);
    await extract({ file: out, cwd: unpacked });
    const members = readdirSync(unpacked);
    const repack = async (name: string, change: () => void) => {
      change();
      await createTar({ gzip: true, file: join(dir, name), cwd: unpacked, portable: true }, members);
      return join(dir, name);
    };
    const usersFile = join(unpacked, 'users', 'users.json');
    const tampered = await repack('tampered.tgz', () => writeFileSync(usersFile, readFileSync(usersFile, 'utf8').replace('anna', 'mall')));
    writeFileSync(usersFile, readFileSync(usersFile, 'utf8').replace('mall', 'anna'));
    const manifestFile = join(unpacked, 'manifest.json');
    const newer = await repack('newer.tgz', () => writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(readFileSync(manifestFile, 'utf8')), schemaVersion: MIGRATIONS.length + 1 })));
    await expect(runRestore({ in: tampered, dataDir: join(dir, 'r2') })).rejects.toMatchObject({ code: 'YW_ERR_BACKUP_ARCHIVE', message: expect.stringMatching(/users\/users\.json does not match its SHA-256/) });
    await expect(runRestore({ in: newer, dataDir: join(dir, 'r3') })).rejects.toMatchObject({
      code: 'YW_ERR_STORE_VERSION',
      message: expect.stringMatching(new RegExp(`schema version ${MIGRATIONS.length + 1} .*newer than this yieldwatch knows \\(${MIGRATIONS.length}\\)`)),
    });
    // Not a backup at all: a YAML file, and a tar.gz without a manifest.
    await expect(runRestore({ in: configFile, dataDir: join(dir, 'r5') })).rejects.toMatchObject({ code: 'YW_ERR_BACKUP_ARCHIVE', message: expect.stringMatching(/does not unpack/) });
    await createTar({ gzip: true, file: join(dir, 'foreign.tgz'), cwd: unpacked }, ['config']);
    await expect(runRestore({ in: join(dir, 'foreign.tgz'), dataDir: join(dir, 'r6') })).rejects.toMatchObject({ code: 'YW_ERR_BACKUP_ARCHIVE', message: expect.stringMatching(/it has no manifest\.json/) });
    const storeBefore = readFileSync(join(fresh, 'data', 'yieldwatch.db'));
    await expect(runRestore({ in: out, dataDir: join(fresh, 'data') })).rejects.toMatchObject({ code: 'YW_ERR_RESTORE_TARGET', message: expect.stringMatching(/already holds something; nothing was changed/) });
    expect(readFileSync(join(fresh, 'data', 'yieldwatch.db'))).toEqual(storeBefore);
    for (const r of ['r1', 'r2', 'r3', 'r5', 'r6']) expect(readdirSync(join(dir, r)), r).toEqual([]);

    // --force replaces a store, drops the WAL left beside it (it would be applied to the restored file) and the users file.
    const again = join(dir, 'r4');
    mkdirSync(again);
    writeFileSync(join(again, 'yieldwatch.db'), 'an older store');
    writeFileSync(join(again, 'yieldwatch.db-wal'), 'its WAL');
    writeFileSync(join(again, 'users.json'), '{}');
    await runRestore({ in: out, dataDir: again, force: true });
    expect(readFileSync(join(again, 'yieldwatch.db'))).toEqual(readFileSync(join(unpacked, 'store', 'yieldwatch.db')));
    expect(existsSync(join(again, 'yieldwatch.db-wal'))).toBe(false);
    expect(new UserFile(join(again, 'users.json')).list().map((u) => u.name)).toEqual(['anna']);
  });
});
