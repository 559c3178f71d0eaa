/**
 * `npm run bench`: measures yieldwatch against the project's bar — 80,000 messages/s from 50
 * machines at no more than 1.3× the CPU per message and 1.2× the peak memory of a bare mqtt.js
 * consumer that only parses and windows — and then the OPC UA case (opcua-case.ts): values/s,
 * CPU per 100,000 values and peak memory of the agent at 100 to 5,000 monitored items. Prints a
 * table (or JSON with `--json`) with the machine it ran on. A failed bar is a result, not an
 * error: the exit code is 0 unless the bench could not run.
 * README.md in this folder explains every number.
 *
 * Options (flags win over the environment):
 *   --rate N        target total publish rate, msg/s (BENCH_RATE, default 80000)
 *   --count N       messages per run (BENCH_COUNT, default 2000000: 25 s at 80,000 msg/s)
 *   --runs N        measured runs per consumer; the table shows medians (BENCH_RUNS, default 3)
 *   --broker B      mosquitto (default), direct (the load generator is a stub broker writing
 *                   straight to the consumer: the consumers at full rate without Mosquitto's
 *                   ceiling) or both (BENCH_BROKER)
 *   --max-queued N  Mosquitto max_queued_messages (default 1000, Mosquitto's own default)
 *   --qos Q         0 (default: the bar's case) or 1: the load generator publishes and both
 *                   consumers subscribe at QoS 1; the bare consumer acknowledges at once, the
 *                   agent after each commit (BENCH_QOS)
 *   --consumers L   comma-separated: bare,yieldwatch (default both)
 *   --no-micro      skip the in-process microbench; --micro-only runs nothing else
 *   --profile       one more run per consumer with a CPU profile of the measured span, summarised
 *   --profile-dir D keep the .cpuprofile files in D (else they are deleted after the summary)
 *   --tsx           run the children from the TypeScript sources under tsx instead of compiling
 *                   them to JavaScript first (tsx's loader adds memory and CPU to both consumers)
 *   --quiet-wait S  before each run, wait up to S seconds (default 300; 0: never) until other
 *                   processes use less than 0.15 of a core, so a shared machine skews less
 *   --compiled-dir D use an already compiled tree (as compile.ts makes it) instead of compiling,
 *                   e.g. to measure a change tried in a copy; the folder is left in place
 *   --json          print the results as JSON instead of the table
 *
 * The OPC UA case (runs after the MQTT bench unless --no-opcua; no Mosquitto needed):
 *   --opcua              run only the OPC UA case (no microbench, no MQTT)
 *   --no-opcua           skip it
 *   --opcua-items L      numbers of monitored items (default 100,1000,5000)
 *   --opcua-sampling L   sampling intervals, ms or s (default 100ms,1s)
 *   --opcua-span S       measured span in seconds for every case (default 20 s, or 30 sampling
 *                        intervals when longer: 30 s at 1 s)
 *   --opcua-warmup S     least warm-up after subscribing, seconds (default 5); it also lasts until
 *                        every item has delivered a value after its initial one
 *   --opcua-runs N       runs of each case (default 1)
 *
 * Benches of their own, each handed over to its script with the other flags:
 *   --store-forward      an InfluxDB outage and the drain (store-forward.ts)
 *   --alert-latency      spike to alert on the live stream (alert-latency.ts)
 *   --rollup             rollups of a year's store, and its size (rollup.ts)
 *   --dashboard          the dashboard and its API on 200 machines × 30 days of 1-minute windows:
 *                        the overview and a 30-day chart p50/p99, the bundle, the time to a filled
 *                        overview in Chromium, the agent's extra RSS with 20 dashboards open
 *                        (dashboard.ts; --dashboard-machines N and --dashboard-days D for a quick
 *                        run, --keep DIR to reuse the seeded store)
 *   --report             a month's material-efficiency report of 50 machines in every format (report.ts;
 *                        --machines N, --days D, --runs R)
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startBroker, mosquittoBinary, mosquittoVersion, type BenchBroker } from './broker.js';
import { DEFAULT_COUNT, DEFAULT_RATE, MACHINES, median, qosArg, totalsMatch, type ConsumerResult, type LoadResult, type MicroResult, type ReadyMessage } from './common.js';
import { CHILD_ENTRIES, compileTree } from './compile.js';
import { defaultSpanS, estimateS, nodeOpcuaVersion, opcuaSection, runOpcuaMatrix, type OpcuaOptions, type OpcuaRecord } from './opcua-case.js';
import { formatProfile, summarizeProfile, type ProfileSummary } from './profile.js';
import { account, snapshot } from './sysstat.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(HERE, '../..');
const CPU_BAR = 1.3;
const RSS_BAR = 1.2;
/** A consumer "keeps up" when it receives at least this share of the target rate. */
const KEEP_UP = 0.97;
const READY_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 15_000;

type ConsumerKind = 'bare' | 'yieldwatch';

