/**
 * Dashboard benchmark (`npm run bench -- --dashboard`, or this file directly under tsx): the
 * dashboard and its API on a full store of a large plant.
 *
 *   1. Seed: a store with N machines (default 200) × D days (default 30) of 1-minute windows and
 *      the hour, site day and shift sums the agent keeps beside them. One day of real windows of
 *      20 template machines comes from the real pipeline on a virtual clock (store-seed.ts, as
 *      the rollup bench makes its sample); every machine's last day is its template's windows
 *      written through the store (`Store.putAggregate`), and the days before are those rows
 *      copied back a day at a time in SQL (the same bytes, times shifted). The sums are the KPI
 *      core's own (`partialOf`, `addPartial`, `encodeSums`) over exactly those windows, written
 *      with `Store.putRollupSums`, as the pipeline keeps them.
 *   2. The agent (dashboard-agent.ts) in a child process, so that its RSS is its own: the real
 *      Agent with its API and dashboard plugin on 127.0.0.1 and a free port, its clock stopped
 *      20 s after the end of the data (so the current window, shift and day so far are real).
 *      It runs as JavaScript compiled by esbuild (as `npm run build` output runs), or under tsx
 *      with `--tsx`.
 *   3. Measures `GET /api/v1/overview` and a machine's 30-day chart (`GET /api/v1/kpis/series`
 *      with the dashboard's 1,000 points): p50 and p99 (nearest rank) after a warm-up, and the
 *      response sizes; the bundle the dashboard serves (raw and gzip); the time from navigation
 *      start to an overview whose every tile shows numbers (the current yield, the shift's and
 *      the day's) in headless Chromium over cold page loads (a new context each); the agent's
 *      RSS before and with 20 dashboards holding the overview and its live stream open (each
 *      after full garbage collections until it settles, so the garbage of the moment does not
 *      count), and the agent's CPU while they open and while they stay open.
 *
 * Options: --dashboard-machines N, --dashboard-days D (a quicker run), --overview-runs N and
 * --series-runs N (default 100 each: the p99 of fewer is their maximum), --page-loads N
 * (default 7), --dashboards N (default 20), --hold S (seconds the dashboards stay open, default
 * 35: one 30-s refresh of each), --keep DIR (keep the seeded store there, and reuse it when it
 * matches), --tsx, --json.
 * A missed goal is a result: the exit code is 0 unless the bench could not run.
 */
import Database from 'better-sqlite3';
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { Aggregate } from '../../agent/src/core/aggregate.js';
import { addPartial, emptySums, encodeSums, HOUR_MS, partialOf, type PartialSums } from '../../agent/src/kpi/partials.js';
import { periodOf } from '../../agent/src/kpi/periods.js';
import { shiftsBetween } from '../../agent/src/kpi/shifts.js';
import { Store } from '../../agent/src/store/store.js';
import { siteCalendars } from '../../agent/src/config/site-calendars.js';
import { siteShifts } from '../../agent/src/wiring/pipeline-options.js';
import { sqliteFileBytes } from './common.js';
import { compileTree, type CompiledTree } from './compile.js';
import { account, snapshot } from './sysstat.js';
import { BENCH_SITE, BENCH_ZONE, benchConfig, benchMachinePath, percentile, simulateWindows } from './store-seed.js';

