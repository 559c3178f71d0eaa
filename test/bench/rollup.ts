/**
 * Rollup benchmark (`npm run bench -- --rollup`, or this file directly under tsx): how fast the
 * API's rollups answer on an edge box's full store, and how large that store gets.
 *
 *   1. Size: two machines run one day of 1-minute windows (with scrap by reason) through the
 *      real pipeline into a store file on a virtual clock; the bytes of windows and of stored
 *      hours per machine-day give the store size per machine-year.
 *   2. Speed: a store with the hours of N machines (default 200) over D days (default 400, the
 *      default retention), each hour a real one from step 1 with its counts varied, then
 *      `GET /api/v1/kpis/rollup`'s reader for a month by machine (period month), by machine and
 *      day, by line and shift, and by reason and day: p50 and p99 over R runs (default 20).
 *
 * Options: --machines N, --days D, --runs R, --keep DIR (keep the store there), --json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sqliteFileBytes } from './common.js';
import { benchConfig, percentile, scaledSums, simulateWindows } from './store-seed.js';
import { decodeSums, encodeSums, HOUR_MS } from '../../agent/src/kpi/partials.js';
import { periodOf } from '../../agent/src/kpi/periods.js';
import { shiftsBetween } from '../../agent/src/kpi/shifts.js';
import { siteCalendars } from '../../agent/src/config/site-calendars.js';
import { siteShifts } from '../../agent/src/wiring/pipeline-options.js';
import { Store } from '../../agent/src/store/store.js';
import { rollupReader } from '../../agent/src/readers/store/rollups.js';
import type { RollupQuery } from '../../agent/src/api/contract.js';

const { values: flags } = parseArgs({
  options: {
    machines: { type: 'string', default: '200' },
    days: { type: 'string', default: '400' },
    runs: { type: 'string', default: '20' },
    keep: { type: 'string' },
    json: { type: 'boolean', default: false },
    rollup: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const MACHINES = Number(flags.machines);
const DAYS = Number(flags.days);
const RUNS = Number(flags.runs);
const say = (s: string) => process.stderr.write(`${s}\n`);
const DAY_MS = 86_400_000;

/** Step 1: real windows, hours and days of two machines for one day; returns bytes per machine-day and one stored hour. */
function measureSize(dir: string): { windowBytesPerMachineDay: number; hourBytesPerMachineDay: number; dayBytesPerMachineDay: number; storeBytesPerMachineDay: number; sampleHour: string } {
  const cfg = benchConfig(2);
  const t0 = Date.UTC(2026, 2, 2);
  const path = join(dir, 'size.db');
  const store = new Store({ path });
  simulateWindows(cfg, store, t0, t0 + DAY_MS);
  const db = (store as unknown as { db: { prepare(sql: string): { get(): unknown; all(): unknown[] } } }).db;
  const bytesOf = (table: string) => (db.prepare(`SELECT SUM(pgsize) AS n FROM dbstat WHERE name = '${table}' OR name LIKE '${table}_%'`).get() as { n: number }).n;
  const windowBytes = bytesOf('aggregates');
  const hourBytes = bytesOf('rollup_hours');
  const dayBytes = bytesOf('rollup_days');
  const sampleHour = (db.prepare('SELECT data FROM rollup_hours ORDER BY hour_start LIMIT 1 OFFSET 10').all()[0] as { data: string }).data;
  store.close();
  return { windowBytesPerMachineDay: windowBytes / 2, hourBytesPerMachineDay: hourBytes / 2, dayBytesPerMachineDay: dayBytes / 2, storeBytesPerMachineDay: sqliteFileBytes(path) / 2, sampleHour };
}