// The store-and-forward and alert-latency benchmarks are their own scripts (they need InfluxDB and
// an agent process of their own, not the MQTT load generator): `npm run bench -- --store-forward
// [--days 7 --machines 100]`, `npm run bench -- --alert-latency [--runs 20]`, `npm run bench --
// --rollup [--machines 200 --days 400]` and `npm run bench -- --dashboard [--dashboard-machines 200
// --dashboard-days 30]` hand over to them.
for (const [flag, script] of [
  ['--store-forward', 'store-forward.ts'],
  ['--alert-latency', 'alert-latency.ts'],
  ['--rollup', 'rollup.ts'],
  ['--dashboard', 'dashboard.ts'],
  ['--report', 'report.ts'],
  ['--disk-writes', 'disk-writes.ts'],
] as const) {
  if (!process.argv.includes(flag)) continue;
  const args = process.argv.slice(2).filter((a) => a !== flag);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(HERE, script), ...args], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const { values: flags } = parseArgs({
  options: {
    rate: { type: 'string' },
    count: { type: 'string' },
    runs: { type: 'string' },
    'max-queued': { type: 'string' },
    qos: { type: 'string' },
    consumers: { type: 'string' },
    broker: { type: 'string' },
    'no-micro': { type: 'boolean', default: false },
    'micro-only': { type: 'boolean', default: false },
    profile: { type: 'boolean', default: false },
    'profile-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
    tsx: { type: 'boolean', default: false },
    'quiet-wait': { type: 'string' },
    'compiled-dir': { type: 'string' },
    opcua: { type: 'boolean', default: false },
    'no-opcua': { type: 'boolean', default: false },
    'opcua-items': { type: 'string' },
    'opcua-sampling': { type: 'string' },
    'opcua-span': { type: 'string' },
    'opcua-warmup': { type: 'string' },
    'opcua-runs': { type: 'string' },
  },
});

function intOption(flag: string | undefined, env: string | undefined, def: number, what: string): number {
  const raw = flag ?? env;
  if (raw === undefined || raw === '') return def;
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`bench: ${what} must be a positive whole number, got "${raw}".`);
    process.exit(1);
  }
  return n;
}

const rate = intOption(flags.rate, process.env.BENCH_RATE, DEFAULT_RATE, '--rate (BENCH_RATE)');
const count = intOption(flags.count, process.env.BENCH_COUNT, DEFAULT_COUNT, '--count (BENCH_COUNT)');
const runs = intOption(flags.runs, process.env.BENCH_RUNS, 3, '--runs (BENCH_RUNS)');
const quietWaitS = flags['quiet-wait'] === undefined ? 300 : Number(flags['quiet-wait']);
const maxQueued = flags['max-queued'] === undefined ? 1000 : Number(flags['max-queued']);
let qos: 0 | 1;
try {
  qos = qosArg(flags.qos ?? process.env.BENCH_QOS);
} catch (err) {
  console.error(`bench: ${(err as Error).message}`);
  process.exit(1);
}
const consumers = (flags.consumers ?? 'bare,yieldwatch').split(',').map((s) => s.trim()) as ConsumerKind[];
const brokerFlag = (flags.broker ?? process.env.BENCH_BROKER ?? 'mosquitto') as BrokerMode | 'both';
if (!['mosquitto', 'direct', 'both'].includes(brokerFlag)) {
  console.error(`bench: --broker takes mosquitto, direct or both, got "${brokerFlag}".`);
  process.exit(1);
}
if (consumers.some((c) => c !== 'bare' && c !== 'yieldwatch')) {
  console.error(`bench: --consumers takes bare and/or yieldwatch, got "${flags.consumers}".`);
  process.exit(1);
}

/** A comma-separated list of positive numbers; `unit` parses one entry or returns undefined. */
function listOption(raw: string, what: string, unit: (s: string) => number | undefined): number[] {
  const out = raw.split(',').map((s) => unit(s.trim().replace(/_/g, '')));
  if (out.length === 0 || out.some((n) => n === undefined || !(n > 0))) {
    console.error(`bench: ${what} takes a comma-separated list, got "${raw}".`);
    process.exit(1);
  }
  return out as number[];
}
const wholeNumber = (s: string): number | undefined => (/^\d+$/.test(s) ? Number(s) : undefined);
/** `100ms`, `1s`, `0.5s` or plain milliseconds. */
const millis = (s: string): number | undefined => {
  const m = /^(\d+(?:\.\d+)?)(ms|s)?$/.exec(s);
  return m === null ? undefined : Number(m[1]) * (m[2] === 's' ? 1000 : 1);
};
const opcuaOnly = flags.opcua;
if (opcuaOnly && flags['no-opcua']) {
  console.error('bench: --opcua and --no-opcua exclude each other.');
  process.exit(1);
}
const runOpcua = opcuaOnly || (!flags['no-opcua'] && !flags['micro-only']);
const runMqtt = !opcuaOnly;
const opcuaOpts: OpcuaOptions = {
  items: listOption(flags['opcua-items'] ?? '100,1000,5000', '--opcua-items', wholeNumber),
  samplingMs: listOption(flags['opcua-sampling'] ?? '100ms,1s', '--opcua-sampling', millis),
  spanS: flags['opcua-span'] === undefined ? undefined : Number(flags['opcua-span']),
  warmupS: flags['opcua-warmup'] === undefined ? 5 : Number(flags['opcua-warmup']),
  runs: intOption(flags['opcua-runs'], undefined, 1, '--opcua-runs'),
};
if (!(opcuaOpts.warmupS >= 0) || (opcuaOpts.spanS !== undefined && !(opcuaOpts.spanS > 0))) {
  console.error('bench: --opcua-span and --opcua-warmup take seconds.');
  process.exit(1);
}