const { values: flags } = parseArgs({
  options: {
    'dashboard-machines': { type: 'string', default: '200' },
    'dashboard-days': { type: 'string', default: '30' },
    'overview-runs': { type: 'string', default: '100' },
    'series-runs': { type: 'string', default: '100' },
    'page-loads': { type: 'string', default: '7' },
    dashboards: { type: 'string', default: '20' },
    hold: { type: 'string', default: '35' },
    keep: { type: 'string' },
    tsx: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    dashboard: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});

function whole(name: string, raw: string): number {
  const n = Number(raw.replace(/_/g, ''));
  if (!Number.isInteger(n) || n <= 0) {
    console.error(`bench: --${name} must be a positive whole number, got "${raw}".`);
    process.exit(1);
  }
  return n;
}
const MACHINES = whole('dashboard-machines', flags['dashboard-machines']);
const DAYS = whole('dashboard-days', flags['dashboard-days']);
const OVERVIEW_RUNS = whole('overview-runs', flags['overview-runs']);
const SERIES_RUNS = whole('series-runs', flags['series-runs']);
const PAGE_LOADS = whole('page-loads', flags['page-loads']);
const DASHBOARDS = whole('dashboards', flags.dashboards);
const HOLD_S = whole('hold', flags.hold);

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = resolve(HERE, '../..');
const CHROMIUM = '/usr/bin/chromium';
const MIN_MS = 60_000;
const DAY_MS = 86_400_000;
/** The longest range of the machine view (dashboard/src/views/machine.tsx) and its point count. */
const CHART_RANGE_MS = 30 * DAY_MS;
const CHART_POINTS = 1000;
/** Machines with a pipeline-made day of their own; the others repeat them (machine i is template i mod 20). */
const TEMPLATES = 20;
/**
 * The end of the seeded data: a Wednesday, 10:37 in Amsterdam, during the early shift (the 30
 * days before it have no change of summer time). The agent's clock stands 20 s later: the last
 * window (10:36–10:37) is the current one, as 10 s after its lateness it would be.
 */
const DATA_END = Date.UTC(2026, 10, 25, 9, 37);
const NOW = DATA_END + 20_000;
const GOALS = { overviewMs: 300, seriesMs: 500, filledMs: 1000 };

const say = (s: string) => process.stderr.write(`${s}\n`);
const kb = (b: number) => `${(b / 1024).toFixed(1)} kB`;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

// ---- 1. The store ----

interface SeedInfo {
  machines: number;
  days: number;
  end: number;
  windows: number;
  hours: number;
  siteDays: number;
  shifts: number;
  fileBytes: number;
  seedS: number;
  /** Seconds of each step: the template day through the pipeline, the last day written, the sums, the copies. */
  steps: { templateS: number; lastDayS: number; sumsS: number; copyS: number };
}

/** Writes the store into `dir/yieldwatch.db` (see the header); returns what it holds and how long it took. */
function seedStore(dir: string): SeedInfo {
  const seed0 = performance.now();
  const cfg = benchConfig(MACHINES);
  const templates = Math.min(TEMPLATES, MACHINES);
  const firstWindow = DATA_END - DAYS * DAY_MS;
  const dayStart = DATA_END - DAY_MS;

  // One day of real windows of the template machines; a minute before it, so its first window has a baseline.
  say(`seeding: one day of ${templates} machines through the real pipeline…`);
  const templatePath = join(dir, 'template.db');
  const templateStore = new Store({ path: templatePath, synchronous: 'normal' });
  // Scrap every 6 to 18 readings: yields of about 95 to 98 %, not one number for all.
  simulateWindows(benchConfig(templates), templateStore, dayStart - MIN_MS, DATA_END - 5000, (i) => 6 + (i % 7) * 2);
  const byMachine = new Map<string, Aggregate[]>();
  for (const a of templateStore.iterateAggregates({ from: dayStart, to: DATA_END })) {
    const ws = byMachine.get(a.machine) ?? [];
    ws.push(a);
    byMachine.set(a.machine, ws);
  }
  templateStore.close();
  rmSync(templatePath, { force: true });
  rmSync(`${templatePath}-wal`, { force: true });
  rmSync(`${templatePath}-shm`, { force: true });
  const template = Array.from({ length: templates }, (_, i) => byMachine.get(benchMachinePath(i)) ?? []);
  for (const [i, ws] of template.entries()) {
    if (ws.length !== DAY_MS / MIN_MS || ws.some((w, k) => w.windowStart !== dayStart + k * MIN_MS)) throw new Error(`template machine ${i} has ${ws.length} windows, not one a minute for the day`);
  }
  const templateS = (performance.now() - seed0) / 1000;

  // Every machine's last day: its template's windows, through the store's own write path, a minute at a time as the agent commits them.
  say(`seeding: the last day of ${MACHINES} machines through the store…`);
  const t1 = performance.now();
  const path = join(dir, 'yieldwatch.db');
  const store = new Store({ path, synchronous: 'normal' });
  const paths = cfg.machines.map((m) => m.path);
  for (let h = 0; h < 24; h++) {
    store.transaction(() => {
      for (let k = h * 60; k < (h + 1) * 60; k++) for (const [i, machine] of paths.entries()) store.putAggregate({ ...template[i % templates]![k]!, machine });
    });
  }
  const lastDayS = (performance.now() - t1) / 1000;

  // The hour, site day and shift sums of every machine over all the days, from exactly the windows the store will hold.
  say(`seeding: the hour, site day and shift sums…`);
  const t2 = performance.now();
  const partials = template.map((ws) => ws.map(partialOf));
  const { material, product } = template[0]![0]!;
  /** The template window that a window starting at `t` repeats. */
  const minuteOf = (t: number) => (((t - dayStart) % DAY_MS) + DAY_MS) % DAY_MS / MIN_MS;
  const hourCache = new Map<number, PartialSums>();
  /** Sums of template `tm`'s windows that start in [from, to) ∩ the data, hour by hour. */
  const sumOf = (tm: number, from: number, to: number): PartialSums => {
    const acc = emptySums('', from, to, material, product);
    for (let h = Math.floor(from / HOUR_MS) * HOUR_MS; h < to; h += HOUR_MS) {
      const lo = Math.max(h, from, firstWindow);
      const hi = Math.min(h + HOUR_MS, to, DATA_END);
      if (hi <= lo) continue;
      if (lo === h && hi === h + HOUR_MS) {
        const key = tm * 1440 + minuteOf(h);
        let hour = hourCache.get(key);
        if (hour === undefined) {
          hour = emptySums('', h, h + HOUR_MS, material, product);
          for (let t = h; t < h + HOUR_MS; t += MIN_MS) addPartial(hour, partials[tm]![minuteOf(t)]!, 1);
          hourCache.set(key, hour);
        }
        addPartial(acc, hour, 1);
      } else for (let t = lo; t < hi; t += MIN_MS) addPartial(acc, partials[tm]![minuteOf(t)]!, 1);
    }
    return acc;
  };
  const spans: { level: 'hour' | 'day' | 'shift'; start: number; end: number }[] = [];
  for (let h = Math.floor(firstWindow / HOUR_MS) * HOUR_MS; h < DATA_END; h += HOUR_MS) spans.push({ level: 'hour', start: h, end: h + HOUR_MS });
  for (let d = periodOf('day', BENCH_ZONE, firstWindow)!; d.start < DATA_END; d = periodOf('day', BENCH_ZONE, d.end)!) spans.push({ level: 'day', start: d.start, end: d.end });
  for (const s of shiftsBetween(siteCalendars(cfg).get(BENCH_SITE)!, firstWindow, DATA_END)) spans.push({ level: 'shift', start: s.start, end: s.end });
  const count = { hour: 0, day: 0, shift: 0 };
  // Sums of one period are the same for every machine of one template: encoded once.
  const encoded = new Map<string, string>();
  store.transaction(() => {
    for (const s of spans) {
      for (const [i, machine] of paths.entries()) {
        const tm = i % templates;
        const key = `${tm} ${s.level} ${s.start}`;
        let data = encoded.get(key);
        if (data === undefined) encoded.set(key, (data = encodeSums(sumOf(tm, s.start, s.end))));
        store.putRollupSums(s.level, { machine, start: s.start, end: s.end, material, product, data });
      }
      count[s.level] += MACHINES;
    }
    // Shift sums are whole from the first window on (as the pipeline notes at its first commit).
    store.noteShiftCalendars(siteShifts(cfg).fingerprint, firstWindow);
  });
  store.close();
  const sumsS = (performance.now() - t2) / 1000;

  // The days before: the last day's rows copied back a day at a time (the same bytes, the times shifted), in the order the agent writes them.
  say(`seeding: copying the last day back over ${DAYS - 1} days…`);
  const t3 = performance.now();
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('cache_size = -262144');
  const copy = db.prepare(`
    INSERT INTO aggregates (machine, window_start, window_end, revision, product, material, part_mass_kg, components, breakdowns, split, quality, kpis, method, first_emitted_at, emitted_at)
    SELECT machine, window_start - @shift, window_end - @shift, revision, product, material, part_mass_kg, components, breakdowns, split, quality, kpis, method, first_emitted_at - @shift, emitted_at - @shift
    FROM aggregates WHERE window_start >= @from ORDER BY window_start, machine`);
  for (let d = 1; d < DAYS; d++) {
    db.transaction(() => copy.run({ shift: d * DAY_MS, from: dayStart }))();
    if (d % 5 === 0) say(`  ${d + 1} of ${DAYS} days…`);
  }
  const windows = (db.prepare('SELECT COUNT(*) AS n FROM aggregates').get() as { n: number }).n;
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  const copyS = (performance.now() - t3) / 1000;
  const info: SeedInfo = {
    machines: MACHINES,
    days: DAYS,
    end: DATA_END,
    windows,
    hours: count.hour,
    siteDays: count.day,
    shifts: count.shift,
    fileBytes: sqliteFileBytes(path),
    seedS: (performance.now() - seed0) / 1000,
    steps: { templateS, lastDayS, sumsS, copyS },
  };
  writeFileSync(join(dir, 'seed.json'), `${JSON.stringify(info, null, 2)}\n`);
  return info;
}

/** The seeded store in `dir` when it was made for this run's machines, days and end. */
function seededBefore(dir: string): SeedInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(join(dir, 'seed.json'), 'utf8')) as SeedInfo;
    return info.machines === MACHINES && info.days === DAYS && info.end === DATA_END && existsSync(join(dir, 'yieldwatch.db')) ? info : undefined;
  } catch {
    return undefined;
  }
}

