/**
 * Backup benchmark (`node --import tsx test/bench/backup.ts`): `yieldwatch backup` of a large
 * store while the agent takes MQTT load, then `yieldwatch restore` of what it wrote.
 *
 *   1. A store of N machines (default 10) over D days (default 15) of 1-minute windows, run
 *      through the real pipeline on a virtual clock (test/bench/store-seed.ts).
 *   2. The agent started on it (1 s windows), the same machines publishing a counter every
 *      10 ms each through an in-process broker; after 4 s, `yieldwatch backup` as its own
 *      process. Measured: the backup's wall time, the windows the agent emitted meanwhile
 *      (it must go on committing), the largest `-wal` file seen during it.
 *   3. `yieldwatch restore` of the file onto a fresh folder: wall time and the windows restored.
 *
 * Options: --machines N, --days D, --keep DIR (keep the folder there).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { Store } from '../../agent/src/store/store.js';
import { startAedesBroker } from '../helpers/aedes-broker.js';
import { freePort } from '../helpers/free-port.js';
import { benchConfig, benchMachinePath, simulateWindows } from './store-seed.js';

const { values: flags } = parseArgs({ options: { machines: { type: 'string' }, days: { type: 'string' }, keep: { type: 'string' } } });
const machines = Number(flags.machines ?? 10);
const days = Number(flags.days ?? 15);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = flags.keep ?? mkdtempSync(join(os.tmpdir(), 'yw-bench-backup-'));
const cli = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', 'agent/src/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
const exited = (p: ReturnType<typeof cli>) => new Promise<number | null>((r) => p.on('exit', (code) => r(code)));

const dataDir = join(dir, 'data');
mkdirSync(dataDir, { recursive: true });
const to = Date.UTC(2026, 10, 1);
let t = Date.now();
const seeded = new Store({ path: join(dataDir, 'yieldwatch.db'), synchronous: 'normal' });
simulateWindows(benchConfig(machines), seeded, to - days * 86_400_000, to);
const windows = seeded.countAggregates();
seeded.close();
const storeBytes = statSync(join(dataDir, 'yieldwatch.db')).size;
console.log(`store: ${machines} machines x ${days} days, ${windows} windows, ${(storeBytes / 1e6).toFixed(0)} MB (seeded in ${((Date.now() - t) / 1000).toFixed(0)} s)`);

const broker = await startAedesBroker();
const port = await freePort();
const paths = Array.from({ length: machines }, (_, i) => benchMachinePath(i));
const configFile = join(dir, 'agent.yaml');
writeFileSync(
  configFile,
  stringify({
    agent: { id: 'bench-backup', dataDir: './data', logLevel: 'warn' },
    kpi: { windowSize: '1s', allowedLateness: '200ms' },
    machines: paths.map((path) => ({ path, signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } })),
    sources: [{ type: 'mqtt', id: 'line', url: broker.url, clientId: 'yw-bench-backup', topics: [{ topic: '{site}/{line}/{machine}/counters', fields: { parts_good: 'good', parts_scrap: 'scrap' }, timestamp: { field: 'ts' } }] }],
    sinks: [],
    api: { host: '127.0.0.1', port },
  }),
);
const agent = cli(['start', '--config', configFile]);
const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text())?.[1] ?? NaN);
for (;;) {
  if ((await fetch(`http://127.0.0.1:${port}/livez`).catch(() => undefined))?.ok) break;
  await new Promise((r) => setTimeout(r, 200));
}
const pub = await mqtt.connectAsync(broker.url, { clientId: 'yw-bench-backup-publisher' });
let feeding = true;
let sent = 0;
const feed = (async () => {
  let good = 0;
  while (feeding) {
    good += 2;
    await Promise.all(paths.map((m) => pub.publishAsync(`${m}/counters`, JSON.stringify({ good, scrap: 0, ts: Date.now() }), { qos: 1 })));
    sent += paths.length;
    await new Promise((r) => setTimeout(r, 10));
  }
})();
await new Promise((r) => setTimeout(r, 4000));

const wal = () => {
  try {
    return statSync(join(dataDir, 'yieldwatch.db-wal')).size;
  } catch {
    return 0;
  }
};
let maxWal = wal();
const watch = setInterval(() => (maxWal = Math.max(maxWal, wal())), 20);
const [emittedBefore, sentBefore] = [await metric('yieldwatch_windows_emitted_total'), sent];
t = Date.now();
const backup = cli(['backup', '--config', configFile, '--out', join(dir, 'backup.tgz')]);
const backupCode = await exited(backup);
const backupMs = Date.now() - t;
clearInterval(watch);
const emitted = (await metric('yieldwatch_windows_emitted_total')) - emittedBefore;
const rate = ((sent - sentBefore) / backupMs) * 1000;
feeding = false;
await feed;
await pub.endAsync();
agent.kill('SIGTERM');
await exited(agent);
await broker.close();
console.log(`backup: exit ${backupCode}, ${(backupMs / 1000).toFixed(1)} s wall at ${rate.toFixed(0)} msg/s; ${emitted} windows emitted by the agent meanwhile; largest -wal ${(maxWal / 1e6).toFixed(1)} MB; archive ${(statSync(join(dir, 'backup.tgz')).size / 1e6).toFixed(1)} MB`);

t = Date.now();
const restore = spawnSync(process.execPath, ['--import', 'tsx', 'agent/src/cli.ts', 'restore', '--in', join(dir, 'backup.tgz'), '--data-dir', join(dir, 'restored')], { cwd: ROOT, encoding: 'utf8' });
console.log(`restore: exit ${restore.status}, ${((Date.now() - t) / 1000).toFixed(1)} s wall; ${/store\s+\S+: (\d+ windows, PRAGMA integrity_check \w+)/.exec(restore.stdout)?.[1] ?? restore.stdout + restore.stderr}`);
if (flags.keep === undefined) rmSync(dir, { recursive: true, force: true });
