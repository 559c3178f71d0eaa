/**
 * Storage writes per hour (`npm run bench -- --disk-writes`, or this file under tsx): what an SD
 * card sees from the agent at a plant's pace, not at the throughput bench's 40,000 msg/s.
 *
 * 50 machines each publish their counters once a second (QoS 1, to Debian's Mosquitto on a free
 * port) for --minutes (default 10). Several agents run side by side as real `yieldwatch start`
 * processes, one per setting below, each with its own store in a temp folder on disk, 60 s
 * windows and the default store settings otherwise. Each agent's storage writes are
 * `write_bytes` of its /proc/<pid>/io (bytes the process caused to be sent to storage: the WAL,
 * SQLite's checkpoints into the database file, the checkpoint rows), read after it connected
 * and again at the end, scaled to an hour. Every agent must have stored the same windows, or the
 * comparison is void and the bench says so.
 *
 * The run ends on the first window boundary after --minutes; the agents are stopped once that
 * window is emitted, and each store must hold every part published after the counters'
 * baselines.
 *
 * Options: --minutes N, --variants a,b (names below), --json.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { spawnAgent, mqttConnected, type AgentProcess } from '../helpers/agent-process.js';
import { parseDuration } from '../../agent/src/core/duration.js';
import { waitFor } from '../helpers/wait.js';
import { storedWindows } from '../helpers/window-sums.js';
import { startBroker, mosquittoBinary, mosquittoVersion } from './broker.js';
import { benchAgentDoc } from './agent-config.js';
import { MACHINES, PART_MASS_KG, PROCESS_LOSS, TOPICS, WINDOW_MS, sqliteFileBytes } from './common.js';

interface Variant {
  name: string;
  qos: 0 | 1;
  kpi: Record<string, string>;
  store?: Record<string, string>;
  what: string;
}

/** The settings compared: the defaults at QoS 0 and 1, then the lever for SD cards (docs: deploy/README.md). */
const VARIANTS: readonly Variant[] = [
  { name: 'qos0', qos: 0, kpi: {}, what: 'QoS 0, defaults (checkpoint every 10 s)' },
  { name: 'qos1', qos: 1, kpi: {}, what: 'QoS 1, defaults (commit every 100 ms)' },
  { name: 'qos1-commit-1s', qos: 1, kpi: { commitInterval: '1s' }, what: 'QoS 1, kpi.commitInterval 1s' },
  { name: 'qos1-commit-5s', qos: 1, kpi: { commitInterval: '5s' }, what: 'QoS 1, kpi.commitInterval 5s' },
  { name: 'qos1-commit-30s', qos: 1, kpi: { commitInterval: '30s' }, what: 'QoS 1, kpi.commitInterval 30s' },
  { name: 'qos0-checkpoint-60s', qos: 0, kpi: { checkpointInterval: '60s' }, what: 'QoS 0, kpi.checkpointInterval 60s' },
];