// ---- 2. The agent ----

/** Children and folders to clean up: killed by PID, removed, on every way out. */
let agentChild: ChildProcess | undefined;
let browser: Browser | undefined;
const tempDirs: string[] = [];
let tree: CompiledTree | undefined;

async function cleanup(): Promise<void> {
  await browser?.close().catch(() => undefined);
  browser = undefined;
  await stopAgent();
  tree?.remove();
  tree = undefined;
  for (const d of tempDirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

async function stopAgent(): Promise<void> {
  const child = agentChild;
  agentChild = undefined;
  if (child?.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  }, 15_000);
  await exited;
  clearTimeout(timer);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    say(`\nbench: ${sig}, stopping the agent and the browser.`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** The compiled agent child, with what the dashboard plugin reads at run time beside it (the UI sources, config/ that marks the package root, the version). */
async function compiledAgent(): Promise<string> {
  tree = await compileTree(ROOT, ['test/bench/dashboard-agent.ts', 'agent/src/config/load-worker.ts']);
  symlinkSync(join(ROOT, 'config'), join(tree.dir, 'config'), 'dir');
  mkdirSync(join(tree.dir, 'dashboard'), { recursive: true });
  symlinkSync(join(ROOT, 'dashboard', 'src'), join(tree.dir, 'dashboard', 'src'), 'dir');
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  writeFileSync(join(tree.dir, 'package.json'), `${JSON.stringify({ type: 'module', private: true, version })}\n`);
  return join(tree.dir, 'test', 'bench', 'dashboard-agent.js');
}

async function startAgent(dataDir: string): Promise<{ url: string; pid: number; openMs: number; startMs: number; wallMs: number }> {
  const entry = flags.tsx ? join(HERE, 'dashboard-agent.ts') : await compiledAgent();
  const t0 = performance.now();
  const child = fork(entry, ['--data', dataDir, '--machines', String(MACHINES), '--now', String(NOW)], {
    cwd: ROOT,
    // --expose-gc: the memory readings after a full collection (nothing in the agent calls it).
    execArgv: flags.tsx ? ['--expose-gc', '--import', 'tsx'] : ['--expose-gc'],
    stdio: ['ignore', 2, 'inherit', 'ipc'],
  });
  agentChild = child;
  const ready = await new Promise<{ url: string; openMs: number; startMs: number }>((res, rej) => {
    const timer = setTimeout(() => rej(new Error('the agent did not start within 10 minutes')), 600_000);
    child.once('message', (m) => {
      clearTimeout(timer);
      // The readiness message only; later ones answer memory().
      res(m as { url: string; openMs: number; startMs: number });
    });
    child.once('exit', (code, sig) => {
      clearTimeout(timer);
      rej(new Error(`the agent exited (${sig ?? `code ${String(code)}`}) before it was ready`));
    });
  });
  return { ...ready, pid: child.pid!, wallMs: performance.now() - t0 };
}

interface Memory {
  rss: number;
  heapUsed: number;
  /** The JS heap V8 holds, used or not (the young generation grows with the rate of allocation). */
  heapTotal: number;
  external: number;
}

/**
 * The agent's memory without the garbage of the moment: full garbage collections, a few seconds
 * apart, until its RSS stays within 1 MB (at most five rounds; V8 hands freed pages back to the
 * system only at a later collection, in tests the third or fourth).
 */
async function settledMemory(pid: number): Promise<Memory> {
  let m = await memoryAfterGc(pid);
  for (let round = 1; round < 5; round++) {
    const next = await memoryAfterGc(pid);
    const settled = Math.abs(next.rss - m.rss) < 2 ** 20;
    m = next;
    if (settled) break;
  }
  return m;
}

/** Two full collections 1.5 s apart; the JS heap right after, the RSS as the median of five readings 2 to 3 s later. */
async function memoryAfterGc(pid: number): Promise<Memory> {
  await gcInAgent();
  await new Promise((r) => setTimeout(r, 1500));
  const heap = await gcInAgent();
  await new Promise((r) => setTimeout(r, 2000));
  const rss: number[] = [];
  for (let i = 0; i < 5; i++) {
    rss.push(rssOf(pid));
    await new Promise((r) => setTimeout(r, 200));
  }
  return { ...heap, rss: median(rss) };
}

function gcInAgent(): Promise<Memory> {
  const child = agentChild!;
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('the agent did not report its memory within 30 s')), 30_000);
    const on = (m: { type?: string } & Memory) => {
      if (m.type !== 'memory') return;
      clearTimeout(timer);
      child.off('message', on);
      res(m);
    };
    child.on('message', on);
    child.send({ type: 'memory' });
  });
}

