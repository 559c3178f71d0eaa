/**
 * Report benchmark (`npm run bench -- --report`, or this file directly under tsx): how long a
 * month's material-efficiency report takes on an edge box's store, in each format, and what it
 * costs in memory.
 *
 * The store holds the hour, site day and shift sums of N machines (default 50) over D days
 * (default 120: the month, the month before and the opportunity's 90-day lookback), each sum a
 * real one (one day of 1-minute windows of two machines through the real pipeline) with its
 * counts varied, as `--rollup` does. Then `makeReport` for the last whole month (everything a
 * report reads: the month's hours, the previous month's, each machine's shifts of the lookback)
 * and `renderReport` in JSON, CSV, XLSX and PDF, each R times (default 10): p50 and p99, the
 * bytes, and the process's peak RSS.
 *
 * Options: --machines N, --days D, --runs R, --formats L (default json,csv,xlsx,pdf), --keep DIR
 * (keep the store there), --json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPORT_FORMATS } from '../../agent/src/api/report-contract.js';
import { siteCalendars } from '../../agent/src/config/site-calendars.js';
import { VirtualClock } from '../../agent/src/core/clock.js';
import { decodeSums, encodeSums, HOUR_MS } from '../../agent/src/kpi/partials.js';
import { periodOf } from '../../agent/src/kpi/periods.js';
import { shiftsBetween } from '../../agent/src/kpi/shifts.js';
import { machineList } from '../../agent/src/readers/machine-list.js';
import { storeReader } from '../../agent/src/readers/store/index.js';
import { renderReport } from '../../agent/src/reports/render.js';
import { makeReport } from '../../agent/src/reports/service.js';
import { Store } from '../../agent/src/store/store.js';
import { siteShifts } from '../../agent/src/wiring/pipeline-options.js';
import { sqliteFileBytes } from './common.js';
import { BENCH_ZONE, benchConfig, percentile, scaledSums, simulateWindows } from './store-seed.js';

const { values: flags } = parseArgs({
  options: {
    machines: { type: 'string', default: '50' },
    days: { type: 'string', default: '120' },
    runs: { type: 'string', default: '10' },
    keep: { type: 'string' },
    json: { type: 'boolean', default: false },
    formats: { type: 'string', default: REPORT_FORMATS.join(',') },
    report: { type: 'boolean', default: false },
  },
  allowPositionals: true,
});
const MACHINES = Number(flags.machines);
const DAYS = Number(flags.days);
const RUNS = Number(flags.runs);
const DAY_MS = 86_400_000;
const say = (s: string) => process.stderr.write(`${s}\n`);
/** The data ends at the start of 1 December 2026 (site time): the report is of November. */
const END = Date.UTC(2026, 10, 30, 23);
const NOW = END + 6 * HOUR_MS;

/** One real hour of sums with scrap by reason and destination: a day of two machines through the pipeline. */
function sampleHour(dir: string): string {
  const cfg = benchConfig(2, { materials: { steel: { pricePerKg: 0.9, scrapValuePerKg: 0.3, co2ePerKg: { value: 1.91, source: 'worldsteel 2023', year: 2022 }, crm: { Mn: 0.01 }, scrapDestination: 'external_recycling' } } });
  const store = new Store({ path: join(dir, 'sample.db') });
  const t0 = Date.UTC(2026, 2, 2);
  simulateWindows(cfg, store, t0, t0 + DAY_MS / 4);
  const hour = [...store.iterateRollupSums('hour', t0 + HOUR_MS, t0 + 2 * HOUR_MS)][0]!.data;
  store.close();
  return hour;
}