/** Progress goes to stderr, results to stdout. */
const say = (s: string): void => void process.stderr.write(`${s}\n`);
const fmtInt = (n: number): string => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number): number => bytes / 2 ** 20;

// ---- children, killed by PID on exit or interrupt ----

const live = new Set<ChildProcess>();
const brokers = new Set<BenchBroker>();
const tempDirs = new Set<string>();

/** Where the compiled children are (undefined: run the TypeScript sources under tsx). */
let compiledDir: string | undefined;

/** A child's stdout goes to our stderr: stdout carries only the results (node-opcua prints its warnings to stdout, which would break --json). */
const CHILD_STDIO: ['ignore', number, 'inherit', 'ipc'] = ['ignore', 2, 'inherit', 'ipc'];

function spawnChild(file: string, args: string[]): ChildProcess {
  const child =
    compiledDir === undefined
      ? fork(join(HERE, file), args, { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: CHILD_STDIO })
      : fork(join(compiledDir, 'test/bench', file.replace(/\.ts$/, '.js')), args, { cwd: ROOT, execArgv: [], stdio: CHILD_STDIO });
  live.add(child);
  child.once('exit', () => live.delete(child));
  // An IPC send racing the child's exit must not crash the runner.
  child.on('error', (err) => say(`bench: ${file}: ${err.message}`));
  return child;
}