/** Resident set of a process, bytes (Linux /proc). */
function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

// ---- 3. Measurements ----

interface Latency {
  p50Ms: number;
  p99Ms: number;
  minMs: number;
  maxMs: number;
  runs: number;
  bytes: number;
  gzipBytes: number;
}

/** `runs` sequential GETs of `url` after `warmup` (keep-alive, as a browser), timed to the last byte. */
async function latency(url: string, warmup: number, runs: number, check: (body: Buffer) => void): Promise<Latency> {
  const get = async () => {
    const t = performance.now();
    const r = await fetch(url);
    const body = Buffer.from(await r.arrayBuffer());
    const ms = performance.now() - t;
    if (!r.ok) throw new Error(`GET ${url}: ${r.status} ${body.toString().slice(0, 200)}`);
    return { ms, body };
  };
  let body = Buffer.alloc(0);
  for (let i = 0; i < warmup; i++) body = (await get()).body;
  check(body);
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) ms.push((await get()).ms);
  ms.sort((a, b) => a - b);
  return { p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99), minMs: ms[0]!, maxMs: ms.at(-1)!, runs, bytes: body.length, gzipBytes: gzipSync(body).length };
}

interface Asset {
  path: string;
  bytes: number;
  gzipBytes: number;
}

/** The page and every asset it links, as the agent serves them, with what gzip would make of each. */
async function bundle(base: string): Promise<Asset[]> {
  const html = Buffer.from(await (await fetch(`${base}/`)).arrayBuffer());
  const paths = ['/', ...[...html.toString().matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]!)];
  const out: Asset[] = [];
  for (const p of paths) {
    const body = p === '/' ? html : Buffer.from(await (await fetch(`${base}${p}`)).arrayBuffer());
    out.push({ path: p, bytes: body.length, gzipBytes: gzipSync(body).length });
  }
  return out;
}