const { values: flags } = parseArgs({
  options: {
    minutes: { type: 'string', default: '10' },
    variants: { type: 'string' },
    json: { type: 'boolean', default: false },
    'disk-writes': { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const MINUTES = Number(flags.minutes);
if (!Number.isFinite(MINUTES) || MINUTES <= 0) throw new Error(`--minutes: expected a positive number of minutes, got "${flags.minutes}".`);
const chosen = flags.variants === undefined ? VARIANTS : flags.variants.split(',').map((n) => {
  const v = VARIANTS.find((x) => x.name === n.trim());
  if (v === undefined) throw new Error(`--variants: "${n}" is not one of ${VARIANTS.map((x) => x.name).join(', ')}.`);
  return v;
});
const say = (s: string) => process.stderr.write(`${s}\n`);

function writeBytes(pid: number): number {
  const m = /^write_bytes:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  if (m === null) throw new Error(`/proc/${pid}/io has no write_bytes line.`);
  return Number(m[1]);
}

/** The file system type under `dir`: on tmpfs nothing reaches storage and write_bytes stays 0. */
function fsType(dir: string): string {
  const r = spawnSync('stat', ['-f', '-c', '%T', dir], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : 'unknown';
}

interface Run {
  variant: Variant;
  dir: string;
  agent: AgentProcess;
  startBytes: number;
  endBytes: number;
}

const bin = mosquittoBinary();
if (bin === undefined) {
  say('disk-writes: mosquitto is not installed (apt-get install mosquitto); nothing measured.');
  process.exit(1);
}
const broker = await startBroker(bin, 100_000);
const root = mkdtempSync(join(os.tmpdir(), 'yw-bench-disk-'));
const fs = fsType(root);
if (fs === 'tmpfs' || fs === 'ramfs') say(`disk-writes: WARNING the temp folder is on ${fs}: write_bytes will read 0. Set TMPDIR to a folder on disk.`);
const runs: Run[] = [];
let publisher: mqtt.MqttClient | undefined;
let timer: NodeJS.Timeout | undefined;
try {
  for (const variant of chosen) {
    const dir = join(root, variant.name);
    const doc = benchAgentDoc(broker.url, join(dir, 'data'), variant.qos) as { agent: { logLevel: string }; sources: { id: string }[]; kpi?: object; store?: object };
    // info: the test helper recognises the source's "Connected" line.
    doc.agent.logLevel = 'info';
    doc.sources[0]!.id = `disk-${variant.name}`;
    doc.kpi = { ...variant.kpi };
    if (variant.store !== undefined) doc.store = { ...variant.store };
    mkdirSync(dir, { recursive: true });
    const configFile = join(dir, 'agent.yaml');
    // JSON is YAML: the file is the bench's validated document as written.
    writeFileSync(configFile, JSON.stringify(doc, null, 2));
    runs.push({ variant, dir, agent: spawnAgent(['start', '--config', configFile]), startBytes: 0, endBytes: 0 });
  }
  for (const r of runs) await waitFor(`${r.variant.name} connected`, () => mqttConnected(r.agent) || r.agent.child.exitCode !== null, 60_000);
  for (const r of runs) if (r.agent.child.exitCode !== null) throw new Error(`${r.variant.name}: the agent exited.\n${r.agent.output()}`);

  publisher = mqtt.connect(broker.url, { clientId: 'yw-bench-disk-pub', protocolVersion: 5 });
  await new Promise<void>((resolve, reject) => {
    publisher!.once('connect', () => resolve());
    publisher!.once('error', reject);
  });
  // Each machine once a second, spread over the second as independent machines would be: one part
  // a message, a scrap part about every 20th, material in for both plus the process loss.
  const good = new Array<number>(MACHINES.length).fill(0);
  const scrap = new Array<number>(MACHINES.length).fill(0);
  // A counter's first reading is its baseline (KPI method): only what follows it is counted.
  const baseline: (number | undefined)[] = new Array<number | undefined>(MACHINES.length).fill(undefined);
  let slot = 0;
  const tickMs = 1000 / MACHINES.length;
  const publishOne = (): void => {
    const i = slot;
    slot = (slot + 1) % MACHINES.length;
    if (Math.random() < 0.05) scrap[i]! += 1;
    else good[i]! += 1;
    baseline[i] ??= good[i]! + scrap[i]!;
    const kg = ((good[i]! + scrap[i]!) * PART_MASS_KG) / (1 - PROCESS_LOSS);
    const payload = `{"good":${good[i]},"scrap":${scrap[i]},"rework":0,"material_in_kg":${kg.toFixed(4)},"ts":${Date.now()}}`;
    publisher!.publish(TOPICS[i]!, payload, { qos: 1 });
  };
  timer = setInterval(publishOne, tickMs);

  // Start counting once every agent has its session and the first messages: the start-up writes
  // (schema, first checkpoint) are not the steady state an SD card lives with.
  await new Promise((r) => setTimeout(r, 5_000));
  for (const r of runs) r.startBytes = writeBytes(r.agent.child.pid!);
  const t0 = Date.now();
  say(`disk-writes: ${chosen.length} agents, 50 machines at 1 msg/s each, ${MINUTES} min (${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores, node ${process.version}, ${mosquittoVersion(bin)}, store on ${fs})`);
  // End on a window boundary, so every part published lands in a window the store emits.
  const endAt = Math.ceil((t0 + MINUTES * 60_000) / WINDOW_MS) * WINDOW_MS;
  while (Date.now() < endAt) {
    await new Promise((r) => setTimeout(r, Math.min(60_000, endAt - Date.now())));
    const min = ((Date.now() - t0) / 60_000).toFixed(1);
    say(`  ${min} min: ${runs.map((r) => `${r.variant.name} ${((writeBytes(r.agent.child.pid!) - r.startBytes) / 1024).toFixed(0)} KiB`).join(', ')}`);
  }
  for (const r of runs) r.endBytes = writeBytes(r.agent.child.pid!);
  const elapsedH = (Date.now() - t0) / 3_600_000;
  clearInterval(timer);
  timer = undefined;
  const expectedParts = good.reduce((a, g, i) => a + g + scrap[i]! - (baseline[i] ?? 0), 0);

  // The last windows are emitted once their lateness (10 s) is over, and saved by the next
  // commit; then each store is read for what it holds.
  const longestCommitMs = Math.max(100, ...chosen.map((v) => parseDuration(v.kpi.commitInterval ?? '0s') ?? 0));
  await new Promise((r) => setTimeout(r, 12_000 + longestCommitMs));
  for (const r of runs) r.agent.child.kill('SIGTERM');
  for (const r of runs) await r.agent.exited;
  const rows = runs.map((r) => {
    const dbFile = join(r.dir, 'data', 'yieldwatch.db');
    const db = new Database(dbFile, { readonly: true });
    const windows = (db.prepare('SELECT count(*) AS n FROM aggregates').get() as { n: number }).n;
    db.close();
    const parts = [...storedWindows(dbFile).values()].reduce((a, w) => a + w.good + w.scrap, 0);
    const perHour = (r.endBytes - r.startBytes) / elapsedH;
    return { variant: r.variant.name, what: r.variant.what, windows, parts, storeBytes: sqliteFileBytes(dbFile), writtenBytes: r.endBytes - r.startBytes, bytesPerHour: Math.round(perHour) };
  });
  if (flags.json) process.stdout.write(`${JSON.stringify({ minutes: MINUTES, rows }, null, 2)}\n`);
  else {
    const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
    process.stdout.write(`${'setting'.padEnd(44)} ${'windows'.padStart(8)} ${'parts'.padStart(8)} ${'MiB/hour'.padStart(9)} ${'GiB/day'.padStart(8)} ${'store MiB'.padStart(10)}\n`);
    for (const row of rows) process.stdout.write(`${row.what.padEnd(44)} ${String(row.windows).padStart(8)} ${String(row.parts).padStart(8)} ${mib(row.bytesPerHour).padStart(9)} ${((row.bytesPerHour * 24) / 2 ** 30).toFixed(2).padStart(8)} ${mib(row.storeBytes).padStart(10)}\n`);
  }
  // Every setting must have done the same work, or its bytes compare nothing.
  const off = rows.filter((r) => r.parts !== expectedParts);
  say(`disk-writes: ${expectedParts} parts published after the baselines; ${off.length === 0 ? 'every agent stored all of them' : `NOT CONSERVED: ${off.map((r) => `${r.variant} stored ${r.parts}`).join(', ')}`}`);
  if (off.length > 0) process.exitCode = 1;
} finally {
  if (timer !== undefined) clearInterval(timer);
  publisher?.end(true);
  for (const r of runs) if (r.agent.child.exitCode === null && r.agent.child.signalCode === null) r.agent.child.kill('SIGKILL');
  await broker.stop();
  rmSync(root, { recursive: true, force: true });
}