async function main(): Promise<void> {
  const dir = flags.keep ?? mkdtempSync(join(os.tmpdir(), 'yw-bench-rollup-'));
  try {
    say(`measuring the store size with 2 machines over 1 day of 1-minute windows…`);
    const size = measureSize(dir);

    const cfg = benchConfig(MACHINES);
    const path = join(dir, 'hours.db');
    const store = new Store({ path });
    const start = Date.UTC(2026, 0, 1) - DAYS * DAY_MS;
    say(`writing the hours, site days and shifts of ${MACHINES} machines over ${DAYS} days…`);
    const fill0 = performance.now();
    const sample = decodeSums({ machine: 'x', start: 0, end: HOUR_MS, material: undefined, product: undefined, data: size.sampleHour });
    let seed = 7;
    const vary = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return 0.8 + (seed % 1000) / 2500;
    };
    const calendar = siteCalendars(cfg).get('plant')!;
    let rows = 0;
    store.noteShiftCalendars(siteShifts(cfg).fingerprint, start);
    for (let day = 0; day < DAYS; day++) {
      const dayStart = start + day * DAY_MS;
      const site = periodOf('day', 'Europe/Amsterdam', dayStart + 12 * HOUR_MS)!;
      const shifts = shiftsBetween(calendar, site.start, site.end).filter((x) => x.start >= site.start);
      store.transaction(() => {
        for (const m of cfg.machines) {
          const f = vary();
          for (let h = 0; h < 24; h++) {
            store.putRollupSums('hour', { machine: m.path, start: dayStart + h * HOUR_MS, end: dayStart + (h + 1) * HOUR_MS, material: 'steel', product: 'bracket', data: encodeSums(scaledSums(sample, f)) });
          }
          // Its site day holds as many hours as the day is long (23, 24 or 25).
          const hours = (site.end - site.start) / HOUR_MS;
          store.putRollupSums('day', { machine: m.path, start: site.start, end: site.end, material: 'steel', product: 'bracket', data: encodeSums(scaledSums(sample, f * hours)) });
          rows += 25 + shifts.length;
          for (const x of shifts) store.putRollupSums('shift', { machine: m.path, start: x.start, end: x.end, material: 'steel', product: 'bracket', data: encodeSums(scaledSums(sample, (f * (x.end - x.start)) / HOUR_MS)) });
        }
      });
    }
    const fillS = (performance.now() - fill0) / 1000;
    const read = rollupReader(store, cfg);
    // The last whole month of the data in the site's time: December 2025, Amsterdam midnight to midnight.
    const month = { from: Date.UTC(2025, 10, 30, 23), to: Date.UTC(2025, 11, 31, 23) };
    const queries: [string, RollupQuery][] = [
      ['a month by machine', { period: 'month', by: 'machine', ...month }],
      ['a month by machine and day', { period: 'day', by: 'machine', ...month }],
      ['a month by line and shift', { period: 'shift', by: 'line', ...month }],
      ['a month by reason and day', { period: 'day', by: 'reason', ...month }],
    ];
    const results = queries.map(([name, q]) => {
      read(q); // warm-up
      const ms: number[] = [];
      let rows = 0;
      for (let r = 0; r < RUNS; r++) {
        const t = performance.now();
        rows = read(q).length;
        ms.push(performance.now() - t);
      }
      ms.sort((a, b) => a - b);
      return { query: name, rows, p50Ms: percentile(ms, 50), p99Ms: percentile(ms, 99) };
    });
    store.close();
    const cpus = os.cpus();
    const out = {
      machine: `${cpus[0]?.model.trim() ?? 'unknown'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${os.type()} ${os.arch()}`,
      machines: MACHINES,
      days: DAYS,
      rows,
      hoursFileBytes: sqliteFileBytes(path),
      fillS,
      storeBytesPerMachineYear: size.storeBytesPerMachineDay * 365,
      windowBytesPerMachineYear: size.windowBytesPerMachineDay * 365,
      hourBytesPerMachineYear: size.hourBytesPerMachineDay * 365,
      dayBytesPerMachineYear: size.dayBytesPerMachineDay * 365,
      queries: results,
    };
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return;
    }
    const mb = (b: number) => `${(b / 1e6).toFixed(1)} MB`;
    console.log(`yieldwatch rollup bench, ${new Date().toISOString()}`);
    console.log(`machine: ${out.machine}`);
    console.log(`store per machine-year (1-minute windows with scrap by reason, their hours, days and shifts): ${mb(out.storeBytesPerMachineYear)} (windows ${mb(out.windowBytesPerMachineYear)}, hours ${mb(out.hourBytesPerMachineYear)}, days ${mb(out.dayBytesPerMachineYear)})`);
    console.log(`hours, days and shifts of ${MACHINES} machines over ${DAYS} days: ${out.rows.toLocaleString('en')} rows, ${mb(out.hoursFileBytes)}, written in ${fillS.toFixed(1)} s`);
    console.log(`query (reader of GET /api/v1/kpis/rollup, ${RUNS} runs)      rows      p50 ms    p99 ms`);
    for (const r of results) console.log(`${r.query.padEnd(48)} ${String(r.rows).padStart(8)} ${r.p50Ms.toFixed(1).padStart(10)} ${r.p99Ms.toFixed(1).padStart(9)}`);
  } finally {
    if (flags.keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