/**
 * Runs in the page before its own scripts: notes when every one of `n` tiles first shows a
 * yield now, for its shift and for its day, and the frame after that was painted.
 */
const FILLED_PROBE = (n: number) => `(() => {
  const w = window;
  const filled = () => {
    const tiles = document.querySelectorAll('li.tile');
    if (tiles.length !== ${n}) return false;
    for (const t of tiles) for (const sel of ['dd.yield', '.period.shift .yield', '.period.day .yield']) {
      const e = t.querySelector(sel);
      if (e === null || !/\\d/.test(e.textContent)) return false;
    }
    return true;
  };
  const seen = new MutationObserver(() => {
    if (w.__ywDom !== undefined || !filled()) return;
    w.__ywDom = performance.now();
    seen.disconnect();
    requestAnimationFrame(() => {
      const c = new MessageChannel();
      c.port1.onmessage = () => { w.__ywFilled = performance.now(); };
      c.port2.postMessage(0);
    });
  });
  seen.observe(document, { subtree: true, childList: true, characterData: true });
})();`;

/** Waits until the probe saw the page filled (polled through the DevTools protocol: the page's CSP rightly refuses the eval behind waitForFunction). */
async function filledIn(page: Page, timeoutMs: number, everyMs: number): Promise<void> {
  const until = performance.now() + timeoutMs;
  while ((await page.evaluate('window.__ywFilled')) === undefined) {
    if (performance.now() > until) throw new Error(`the overview did not fill within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

interface PageLoad {
  filledMs: number;
  domFilledMs: number;
  firstContentfulPaintMs: number | null;
  htmlMs: number;
  appJsMs: number;
  overviewRequestMs: number;
  overviewResponseMs: number;
}

/** One cold load of the overview in a new context: navigation start → every tile filled and painted. */
async function pageLoad(b: Browser, base: string): Promise<PageLoad> {
  const ctx = await b.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 900 } });
  try {
    const page = await ctx.newPage();
    await page.addInitScript({ content: FILLED_PROBE(MACHINES) });
    await page.goto(`${base}/`, { waitUntil: 'commit', timeout: 60_000 });
    await filledIn(page, 60_000, 50);
    return (await page.evaluate(`(() => {
      const w = window;
      const res = (p) => performance.getEntriesByType('resource').find((e) => new URL(e.name).pathname === p);
      const nav = performance.getEntriesByType('navigation')[0];
      const fcp = performance.getEntriesByName('first-contentful-paint')[0];
      return {
        filledMs: w.__ywFilled,
        domFilledMs: w.__ywDom,
        firstContentfulPaintMs: fcp === undefined ? null : fcp.startTime,
        htmlMs: nav.responseEnd,
        appJsMs: res('/assets/app.js').responseEnd,
        overviewRequestMs: res('/api/v1/overview').startTime,
        overviewResponseMs: res('/api/v1/overview').responseEnd,
      };
    })()`)) as PageLoad;
  } finally {
    await ctx.close();
  }
}

/** `n` dashboards (a context each) holding the overview, filled and with the live stream up. */
async function openDashboards(b: Browser, base: string, n: number): Promise<BrowserContext[]> {
  const out: BrowserContext[] = [];
  for (let i = 0; i < n; i++) {
    const ctx = await b.newContext({ locale: 'en-GB', viewport: { width: 1280, height: 900 } });
    out.push(ctx);
    const page = await ctx.newPage();
    await page.addInitScript({ content: FILLED_PROBE(MACHINES) });
    await page.goto(`${base}/`, { waitUntil: 'commit', timeout: 60_000 });
  }
  for (const ctx of out) {
    const page = ctx.pages()[0]!;
    await filledIn(page, 120_000, 200);
    await page.locator('p.live.up').waitFor({ timeout: 60_000 });
  }
  return out;
}

const median = (xs: readonly number[]) => percentile([...xs].sort((a, b) => a - b), 50);
const medianOf = <T>(xs: readonly T[], f: (x: T) => number) => median(xs.map(f));

async function main(): Promise<void> {
  const loadAtStart = os.loadavg()[0]!;
  const dir = flags.keep ?? mkdtempSync(join(os.tmpdir(), 'yw-bench-dashboard-'));
  if (flags.keep === undefined) tempDirs.push(dir);
  else mkdirSync(dir, { recursive: true });
  let seed = flags.keep === undefined ? undefined : seededBefore(dir);
  const reused = seed !== undefined;
  if (seed !== undefined) say(`using the store seeded before in ${dir} (${fmt(seed.windows)} windows)`);
  else {
    rmSync(join(dir, 'yieldwatch.db'), { force: true });
    rmSync(join(dir, 'yieldwatch.db-wal'), { force: true });
    rmSync(join(dir, 'yieldwatch.db-shm'), { force: true });
    seed = seedStore(dir);
    say(`seeded ${fmt(seed.windows)} windows in ${seed.seedS.toFixed(1)} s (${(seed.fileBytes / 2 ** 30).toFixed(2)} GiB)`);
  }

  say(`starting the agent (the store's integrity check reads the whole file)…`);
  const agent = await startAgent(dir);
  const base = agent.url;
  say(`agent PID ${agent.pid} at ${base}, ready after ${(agent.wallMs / 1000).toFixed(1)} s`);
  await new Promise((r) => setTimeout(r, 2000));
  const rssIdle = rssOf(agent.pid);
  const cpuAll0 = snapshot(process.pid);

  say(`GET /api/v1/overview ×${OVERVIEW_RUNS}…`);
  let tilesWithNumbers = 0;
  const overview = await latency(`${base}/api/v1/overview`, 5, OVERVIEW_RUNS, (body) => {
    const o = JSON.parse(body.toString()) as { items: { stale: boolean; window: { yield?: number } | null; shift: { kpis?: Record<string, number> } | null; day: { kpis?: Record<string, number> } }[] };
    if (o.items.length !== MACHINES) throw new Error(`the overview has ${o.items.length} machines, not ${MACHINES}`);
    tilesWithNumbers = o.items.filter((m) => !m.stale && m.window?.yield !== undefined && m.shift?.kpis?.yield !== undefined && m.day.kpis?.yield !== undefined).length;
    if (tilesWithNumbers !== MACHINES) throw new Error(`only ${tilesWithNumbers} of ${MACHINES} machines have a current window, a shift and a day so far`);
  });
  const machine = benchMachinePath(0);
  const seriesUrl = `${base}/api/v1/kpis/series?machine=${encodeURIComponent(machine)}&from=${NOW - CHART_RANGE_MS}&to=${NOW}&points=${CHART_POINTS}`;
  say(`GET /api/v1/kpis/series (${machine}, 30 days, ${CHART_POINTS} points) ×${SERIES_RUNS}…`);
  let seriesInfo = { points: 0, bucketMs: 0, windows: 0 };
  const series = await latency(seriesUrl, 3, SERIES_RUNS, (body) => {
    const s = JSON.parse(body.toString()) as { t: number[]; bucket_ms: number; totals: { windows: number } };
    seriesInfo = { points: s.t.length, bucketMs: s.bucket_ms, windows: s.totals.windows };
  });
  const assets = await bundle(base);
  const rssAfterApi = rssOf(agent.pid);

  say(`launching Chromium for ${PAGE_LOADS} cold page loads…`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const chromiumVersion = browser.version();
  // One load not counted: the agent's first page (its code paths warm, as after any first visitor).
  await pageLoad(browser, base);
  const loads: PageLoad[] = [];
  for (let i = 0; i < PAGE_LOADS; i++) {
    loads.push(await pageLoad(browser, base));
    say(`  load ${i + 1}: filled and painted at ${loads.at(-1)!.filledMs.toFixed(0)} ms`);
  }
  const filled = loads.map((l) => l.filledMs).sort((a, b) => a - b);

  const before = await settledMemory(agent.pid);
  say(`opening ${DASHBOARDS} dashboards and holding them ${HOLD_S} s…`);
  const samples: number[] = [];
  const sampler = setInterval(() => samples.push(rssOf(agent.pid)), 250);
  const open0 = performance.now();
  const cpuOpen0 = snapshot(process.pid);
  const contexts = await openDashboards(browser, base, DASHBOARDS);
  const openS = (performance.now() - open0) / 1000;
  const cpuHold0 = snapshot(process.pid);
  const held: number[] = [];
  const hold0 = samples.length;
  await new Promise((r) => setTimeout(r, HOLD_S * 1000));
  held.push(...samples.slice(hold0));
  const cpuHold1 = snapshot(process.pid);
  const withOpen = await settledMemory(agent.pid);
  /** CPU seconds of the agent between two snapshots. */
  const agentCpuS = (a: ReturnType<typeof snapshot>, b: ReturnType<typeof snapshot>) => (account(a, b).ours.get(agent.pid) ?? 0) / 1e6;
  const cpuOpenS = agentCpuS(cpuOpen0, cpuHold0);
  const cpuHoldS = agentCpuS(cpuHold0, cpuHold1);
  const otherCores = account(cpuAll0, cpuHold1).otherCores;
  // Still live after the hold: every stream up.
  let live = 0;
  for (const ctx of contexts) if ((await ctx.pages()[0]!.locator('p.live.up').count()) === 1) live++;
  clearInterval(sampler);
  const rssHeld = median(held);
  const rssPeak = Math.max(...samples);
  for (const ctx of contexts) await ctx.close();
  await browser.close();
  browser = undefined;
  await stopAgent();

  const cpus = os.cpus();
  const result = {
    machine: `${cpus[0]?.model.trim() ?? 'unknown'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${os.type()} ${os.release()} ${os.arch()}, Chromium ${chromiumVersion}`,
    date: new Date().toISOString(),
    /** The machine's 1-minute load average when the bench started and ended: other work on the two cores skews every number. */
    loadAverage: { start: loadAtStart, end: os.loadavg()[0]! },
    /** Cores that processes other than the bench, its agent and its browser used on average from the first request to the end of the hold. */
    otherCores,
    agentRunsAs: flags.tsx ? 'TypeScript under tsx' : 'JavaScript compiled by esbuild, plain node',
    store: { ...seed, reused },
    agentStart: { openStoreMs: agent.openMs, listenMs: agent.startMs, readyMs: agent.wallMs },
    overview: { ...overview, machines: MACHINES, tilesWithNumbers, goalMs: GOALS.overviewMs, pass: overview.p99Ms < GOALS.overviewMs },
    series: { ...series, machine, rangeDays: CHART_RANGE_MS / DAY_MS, ...seriesInfo, goalMs: GOALS.seriesMs, pass: series.p99Ms < GOALS.seriesMs },
    bundle: { assets, bytes: assets.reduce((n, a) => n + a.bytes, 0), gzipBytes: assets.reduce((n, a) => n + a.gzipBytes, 0) },
    firstFilledOverview: {
      loads: PAGE_LOADS,
      p50Ms: percentile(filled, 50),
      minMs: filled[0]!,
      maxMs: filled.at(-1)!,
      goalMs: GOALS.filledMs,
      pass: percentile(filled, 50) < GOALS.filledMs,
      medians: {
        htmlMs: medianOf(loads, (l) => l.htmlMs),
        appJsMs: medianOf(loads, (l) => l.appJsMs),
        firstContentfulPaintMs: medianOf(loads, (l) => l.firstContentfulPaintMs ?? NaN),
        overviewRequestMs: medianOf(loads, (l) => l.overviewRequestMs),
        overviewResponseMs: medianOf(loads, (l) => l.overviewResponseMs),
        domFilledMs: medianOf(loads, (l) => l.domFilledMs),
      },
    },
    /** The agent's memory after full garbage collections (settledMemory) before the dashboards opened and with them open; its RSS as it came over the hold. */
    memory: {
      dashboards: DASHBOARDS,
      before,
      with: withOpen,
      extraRssBytes: withOpen.rss - before.rss,
      extraHeapBytes: withOpen.heapUsed - before.heapUsed,
      rssIdleBytes: rssIdle,
      rssAfterApiBytes: rssAfterApi,
      rssHoldMedianBytes: rssHeld,
      rssPeakBytes: rssPeak,
      live,
      openS,
      holdS: HOLD_S,
    },
    agentCpu: { openingS: cpuOpenS, holdS: cpuHoldS, holdCores: cpuHoldS / HOLD_S },
  };
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return;
  }
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
  const signed = (b: number) => `${b < 0 ? '−' : '+'}${mb(Math.abs(b))}`;
  const pf = (pass: boolean) => (pass ? 'PASS' : 'FAIL');
  const f = result.firstFilledOverview;
  const s = result.store;
  const lines = [
    `yieldwatch dashboard bench, ${result.date}`,
    `machine: ${result.machine}; load average ${result.loadAverage.start.toFixed(1)} at the start, ${result.loadAverage.end.toFixed(1)} at the end; other processes used ${otherCores === undefined ? '?' : otherCores.toFixed(2)} cores during the measurements`,
    `agent: ${result.agentRunsAs}; its clock stands at ${new Date(NOW).toISOString()}, 20 s after the last window`,
    `store: ${fmt(s.machines)} machines × ${s.days} days of 1-minute windows = ${fmt(s.windows)} windows, ${fmt(s.hours)} hour, ${fmt(s.siteDays)} site day and ${fmt(s.shifts)} shift sums; ${(s.fileBytes / 2 ** 30).toFixed(2)} GiB`,
    `seed: ${s.seedS.toFixed(1)} s (template day ${s.steps.templateS.toFixed(1)} s, last day through the store ${s.steps.lastDayS.toFixed(1)} s, sums ${s.steps.sumsS.toFixed(1)} s, copies ${s.steps.copyS.toFixed(1)} s)${reused ? ', made by an earlier run and reused' : ''}`,
    `agent start: store opened (integrity check included) in ${(agent.openMs / 1000).toFixed(1)} s, listening (dashboard bundle built) ${(agent.startMs / 1000).toFixed(1)} s later; ready ${(agent.wallMs / 1000).toFixed(1)} s after spawn`,
    '',
    `| measure | p50 | p99 | size | goal | result |`,
    `|---|---|---|---|---|---|`,
    `| GET /api/v1/overview, ${fmt(MACHINES)} machines (${OVERVIEW_RUNS} requests) | ${overview.p50Ms.toFixed(0)} ms | ${overview.p99Ms.toFixed(0)} ms | ${kb(overview.bytes)} (gzip ${kb(overview.gzipBytes)}) | p99 < ${GOALS.overviewMs} ms | ${pf(result.overview.pass)} |`,
    `| GET /api/v1/kpis/series, one machine, 30 days, ${seriesInfo.points} points of ${seriesInfo.bucketMs / MIN_MS} min from ${fmt(seriesInfo.windows)} windows (${SERIES_RUNS} requests) | ${series.p50Ms.toFixed(0)} ms | ${series.p99Ms.toFixed(0)} ms | ${kb(series.bytes)} (gzip ${kb(series.gzipBytes)}) | p99 < ${GOALS.seriesMs} ms | ${pf(result.series.pass)} |`,
    `| navigation start → every tile shows numbers, painted (Chromium, ${PAGE_LOADS} cold loads; min ${f.minMs.toFixed(0)}, max ${f.maxMs.toFixed(0)} ms) | ${f.p50Ms.toFixed(0)} ms | | | p50 < ${GOALS.filledMs} ms | ${pf(f.pass)} |`,
    `| bundle served (${assets.map((a) => `${a.path} ${kb(a.bytes)}, gzip ${kb(a.gzipBytes)}`).join('; ')}) | | | ${kb(result.bundle.bytes)} (gzip ${kb(result.bundle.gzipBytes)}) | | |`,
    `| agent RSS after garbage collection (settled): before the dashboards ${mb(before.rss)}, with ${DASHBOARDS} open ${mb(withOpen.rss)} (JS heap used ${mb(before.heapUsed)} -> ${mb(withOpen.heapUsed)}, held by V8 ${mb(before.heapTotal)} -> ${mb(withOpen.heapTotal)}) | | | **${signed(withOpen.rss - before.rss)}** | | |`,
    `| agent RSS as it comes: idle after start ${mb(rssIdle)}, after the API runs ${mb(rssAfterApi)}, with ${DASHBOARDS} dashboards open median ${mb(rssHeld)} over ${HOLD_S} s, peak ${mb(rssPeak)} | | | | | |`,
    '',
    `page load medians (ms from navigation start): HTML ${f.medians.htmlMs.toFixed(0)}, app.js ${f.medians.appJsMs.toFixed(0)}, first contentful paint ${f.medians.firstContentfulPaintMs.toFixed(0)}, /api/v1/overview requested ${f.medians.overviewRequestMs.toFixed(0)} and received ${f.medians.overviewResponseMs.toFixed(0)}, every tile filled in the DOM ${f.medians.domFilledMs.toFixed(0)}, painted ${f.p50Ms.toFixed(0)}`,
    `${DASHBOARDS} dashboards opened and filled in ${openS.toFixed(1)} s (agent CPU ${cpuOpenS.toFixed(1)} s), then held ${HOLD_S} s (agent CPU ${cpuHoldS.toFixed(1)} s, ${(cpuHoldS / HOLD_S).toFixed(3)} cores); ${live} of them live at the end of the hold`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

try {
  await main();
} catch (err) {
  process.stderr.write(`bench: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
