/**
 * The OPC UA case of `npm run bench` (the runner's side): for each number of monitored items and
 * each sampling interval, a simulator child (opcua-sim.ts) and an agent child (consumer-opcua.ts),
 * a warm-up, then a measured span. Reports values/s delivered to the pipeline, CPU seconds per
 * 100,000 values and the peak RSS of the agent process. README.md in this folder explains the numbers.
 *
 * It loads nothing of the agent or of node-opcua: both live in the children.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { silentCheckMs, type OpcuaReady, type OpcuaResult, type OpcuaSimListening, type OpcuaSimMark, type OpcuaWarm } from './opcua-common.js';
import { account, snapshot } from './sysstat.js';

/** What the runner lends this module: its child handling, so every process is killed by PID on exit or Ctrl-C. */
export interface ChildOps {
  spawnChild(file: string, args: string[]): ChildProcess;
  expectMessage<T extends { type: string }>(child: ChildProcess, type: T['type'], timeoutMs: number, what: string): Promise<T>;
  waitExit(child: ChildProcess, what: string): Promise<void>;
  killChild(child: ChildProcess): void;
  waitQuiet(): Promise<void>;
  say(s: string): void;
  tempDirs: Set<string>;
}

export interface OpcuaOptions {
  items: number[];
  samplingMs: number[];
  /** Fixed span in seconds for every case; undefined: `defaultSpanS(sampling)`. */
  spanS: number | undefined;
  /** Least warm-up after the subscription, seconds (the warm-up also lasts until every item delivered). */
  warmupS: number;
  runs: number;
}

/** 20 s, or 30 sampling intervals when that is longer (30 s at 1 s): enough values per item that one late publish is < 4 %. */
export function defaultSpanS(samplingMs: number): number {
  return Math.max(20, (30 * samplingMs) / 1000);
}

const START_TIMEOUT_MS = 120_000;
const WARMUP_TIMEOUT_S = 120;
/**
 * Delivered ÷ expected outside this band is flagged: the simulator or the agent fell behind. Not
 * tighter, because at 100 ms the simulator's update timer and the server's sampling timer run at
 * the same period in one event loop: when jitter puts two updates into one sampling period the
 * server samples only the second, which costs 1–3 % (cumulative counters lose nothing by it).
 */
const RATIO_BAND: [number, number] = [0.95, 1.05];

export interface OpcuaRecord {
  items: number;
  samplingMs: number;
  run: number;
  machines: number;
  /** Set when the case could not run; the numbers below are then absent. */
  error?: string;
  spanS?: number;
  /** Changes of the monitored variables the simulator made per second: what the server had to offer. */
  producedPerS?: number;
  /** items ÷ sampling interval: one value per item per sampling. */
  expectedPerS?: number;
  /** Values the source handed to the pipeline per second (`counters().values`). */
  deliveredPerS?: number;
  /** delivered ÷ expected. */
  ratio?: number;
  /** Items that delivered nothing in the seconds after the span (`silentCheckMs`): stopped subscriptions. */
  silentItems?: number;
  /** User + system CPU of the agent process over the span per 100,000 delivered values, seconds. */
  cpuSPer100k?: number;
  /** CPU of the agent process over the span ÷ wall time: cores it kept busy. */
  agentCores?: number;
  userShare?: number;
  peakRssMB?: number;
  rssWarmMB?: number;
  rssReadyMB?: number;
  heapMB?: number;
  gcShare?: number;
  loopDelayP99Ms?: number;
  loopDelayMaxMs?: number;
  simCores?: number;
  simUpdatesPerS?: number;
  simUpdateMsMean?: number;
  simUpdateMsMax?: number;
  otherCores?: number | undefined;
  startS?: number;
  warmupS?: number;
  acceptedShare?: number;
  rejected?: number;
  reconnects?: number;
  nodeErrors?: number;
  sinkErrors?: number;
  windowsEmitted?: number;
  commits?: number;
  health?: string;
}

/** node-opcua's version as installed, for the machine line. */
export function nodeOpcuaVersion(root: string): string {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules/node-opcua/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'not installed';
  }
}