function killChild(child: ChildProcess): void {
  if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

async function cleanupAll(): Promise<void> {
  for (const c of live) killChild(c);
  await Promise.allSettled([...brokers].map((b) => b.stop()));
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}

process.once('uncaughtException', (err) => {
  console.error(`bench: crashed: ${err.stack ?? err.message}`);
  void cleanupAll().finally(() => process.exit(1));
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    say(`\nbench: ${sig}, stopping the children and the broker.`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

/** The first IPC message of `type` from `child`; rejects when the child exits first or time runs out. */
function expectMessage<T extends { type: string }>(child: ChildProcess, type: T['type'], timeoutMs: number, what: string): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const onMessage = (m: unknown): void => {
      if ((m as { type?: unknown } | null)?.type !== type) return;
      done();
      resolvePromise(m as T);
    };
    const onExit = (code: number | null, sig: NodeJS.Signals | null): void => {
      done();
      reject(new Error(`${what} exited (${sig ?? `code ${String(code)}`}) before reporting "${type}".`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what} did not report "${type}" within ${Math.round(timeoutMs / 1000)} s.`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function waitExit(child: ChildProcess, what: string): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const timer = setTimeout(() => {
    say(`bench: ${what} (PID ${child.pid}) did not exit within ${EXIT_TIMEOUT_MS / 1000} s; killing it.`);
    killChild(child);
  }, EXIT_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

// ---- the machine ----

interface MachineInfo {
  cpuModel: string;
  cores: number;
  cgroupCpuMax: string | undefined;
  memoryGiB: number;
  node: string;
  mosquitto: string;
  nodeOpcua: string;
  os: string;
  date: string;
}

function machineInfo(mosquitto: string): MachineInfo {
  const cpus = os.cpus();
  let cgroupCpuMax: string | undefined;
  try {
    cgroupCpuMax = readFileSync('/sys/fs/cgroup/cpu.max', 'utf8').trim();
  } catch {
    cgroupCpuMax = undefined;
  }
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    cgroupCpuMax,
    memoryGiB: os.totalmem() / 2 ** 30,
    node: process.version,
    mosquitto,
    nodeOpcua: nodeOpcuaVersion(ROOT),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    date: new Date().toISOString(),
  };
}

// ---- microbench ----

const MICRO_VARIANTS = ['json-parse', 'bare', 'yieldwatch-map', 'yieldwatch'] as const;

/** Rounds of the microbench: the variants run interleaved, so a noisy moment hits all of them. */
const MICRO_ROUNDS = 3;

async function microbench(): Promise<MicroResult[]> {
  const byVariant = new Map<string, MicroResult[]>();
  for (let round = 1; round <= MICRO_ROUNDS; round++) {
    for (const v of MICRO_VARIANTS) {
      await waitQuiet();
      say(`microbench round ${round}/${MICRO_ROUNDS}: ${v}…`);
      const child = spawnChild('microbench.ts', ['--variant', v]);
      const r = await expectMessage<MicroResult>(child, 'micro', 120_000, `microbench ${v}`);
      await waitExit(child, `microbench ${v}`);
      byVariant.set(v, [...(byVariant.get(v) ?? []), r]);
    }
  }
  // The median over every measured pass of every round.
  return MICRO_VARIANTS.map((v) => {
    const rs = byVariant.get(v)!;
    const passes = rs.flatMap((r) => r.passes);
    return {
      type: 'micro',
      variant: v,
      messages: rs[0]!.messages,
      msgsPerSec: median(passes),
      cpuUsPerMsg: median(rs.flatMap((r) => r.cpuPerPass)),
      passes,
      cpuPerPass: rs.flatMap((r) => r.cpuPerPass),
    };
  });
}

/** Waits until processes other than ours use less than `QUIET_CORES`, or `quietWaitS` has passed. */
const QUIET_CORES = 0.15;
async function waitQuiet(): Promise<void> {
  if (!(quietWaitS > 0)) return;
  const deadline = performance.now() + quietWaitS * 1000;
  let told = false;
  for (;;) {
    const s0 = snapshot(process.pid);
    await new Promise((r) => setTimeout(r, 2000));
    const other = account(s0, snapshot(process.pid)).otherCores;
    if (other === undefined || other < QUIET_CORES) return;
    if (performance.now() > deadline) {
      say(`  other processes still use ${other.toFixed(2)} cores after ${quietWaitS} s; measuring anyway (see "other cores").`);
      return;
    }
    if (!told) say(`  waiting for other processes to go quiet (${other.toFixed(2)} cores busy; up to ${quietWaitS} s, --quiet-wait)…`);
    told = true;
  }
}

// ---- one measured run ----

interface RunRecord {
  consumer: ConsumerKind;
  broker: BrokerMode;
  run: number;
  profiled: boolean;
  sent: number;
  received: number;
  lost: number;
  rejected: number;
  /** Messages per second the consumer received, first to last message. */
  achieved: number;
  cpuUsPerMsg: number;
  userShare: number;
  maxRssMB: number;
  rssAtReadyMB: number;
  heapUsedMB: number;
  /** GC pauses on the main thread per message, µs. */
  gcUsPerMsg: number;
  wallMs: number;
  conservation: 'ok' | 'MISMATCH' | 'n/a (loss)';
  publisher: { achieved: number; maxLagMs: number; backpressureWaits: number; windowWaits: number; cpuUsPerMsg: number };
  /** Broker CPU per message while the load ran (Linux only). */
  brokerUsPerMsg: number | undefined;
  /** Cores other processes used while the load ran, and cores in interrupts (Linux only). */
  otherCores: number | undefined;
  irqCores: number | undefined;
  brokerLog: string;
  notes: Record<string, number | string>;
  profile?: string | undefined;
}

type BrokerMode = 'mosquitto' | 'direct';

async function runOnce(kind: ConsumerKind, mode: BrokerMode, run: number, profileFile: string | undefined, bin: string | undefined): Promise<RunRecord> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'yw-bench-data-'));
  tempDirs.add(dataDir);
  const children: ChildProcess[] = [];
  let broker: BenchBroker | undefined;
  try {
    const loadArgs = ['--rate', String(rate), '--count', String(count), '--qos', String(qos)];
    let url: string;
    let load: ChildProcess | undefined;
    if (mode === 'mosquitto') {
      broker = await startBroker(bin!, maxQueued);
      brokers.add(broker);
      url = broker.url;
    } else {
      load = spawnChild('load.ts', ['--serve', ...loadArgs]);
      children.push(load);
      const { port } = await expectMessage<{ type: 'listening'; port: number }>(load, 'listening', READY_TIMEOUT_MS, 'the load generator');
      url = `mqtt://127.0.0.1:${port}`;
    }
    const args = ['--url', url, '--expected', String(count), '--qos', String(qos)];
    if (kind === 'yieldwatch') args.push('--data-dir', dataDir);
    if (profileFile !== undefined) args.push('--profile', profileFile);
    const consumer = spawnChild(`consumer-${kind}.ts`, args);
    children.push(consumer);
    const resultP = expectMessage<ConsumerResult>(consumer, 'result', READY_TIMEOUT_MS + (count / rate) * 4000 + 60_000, `the ${kind} consumer`);
    resultP.catch(() => undefined);
    await expectMessage<ReadyMessage>(consumer, 'ready', READY_TIMEOUT_MS, `the ${kind} consumer`);

    const cpuStart = snapshot(process.pid);
    if (load === undefined) {
      load = spawnChild('load.ts', ['--port', String(broker!.port), ...loadArgs]);
      children.push(load);
    }
    const loadP = expectMessage<LoadResult>(load, 'load', (count / rate) * 3000 + 30_000, 'the load generator');
    if (mode === 'direct') load.send({ type: 'start' });
    const loadRes = await loadP;
    // While every process of ours is still alive: who used the CPU during the load.
    const cpuUse = account(cpuStart, snapshot(process.pid));
    const brokerUs = broker === undefined ? undefined : cpuUse.ours.get(broker.pid);
    if (mode === 'mosquitto') await waitExit(load, 'the load generator');
    // A consumer that got every message has reported and closed its channel already.
    if (consumer.connected) consumer.send({ type: 'drain' }, () => undefined);
    const res = await resultP;
    await waitExit(consumer, `the ${kind} consumer`);
    if (mode === 'direct') {
      if (load.connected) load.send({ type: 'stop' }, () => undefined);
      await waitExit(load, 'the load generator');
    }

    const cpu = res.cpuUserUs + res.cpuSystemUs;
    const lost = loadRes.sent - res.received;
    return {
      consumer: kind,
      broker: mode,
      run,
      profiled: profileFile !== undefined,
      sent: loadRes.sent,
      received: res.received,
      lost,
      rejected: res.rejected,
      achieved: res.wallMs > 0 ? res.received / (res.wallMs / 1000) : 0,
      cpuUsPerMsg: res.received > 0 ? cpu / res.received : NaN,
      userShare: cpu > 0 ? res.cpuUserUs / cpu : NaN,
      maxRssMB: mb(res.maxRss),
      rssAtReadyMB: mb(res.rssAtReady),
      heapUsedMB: mb(res.heapUsed),
      gcUsPerMsg: res.received > 0 ? (res.gcMs * 1000) / res.received : NaN,
      wallMs: res.wallMs,
      conservation: lost !== 0 ? 'n/a (loss)' : totalsMatch(res.totals, loadRes.totals) ? 'ok' : 'MISMATCH',
      publisher: {
        achieved: loadRes.wallMs > 0 ? loadRes.sent / (loadRes.wallMs / 1000) : 0,
        maxLagMs: loadRes.maxLagMs,
        backpressureWaits: loadRes.backpressureWaits,
        windowWaits: loadRes.windowWaits,
        cpuUsPerMsg: loadRes.cpuUs / Math.max(1, loadRes.sent),
      },
      brokerUsPerMsg: brokerUs === undefined ? undefined : brokerUs / Math.max(1, loadRes.sent),
      otherCores: cpuUse.otherCores,
      irqCores: cpuUse.irqCores,
      brokerLog: broker?.log() ?? '',
      notes: res.notes,
      profile: res.profile,
    };
  } finally {
    for (const c of children) killChild(c);
    if (broker !== undefined) {
      await broker.stop();
      brokers.delete(broker);
    }
    rmSync(dataDir, { recursive: true, force: true });
    tempDirs.delete(dataDir);
  }
}

// ---- summary ----

interface ConsumerSummary {
  consumer: ConsumerKind;
  broker: BrokerMode;
  runs: number;
  target: number;
  achieved: number;
  lost: number;
  maxLost: number;
  cpuUsPerMsg: number;
  /** Lowest and highest over the runs, to show the noise behind the median. */
  cpuRange: [number, number];
  maxRssMB: number;
  rssRange: [number, number];
  rssAtReadyMB: number;
  conservation: string;
}

function summarize(kind: ConsumerKind, mode: BrokerMode, records: RunRecord[]): ConsumerSummary | undefined {
  const rs = records.filter((r) => r.consumer === kind && r.broker === mode && !r.profiled);
  if (rs.length === 0) return undefined;
  const checks = [...new Set(rs.map((r) => r.conservation))];
  return {
    consumer: kind,
    broker: mode,
    runs: rs.length,
    target: rate,
    achieved: median(rs.map((r) => r.achieved)),
    lost: median(rs.map((r) => r.lost)),
    maxLost: Math.max(...rs.map((r) => r.lost)),
    cpuUsPerMsg: median(rs.map((r) => r.cpuUsPerMsg)),
    cpuRange: [Math.min(...rs.map((r) => r.cpuUsPerMsg)), Math.max(...rs.map((r) => r.cpuUsPerMsg))],
    maxRssMB: median(rs.map((r) => r.maxRssMB)),
    rssRange: [Math.min(...rs.map((r) => r.maxRssMB)), Math.max(...rs.map((r) => r.maxRssMB))],
    rssAtReadyMB: median(rs.map((r) => r.rssAtReadyMB)),
    conservation: checks.includes('MISMATCH') ? 'MISMATCH' : checks.join(', '),
  };
}

interface Bar {
  broker: BrokerMode;
  name: string;
  rule: string;
  value: string;
  pass: boolean;
}

function bars(mode: BrokerMode, bare: ConsumerSummary | undefined, yw: ConsumerSummary | undefined): Bar[] {
  if (yw === undefined) return [];
  const out: Bar[] = [
    {
      broker: mode,
      name: 'throughput',
      rule: `yieldwatch receives >= ${KEEP_UP * 100} % of ${fmtInt(rate)} msg/s from ${MACHINES.length} machines, none lost`,
      value: `${fmtInt(yw.achieved)} msg/s, ${fmtInt(yw.maxLost)} lost`,
      pass: yw.achieved >= KEEP_UP * rate && yw.maxLost === 0,
    },
  ];
  if (bare !== undefined) {
    const cpu = yw.cpuUsPerMsg / bare.cpuUsPerMsg;
    const rss = yw.maxRssMB / bare.maxRssMB;
    out.push(
      { broker: mode, name: 'CPU', rule: `yieldwatch / bare CPU per message <= ${CPU_BAR}`, value: cpu.toFixed(2), pass: cpu <= CPU_BAR },
      { broker: mode, name: 'memory', rule: `yieldwatch / bare peak RSS <= ${RSS_BAR}`, value: rss.toFixed(2), pass: rss <= RSS_BAR },
    );
  }
  return out;
}

function table(rows: string[][], align: ('l' | 'r')[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (align[i] === 'l' ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd()).join('\n');
}

const MODE_TITLE: Record<BrokerMode, string> = {
  mosquitto: 'through Mosquitto (load generator -> mosquitto -> consumer)',
  direct: 'direct (load generator is a stub broker writing straight to the consumer; no Mosquitto)',
};

function modeSection(mode: BrokerMode, records: RunRecord[], sums: ConsumerSummary[]): string[] {
  const lines: string[] = [];
  const bare = sums.find((s) => s.consumer === 'bare');
  lines.push(
    '',
    `${MODE_TITLE[mode]}: ${MACHINES.length} machines, ${fmtInt(count)} messages per run at QoS ${qos}${qos === 1 ? ' (bare acknowledges at once, yieldwatch after each commit)' : ''}, target ${fmtInt(rate)} msg/s ` +
      `(${(count / rate).toFixed(0)} s), median of ${sums[0]!.runs} run(s) per consumer${mode === 'mosquitto' ? `; max_queued_messages ${maxQueued}` : ''}`,
  );
  lines.push(
    table(
      [
        ['consumer', 'target msg/s', 'received msg/s', 'lost', 'CPU µs/msg', '(min-max)', 'ratio', 'peak RSS MB', '(min-max)', 'ratio', 'RSS at ready MB', 'conservation'],
        ...sums.map((s) => [
          s.consumer,
          fmtInt(s.target),
          fmtInt(s.achieved),
          fmtInt(s.lost),
          s.cpuUsPerMsg.toFixed(2),
          `(${s.cpuRange[0].toFixed(2)}-${s.cpuRange[1].toFixed(2)})`,
          s.consumer === 'bare' || bare === undefined ? '-' : (s.cpuUsPerMsg / bare.cpuUsPerMsg).toFixed(2),
          s.maxRssMB.toFixed(1),
          `(${s.rssRange[0].toFixed(0)}-${s.rssRange[1].toFixed(0)})`,
          s.consumer === 'bare' || bare === undefined ? '-' : (s.maxRssMB / bare.maxRssMB).toFixed(2),
          s.rssAtReadyMB.toFixed(1),
          s.conservation,
        ]),
      ],
      ['l', 'r', 'r', 'r', 'r', 'l', 'r', 'r', 'l', 'r', 'r', 'l'],
    ),
  );
  const rs = records.filter((r) => r.broker === mode);
  lines.push('runs:');
  lines.push(
    table(
      [
        ['consumer', 'run', 'received msg/s', 'lost', 'CPU µs/msg', 'user %', 'GC µs/msg', 'peak RSS MB', 'heap MB', 'publisher msg/s', 'pub lag ms', 'pub µs/msg', 'broker µs/msg', 'other cores', 'notes'],
        ...rs.map((r) => [
          r.consumer,
          r.profiled ? `${r.run} (profiled)` : String(r.run),
          fmtInt(r.achieved),
          fmtInt(r.lost),
          r.cpuUsPerMsg.toFixed(2),
          (r.userShare * 100).toFixed(0),
          r.gcUsPerMsg.toFixed(2),
          r.maxRssMB.toFixed(1),
          r.heapUsedMB.toFixed(1),
          fmtInt(r.publisher.achieved),
          r.publisher.maxLagMs.toFixed(0),
          r.publisher.cpuUsPerMsg.toFixed(2),
          r.brokerUsPerMsg === undefined ? '-' : r.brokerUsPerMsg.toFixed(2),
          r.otherCores === undefined ? '?' : r.otherCores.toFixed(2),
          [
            ...Object.entries(r.notes)
              .filter(([k]) => ['windowsEmittedDuringSpan', 'commitsDuringSpan', 'commitsPerSec', 'storageKiBPerSec', 'checkpointBytes', 'lastCommitMs', 'redelivered'].includes(k))
              .map(([k, v]) => `${k}=${v}`),
            // The subscriber's Receive Maximum held the stub broker back (it acknowledged too late).
            ...(r.publisher.windowWaits > 0 ? [`receiveMaximumWaits=${r.publisher.windowWaits}`] : []),
          ].join(' '),
        ]),
      ],
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
    ),
  );
  const measured = rs.filter((r) => !r.profiled);
  const busy = measured.filter((r) => (r.otherCores ?? 0) > 0.1);
  if (busy.length > 0) {
    lines.push(
      `WARNING: other processes used up to ${Math.max(...busy.map((r) => r.otherCores ?? 0)).toFixed(2)} cores during ${busy.length} run(s) ("other cores"); ` +
        'the machine was not quiet and those runs are skewed. Re-run when nothing else is running.',
    );
  }
  const slow = measured.filter((r) => r.publisher.achieved < KEEP_UP * rate);
  if (slow.length > 0) {
    const brokerUs = median(slow.map((r) => r.brokerUsPerMsg ?? NaN).filter((x) => Number.isFinite(x)));
    const pubRate = median(slow.map((r) => r.publisher.achieved));
    if (mode === 'mosquitto' && Number.isFinite(brokerUs) && (brokerUs * pubRate) / 1e6 > 0.8) {
      lines.push(
        `NOTE: Mosquitto is the bottleneck: it spent ${brokerUs.toFixed(1)} µs of CPU per message, so its one thread tops out near ` +
          `${fmtInt(1e6 / brokerUs)} msg/s on this machine and the publisher was held to ${fmtInt(pubRate)} msg/s. No consumer can receive ` +
          `${fmtInt(rate)} msg/s through it here; CPU per message and memory are still compared on identical load. ` +
          'Run with --broker direct to measure the consumers at the target rate without the broker.',
      );
    } else {
      lines.push(`WARNING: the load generator fell below ${KEEP_UP * 100} % of the target rate in ${slow.length} run(s): the consumer (or the machine) could not take the load.`);
    }
  }
  for (const r of rs) if (r.brokerLog !== '') lines.push(`broker log (${r.consumer} run ${r.run}): ${r.brokerLog}`);
  return lines;
}

function report(
  m: MachineInfo,
  micro: MicroResult[],
  records: RunRecord[],
  sums: ConsumerSummary[],
  bs: Bar[],
  profiles: Record<string, ProfileSummary>,
  opcua: OpcuaRecord[],
): string {
  const lines: string[] = [];
  lines.push(
    `yieldwatch bench, ${m.date}`,
    `machine: ${m.cpuModel}, ${m.cores} cores${m.cgroupCpuMax && m.cgroupCpuMax !== 'max 100000' ? ` (cgroup cpu.max ${m.cgroupCpuMax})` : ''}, ${m.memoryGiB.toFixed(1)} GiB RAM, ${m.os}, Node ${m.node}, ${m.mosquitto}, node-opcua ${m.nodeOpcua}`,
    `children run as: ${runtimeLabel()}`,
  );
  if (micro.length > 0) {
    const base = micro.find((r) => r.variant === 'bare');
    lines.push('', `hot path on one core, no broker (${fmtInt(micro[0]!.messages)} messages per pass, median of ${micro[0]!.passes.length} passes in ${MICRO_ROUNDS} interleaved rounds):`);
    lines.push(
      table(
        [
          ['variant', 'msgs/s', 'CPU µs/msg', 'vs bare'],
          ...micro.map((r) => [r.variant, fmtInt(r.msgsPerSec), r.cpuUsPerMsg.toFixed(3), base ? (r.cpuUsPerMsg / base.cpuUsPerMsg).toFixed(2) : '']),
        ],
        ['l', 'r', 'r', 'r'],
      ),
    );
  }
  for (const mode of ['mosquitto', 'direct'] as const) {
    const ms = sums.filter((s) => s.broker === mode);
    if (ms.length > 0) lines.push(...modeSection(mode, records, ms));
  }
  if (bs.length > 0) {
    lines.push('', 'bars:');
    for (const b of bs) lines.push(`  ${b.pass ? 'PASS' : 'FAIL'}  ${b.broker.padEnd(9)} ${b.name.padEnd(10)} ${b.rule}: ${b.value}${b.pass ? '' : '   <<<<<<<<<< FAIL'}`);
    const failed = bs.filter((b) => !b.pass);
    if (failed.length > 0) {
      lines.push('', `*** FAIL: yieldwatch misses ${failed.map((b) => `${b.name} (${b.broker})`).join(', ')}; test/bench/README.md says how to profile ***`);
    }
  }
  if (opcua.length > 0) lines.push(...opcuaSection(opcua, opcuaOpts));
  for (const [title, p] of Object.entries(profiles)) lines.push('', formatProfile(p, title));
  return lines.join('\n');
}

// ---- main ----

function runtimeLabel(): string {
  return compiledDir === undefined ? 'TypeScript under tsx (--tsx)' : 'JavaScript compiled by esbuild, plain node (as `npm run build` output runs)';
}

const modes: BrokerMode[] = brokerFlag === 'both' ? ['mosquitto', 'direct'] : [brokerFlag];
const bin = mosquittoBinary();
if (bin === undefined && runMqtt && modes.includes('mosquitto') && !flags['micro-only']) {
  console.error(
    'bench: Mosquitto is not installed (looked on PATH and in /usr/sbin, /usr/local/sbin, /sbin). Install it with `apt-get install mosquitto` ' +
      '(the bench starts its own broker; the service need not run), or run with --broker direct.',
  );
  process.exit(1);
}
const machine = machineInfo(bin === undefined ? 'mosquitto not installed' : mosquittoVersion(bin));
say(`bench: ${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node}, ${machine.mosquitto}, node-opcua ${machine.nodeOpcua}`);

try {
  if (flags['compiled-dir'] !== undefined) {
    compiledDir = resolve(flags['compiled-dir']);
  } else if (!flags.tsx) {
    say('bench: compiling the consumers, the load generator and the agent to JavaScript…');
    const tree = await compileTree(ROOT, CHILD_ENTRIES);
    compiledDir = tree.dir;
    tempDirs.add(tree.dir);
  }
  const micro = flags['no-micro'] || !runMqtt ? [] : await microbench();
  const records: RunRecord[] = [];
  const profiles: Record<string, ProfileSummary> = {};
  if (runMqtt && !flags['micro-only']) {
    for (const mode of modes) {
      for (let run = 1; run <= runs; run++) {
        // Alternate the order, so neither consumer always runs on a warmer (or more tired) machine.
        const order = run % 2 === 1 ? consumers : [...consumers].reverse();
        for (const kind of order) {
          say(`${mode} run ${run}/${runs}: ${kind}, ${fmtInt(count)} messages at ${fmtInt(rate)} msg/s…`);
          await waitQuiet();
          const r = await runOnce(kind, mode, run, undefined, bin);
          records.push(r);
          say(
            `  ${fmtInt(r.achieved)} msg/s received, ${fmtInt(r.lost)} lost, ${r.cpuUsPerMsg.toFixed(2)} µs CPU/msg, peak RSS ${r.maxRssMB.toFixed(1)} MB, ` +
              `conservation ${r.conservation}, other processes ${r.otherCores?.toFixed(2) ?? '?'} cores`,
          );
        }
      }
    }
    if (flags.profile) {
      const keep = flags['profile-dir'];
      const dir = keep !== undefined ? resolve(keep) : mkdtempSync(join(os.tmpdir(), 'yw-bench-profiles-'));
      if (keep !== undefined) mkdirSync(dir, { recursive: true });
      else tempDirs.add(dir);
      const mode = modes[modes.length - 1]!;
      for (const kind of consumers) {
        say(`profiled run (${mode}): ${kind}…`);
        const file = join(dir, `${kind}-${mode}-${Date.now()}.cpuprofile`);
        const r = await runOnce(kind, mode, runs + 1, file, bin);
        records.push(r);
        if (r.profile !== undefined) {
          profiles[`CPU profile of the ${kind} consumer, ${mode} (first to last message; profiler on, so not a measured run)`] = summarizeProfile(r.profile, 25);
        }
      }
      if (keep === undefined) {
        rmSync(dir, { recursive: true, force: true });
        tempDirs.delete(dir);
      } else say(`profiles kept in ${dir} (open them in Chrome DevTools > Performance, or summarise with test/bench/profile.ts)`);
    }
  }
  let opcua: OpcuaRecord[] = [];
  if (runOpcua) {
    say(`bench: OPC UA case, ${opcuaOpts.items.length * opcuaOpts.samplingMs.length} combinations × ${opcuaOpts.runs} run(s), about ${Math.ceil(estimateS(opcuaOpts) / 60)} min…`);
    opcua = await runOpcuaMatrix({ spawnChild, expectMessage, waitExit, killChild, waitQuiet, say, tempDirs }, opcuaOpts);
  }
  const sums: ConsumerSummary[] = [];
  const bs: Bar[] = [];
  for (const mode of modes) {
    const ms = consumers.map((c) => summarize(c, mode, records)).filter((s): s is ConsumerSummary => s !== undefined);
    sums.push(...ms);
    bs.push(...bars(mode, ms.find((s) => s.consumer === 'bare'), ms.find((s) => s.consumer === 'yieldwatch')));
  }
  if (flags.json) {
    console.log(
      JSON.stringify(
        {
          machine,
          params: { rate, count, runs, qos, machines: MACHINES.length, brokers: runMqtt ? modes : [], maxQueuedMessages: maxQueued, runtime: runtimeLabel() },
          micro,
          summary: sums,
          bars: bs,
          runs: records,
          profiles,
          opcua: runOpcua
            ? { params: { ...opcuaOpts, spanS: opcuaOpts.samplingMs.map((ms) => opcuaOpts.spanS ?? defaultSpanS(ms)) }, runs: opcua }
            : undefined,
        },
        null,
        2,
      ),
    );
  } else {
    console.log(report(machine, micro, records, sums, bs, profiles, opcua));
  }
  if (opcua.some((r) => r.error !== undefined)) {
    console.error('bench: some OPC UA cases could not run (see FAILED above).');
    await cleanupAll();
    process.exit(1);
  }
} catch (err) {
  console.error(`bench: could not complete: ${(err as Error).message}`);
  await cleanupAll();
  process.exit(1);
}
await cleanupAll();