async function main(): Promise<void> {
  const dir = flags.keep ?? mkdtempSync(join(os.tmpdir(), 'yw-bench-report-'));
  try {
    const cfg = benchConfig(MACHINES, {
      materials: { steel: { pricePerKg: 0.9, scrapValuePerKg: 0.3, co2ePerKg: { value: 1.91, source: 'worldsteel 2023', year: 2022 }, crm: { Mn: 0.01 }, recycledContentShare: 0.2, scrapDestination: 'external_recycling' } },
      machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' }, parts_rework: { kind: 'counter' }, material_in_kg: { kind: 'counter' } }, targets: { yield: 0.95 } },
    });
    say('one real hour of sums through the pipeline…');
    const sample = decodeSums({ machine: 'x', start: 0, end: HOUR_MS, material: 'steel', product: 'bracket', data: sampleHour(dir) });
    const path = join(dir, 'yieldwatch.db');
    rmSync(path, { force: true });
    const store = new Store({ path, synchronous: 'normal' });
    const start = END - DAYS * DAY_MS;
    say(`writing the hours, site days and shifts of ${MACHINES} machines over ${DAYS} days…`);
    const fill0 = performance.now();
    let seed = 7;
    const vary = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return 0.6 + (seed % 1000) / 1250;
    };
    const calendar = siteCalendars(cfg).get('plant')!;
    store.transaction(() => store.noteShiftCalendars(siteShifts(cfg).fingerprint, start));
    for (let d = periodOf('day', BENCH_ZONE, start)!; d.start < END; d = periodOf('day', BENCH_ZONE, d.end)!) {
      const shifts = shiftsBetween(calendar, d.start, d.end).filter((x) => x.start >= d.start);
      store.transaction(() => {
        for (const m of cfg.machines) {
          const f = vary();
          const hours = (d.end - d.start) / HOUR_MS;
          for (let h = 0; h < hours; h++) {
            store.putRollupSums('hour', { machine: m.path, start: d.start + h * HOUR_MS, end: d.start + (h + 1) * HOUR_MS, material: 'steel', product: 'bracket', data: encodeSums(scaledSums(sample, f)) });
          }
          store.putRollupSums('day', { machine: m.path, start: d.start, end: d.end, material: 'steel', product: 'bracket', data: encodeSums(scaledSums(sample, f * hours)) });
          for (const x of shifts) store.putRollupSums('shift', { machine: m.path, start: x.start, end: x.end, material: 'steel', product: 'bracket', data: encodeSums(scaledSums(sample, (f * (x.end - x.start)) / HOUR_MS)) });
        }
      });
    }
    const fillS = (performance.now() - fill0) / 1000;

    const clock = new VirtualClock(NOW);
    const ctx = { cfg, clock, reader: storeReader(store, cfg, machineList(cfg), clock), entries: { list: (q: { from?: number; to?: number; limit?: number }) => store.entries.query(q) } };
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sample0 = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
    const time = async <T>(f: () => Promise<T>): Promise<{ ms: number[]; last: T }> => {
      await f(); // warm-up: the first XLSX or PDF also loads its library
      const ms: number[] = [];
      let last!: T;
      for (let r = 0; r < RUNS; r++) {
        const t = performance.now();
        last = await f();
        ms.push(performance.now() - t);
      }
      ms.sort((a, b) => a - b);
      return { ms, last };
    };
    say(`the report of 2026-11 for ${MACHINES} machines, ${RUNS} runs…`);
    const made = await time(() => makeReport(ctx, { period: '2026-11' }));
    const report = made.last;
    const formats = [];
    for (const format of flags.formats.split(',') as (typeof REPORT_FORMATS)[number][]) {
      say(`  written as ${format}…`);
      const w = await time(() => renderReport(report, format, 'en'));
      formats.push({ format, bytes: w.last.body.length, p50Ms: percentile(w.ms, 50), p99Ms: percentile(w.ms, 99) });
    }
    clearInterval(sample0);
    peak = Math.max(peak, process.memoryUsage().rss);
    store.close();
    const cpus = os.cpus();
    const out = {
      machine: `${cpus[0]?.model.trim() ?? 'unknown'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Node ${process.version}, ${os.type()} ${os.arch()}`,
      machines: MACHINES,
      days: DAYS,
      storeBytes: sqliteFileBytes(path),
      fillS,
      report: { p50Ms: percentile(made.ms, 50), p99Ms: percentile(made.ms, 99), windows: report.totals.windows, opportunityRows: report.opportunity.rows.length },
      formats,
      rssBeforeMiB: rss0 / 2 ** 20,
      rssPeakMiB: peak / 2 ** 20,
    };
    if (flags.json) {
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
      return;
    }
    const f = (n: number) => Math.round(n).toLocaleString('en-US');
    process.stdout.write(
      `\nReport benchmark on ${out.machine}\n` +
        `store: ${MACHINES} machines × ${DAYS} days of hour, day and shift sums (${(out.storeBytes / 2 ** 20).toFixed(1)} MiB, written in ${fillS.toFixed(1)} s)\n\n` +
        `| step | p50 | p99 | bytes |\n| --- | ---: | ---: | ---: |\n` +
        `| read and build the report of a month (${f(report.totals.windows)} windows, ${report.opportunity.rows.length} opportunity rows) | ${f(out.report.p50Ms)} ms | ${f(out.report.p99Ms)} ms | |\n` +
        formats.map((x) => `| write it as ${x.format} | ${f(x.p50Ms)} ms | ${f(x.p99Ms)} ms | ${f(x.bytes)} |`).join('\n') +
        `\n\nRSS ${f(out.rssBeforeMiB)} MiB before the first report, ${f(out.rssPeakMiB)} MiB at its peak.\n`,
    );
  } finally {
    if (flags.keep === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