const mb = (bytes: number): number => bytes / 2 ** 20;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function fmtSampling(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

async function runCase(ops: ChildOps, items: number, samplingMs: number, run: number, opts: OpcuaOptions): Promise<OpcuaRecord> {
  const spanMs = (opts.spanS ?? defaultSpanS(samplingMs)) * 1000;
  const dataDir = mkdtempSync(join(os.tmpdir(), 'yw-bench-opcua-'));
  ops.tempDirs.add(dataDir);
  const children: ChildProcess[] = [];
  const record: OpcuaRecord = { items, samplingMs, run, machines: 0 };
  try {
    const sim = ops.spawnChild('opcua-sim.ts', ['--items', String(items), '--interval', String(samplingMs), '--pki-dir', join(dataDir, 'simulator-pki')]);
    children.push(sim);
    const listening = await ops.expectMessage<OpcuaSimListening>(sim, 'listening', START_TIMEOUT_MS, 'the OPC UA simulator');
    record.machines = listening.machines;

    const agent = ops.spawnChild('consumer-opcua.ts', [
      '--endpoint', listening.endpointUrl,
      '--items', String(items),
      '--sampling', String(samplingMs),
      '--data-dir', dataDir,
      '--warmup', String(opts.warmupS),
      '--warmup-timeout', String(WARMUP_TIMEOUT_S),
    ]);
    children.push(agent);
    const warmP = ops.expectMessage<OpcuaWarm>(agent, 'warm', START_TIMEOUT_MS + WARMUP_TIMEOUT_S * 1000, 'the OPC UA agent (warm-up)');
    warmP.catch(() => undefined);
    const ready = await ops.expectMessage<OpcuaReady>(agent, 'ready', START_TIMEOUT_MS, 'the OPC UA agent');
    const warm = await warmP;

    const s0 = snapshot(process.pid);
    const simBeginP = ops.expectMessage<OpcuaSimMark>(sim, 'mark', 10_000, 'the OPC UA simulator');
    sim.send({ type: 'mark' });
    agent.send({ type: 'begin' });
    const simBegin = await simBeginP;
    await sleep(spanMs);
    const resultP = ops.expectMessage<OpcuaResult>(agent, 'result', 30_000 + silentCheckMs(samplingMs), 'the OPC UA agent');
    const simEndP = ops.expectMessage<OpcuaSimMark>(sim, 'mark', 10_000, 'the OPC UA simulator');
    agent.send({ type: 'end' });
    sim.send({ type: 'mark' });
    const [res, simEnd] = await Promise.all([resultP, simEndP]);
    const cpuUse = account(s0, snapshot(process.pid));

    await ops.waitExit(agent, 'the OPC UA agent');
    if (sim.connected) sim.send({ type: 'stop' }, () => undefined);
    await ops.waitExit(sim, 'the OPC UA simulator');

    const wallS = res.wallMs / 1000;
    const cpuUs = res.cpuUserUs + res.cpuSystemUs;
    const simWallS = (simEnd.t - simBegin.t) / 1000;
    const simUpdates = simEnd.updates - simBegin.updates;
    const expectedPerS = (items * 1000) / samplingMs;
    const deliveredPerS = res.values / wallS;
    return {
      ...record,
      spanS: wallS,
      producedPerS: (simEnd.changes - simBegin.changes) / simWallS,
      expectedPerS,
      deliveredPerS,
      ratio: deliveredPerS / expectedPerS,
      silentItems: res.silentItems,
      cpuSPer100k: res.values > 0 ? (cpuUs / 1e6 / res.values) * 1e5 : NaN,
      agentCores: cpuUs / 1e6 / wallS,
      userShare: cpuUs > 0 ? res.cpuUserUs / cpuUs : NaN,
      peakRssMB: mb(res.maxRss),
      rssWarmMB: mb(res.rssAtBegin),
      rssReadyMB: mb(ready.rss),
      heapMB: mb(res.heapUsed),
      gcShare: res.gcMs / res.wallMs,
      loopDelayP99Ms: res.loopDelayP99Ms,
      loopDelayMaxMs: res.loopDelayMaxMs,
      simCores: (simEnd.cpuUs - simBegin.cpuUs) / 1e6 / simWallS,
      simUpdatesPerS: simUpdates / simWallS,
      simUpdateMsMean: simUpdates > 0 ? (simEnd.tickMsTotal - simBegin.tickMsTotal) / simUpdates : NaN,
      simUpdateMsMax: simEnd.tickMsMax,
      otherCores: cpuUse.otherCores,
      startS: ready.startMs / 1000,
      warmupS: warm.warmupMs / 1000,
      acceptedShare: res.engineSamples > 0 ? res.engineAccepted / res.engineSamples : NaN,
      rejected: res.rejected,
      reconnects: res.reconnects,
      nodeErrors: res.nodeErrors,
      sinkErrors: res.sinkErrors,
      windowsEmitted: res.windowsEmitted,
      commits: res.commits,
      health: res.health,
    };
  } catch (err) {
    return { ...record, error: (err as Error).message };
  } finally {
    for (const c of children) ops.killChild(c);
    rmSync(dataDir, { recursive: true, force: true });
    ops.tempDirs.delete(dataDir);
  }
}

/** Runs every (items × sampling) case `opts.runs` times; a case that cannot run is recorded with its error and the others go on. */
export async function runOpcuaMatrix(ops: ChildOps, opts: OpcuaOptions): Promise<OpcuaRecord[]> {
  const records: OpcuaRecord[] = [];
  for (let run = 1; run <= opts.runs; run++) {
    for (const items of opts.items) {
      for (const samplingMs of opts.samplingMs) {
        const spanS = opts.spanS ?? defaultSpanS(samplingMs);
        ops.say(`opcua${opts.runs > 1 ? ` run ${run}/${opts.runs}` : ''}: ${items.toLocaleString('en-US')} items at ${fmtSampling(samplingMs)}, ${spanS} s span…`);
        await ops.waitQuiet();
        const r = await runCase(ops, items, samplingMs, run, opts);
        records.push(r);
        if (r.error !== undefined) ops.say(`  FAILED: ${r.error}`);
        else {
          ops.say(
            `  ${fmt(r.deliveredPerS!, 0)} values/s delivered (${fmt(r.ratio!, 3)} of expected, ${fmt(r.producedPerS!, 0)} produced), ` +
              `${fmt(r.cpuSPer100k!, 2)} CPU s per 100k values, peak RSS ${fmt(r.peakRssMB!, 1)} MB, other processes ${r.otherCores?.toFixed(2) ?? '?'} cores`,
          );
        }
      }
    }
  }
  return records;
}

/** Estimated wall time of the matrix, s: span + warm-up + check after the span + about 10 s to start and stop the two children per case. */
export function estimateS(opts: OpcuaOptions): number {
  let s = 0;
  for (const sampling of opts.samplingMs) s += (opts.spanS ?? defaultSpanS(sampling)) + opts.warmupS + silentCheckMs(sampling) / 1000 + 10;
  return s * opts.items.length * opts.runs;
}

function fmt(n: number, digits: number): string {
  if (!Number.isFinite(n)) return '-';
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function table(rows: string[][], align: ('l' | 'r')[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (align[i] === 'l' ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd()).join('\n');
}

/** The OPC UA section of the report. */
export function opcuaSection(records: OpcuaRecord[], opts: OpcuaOptions): string[] {
  const lines: string[] = [];
  const spans = opts.spanS !== undefined ? `${opts.spanS} s` : opts.samplingMs.map((s) => `${defaultSpanS(s)} s at ${fmtSampling(s)}`).join(', ');
  lines.push(
    '',
    `OPC UA (simulator child -> opc.tcp on 127.0.0.1, securityMode None -> agent child with the real opcua source, pipeline and store): ` +
      `4 items per machine, one subscription, measured span ${spans} after a warm-up of at least ${opts.warmupS} s, ${opts.runs} run(s) per case`,
  );
  const ok = records.filter((r) => r.error === undefined);
  lines.push(
    table(
      [
        ['items', 'sampling', 'run', 'machines', 'span s', 'produced values/s', 'expected values/s', 'delivered values/s', 'delivered/expected', 'silent items', 'CPU s/100k values', 'agent cores', 'peak RSS MB', 'RSS warm MB', 'sim cores', 'other cores'],
        ...records.map((r) =>
          r.error !== undefined
            ? [fmt(r.items, 0), fmtSampling(r.samplingMs), String(r.run), fmt(r.machines, 0), 'FAILED', '', '', '', '', '', '', '', '', '', '', '']
            : [
                fmt(r.items, 0),
                fmtSampling(r.samplingMs),
                String(r.run),
                fmt(r.machines, 0),
                fmt(r.spanS!, 1),
                fmt(r.producedPerS!, 0),
                fmt(r.expectedPerS!, 0),
                fmt(r.deliveredPerS!, 0),
                fmt(r.ratio!, 3),
                fmt(r.silentItems!, 0),
                fmt(r.cpuSPer100k!, 2),
                fmt(r.agentCores!, 3),
                fmt(r.peakRssMB!, 1),
                fmt(r.rssWarmMB!, 1),
                fmt(r.simCores!, 3),
                r.otherCores === undefined ? '?' : r.otherCores.toFixed(2),
              ],
        ),
      ],
      ['r', 'r', 'r', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  for (const r of records) if (r.error !== undefined) lines.push(`FAILED: ${fmt(r.items, 0)} items at ${fmtSampling(r.samplingMs)} (run ${r.run}): ${r.error}`);
  if (ok.length > 0) {
    lines.push('details:');
    lines.push(
      table(
        [
          ['items', 'sampling', 'run', 'start s', 'warm-up s', 'user %', 'GC %', 'loop delay p99/max ms', 'RSS ready MB', 'heap MB', 'sim updates/s', 'sim update ms mean/max', 'accepted %', 'rejected', 'reconnects', 'windows', 'commits', 'health'],
          ...ok.map((r) => [
            fmt(r.items, 0),
            fmtSampling(r.samplingMs),
            String(r.run),
            fmt(r.startS!, 1),
            fmt(r.warmupS!, 1),
            fmt(r.userShare! * 100, 0),
            fmt(r.gcShare! * 100, 1),
            `${fmt(r.loopDelayP99Ms!, 0)}/${fmt(r.loopDelayMaxMs!, 0)}`,
            fmt(r.rssReadyMB!, 1),
            fmt(r.heapMB!, 1),
            fmt(r.simUpdatesPerS!, 2),
            `${fmt(r.simUpdateMsMean!, 1)}/${fmt(r.simUpdateMsMax!, 1)}`,
            fmt(r.acceptedShare! * 100, 1),
            fmt(r.rejected! + r.sinkErrors!, 0),
            fmt(r.reconnects!, 0),
            fmt(r.windowsEmitted!, 0),
            fmt(r.commits!, 0),
            r.health!,
          ]),
        ],
        ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
      ),
    );
  }
  const off = ok.filter((r) => r.ratio! < RATIO_BAND[0] || r.ratio! > RATIO_BAND[1]);
  for (const r of off) {
    const case_ = `${fmt(r.items, 0)} items at ${fmtSampling(r.samplingMs)} (run ${r.run})`;
    const produced = r.producedPerS! / r.expectedPerS!;
    const took = r.deliveredPerS! / r.producedPerS!;
    if (produced < RATIO_BAND[0] && took >= RATIO_BAND[0]) {
      lines.push(
        `NOTE: ${case_}: the simulator is the bottleneck: it managed ${fmt(r.simUpdatesPerS! * r.samplingMs / 10, 1)} % of its updates ` +
          `(${fmt(r.simUpdateMsMean!, 1)} ms per update of ${fmt(r.machines, 0)} machines plus sampling ${fmt(r.items, 0)} items every ${fmtSampling(r.samplingMs)}, ` +
          `${fmt(r.simCores!, 2)} cores) and so produced ${fmt(produced * 100, 1)} % of the expected values; the agent took ${fmt(took * 100, 1)} % of what was ` +
          `produced at ${fmt(r.agentCores!, 2)} cores. Values/s and CPU per value are the agent's at the rate the simulator reached.`,
      );
    } else {
      lines.push(
        `WARNING: ${case_}: delivered ${fmt(r.ratio! * 100, 1)} % of the expected values and ${fmt(took * 100, 1)} % of the ${fmt(r.producedPerS!, 0)}/s produced ` +
          `(agent at ${fmt(r.agentCores!, 2)} cores, event loop late by up to ${fmt(r.loopDelayMaxMs!, 0)} ms): the agent or its subscription did not keep up.`,
      );
    }
  }
  const bad = ok.filter((r) => r.silentItems! > 0 || r.reconnects! > 0 || r.nodeErrors! > 0 || r.sinkErrors! > 0 || r.health !== 'ok');
  for (const r of bad) {
    lines.push(
      `WARNING: ${fmt(r.items, 0)} items at ${fmtSampling(r.samplingMs)} (run ${r.run}): ${r.silentItems} items silent after the span, ` +
        `reconnects ${r.reconnects}, refused items ${r.nodeErrors}, sink errors ${r.sinkErrors}, health ${r.health}.`,
    );
  }
  const busy = ok.filter((r) => (r.otherCores ?? 0) > 0.1);
  if (busy.length > 0) {
    lines.push(
      `WARNING: other processes used up to ${Math.max(...busy.map((r) => r.otherCores ?? 0)).toFixed(2)} cores during ${busy.length} OPC UA case(s) ("other cores"); those are skewed.`,
    );
  }
  return lines;
}
