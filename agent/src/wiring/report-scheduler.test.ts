import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ReportJson } from '../api/report-contract.js';
import { validateConfig } from '../config/load.js';
import type { ConfigInput } from '../config/schema.js';
import { VirtualClock } from '../core/clock.js';
import { machineList } from '../readers/machine-list.js';
import { storeReader } from '../readers/store/index.js';
import { renderReport } from '../reports/render.js';
import { Store } from '../store/store.js';
import { createPipeline } from './pipeline-options.js';
import { ReportScheduler, type ReportSchedulerOptions } from './report-scheduler.js';

const M = 'ams/l1/press';
/** Monday 2 November 2026, 00:00 in Amsterdam (CET, UTC+1). */
const MONDAY = Date.parse('2026-11-01T23:00:00Z');
const DAY = 86_400_000;

type Schedules = NonNullable<ConfigInput['reports']>['schedules'];

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/**
 * An agent's report scheduler on a virtual clock, over a store the real pipeline fills with one
 * press making 10 parts a minute (1 scrap). `feed` moves the clock a minute at a time, as the
 * agent's ticker would emit windows, and lets each report being made finish before the next minute.
 */
function harness(schedules: Schedules, o: { kpi?: ConfigInput['kpi']; start: number; render?: ReportSchedulerOptions['render']; readFails?: () => boolean }) {
  const dir = mkdtempSync(join(tmpdir(), 'yw-report-scheduler-'));
  dirs.push(dir);
  const config = validateConfig({
    agent: { id: 'sched-test', dataDir: dir },
    kpi: o.kpi ?? { windowSize: '5m', allowedLateness: '10s' },
    sites: { ams: { timeZone: 'Europe/Amsterdam' } },
    machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } },
    machines: [{ path: M, partMassKg: 0.5 }],
    api: { enabled: false },
    reports: { schedules },
  });
  const clock = new VirtualClock(o.start);
  const store = new Store({ path: ':memory:' });
  const pipeline = createPipeline(config, store, clock);
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const reader = storeReader(store, config, machineList(config), clock);
  const machines = reader.machines;
  let reads = 0;
  // A store that cannot be read while `readFails` says so (a damaged page, an I/O error).
  reader.machines = async () => {
    reads++;
    if (o.readFails?.() === true) throw new Error('SQLITE_IOERR: disk I/O error');
    return machines();
  };
  const scheduler = () => new ReportScheduler({ config, store, clock, logger, dataDir: dir, sources: { reader, entries: undefined }, ...(o.render === undefined ? {} : { render: o.render }) });
  let reports = scheduler();
  const folder = join(dir, 'reports');
  let good = 0;
  let scrap = 0;
  /** Samples every minute up to `t` (a sample at each minute), ticking the pipeline and letting reports finish. */
  const feed = async (t: number) => {
    for (let m = clock.now() + 60_000 - (clock.now() % 60_000); m <= t; m += 60_000) {
      clock.set(m);
      good += 9;
      scrap += 1;
      pipeline.ingest([
        { machine: M, signal: 'parts_good', value: good, ts: m, source: 't' },
        { machine: M, signal: 'parts_scrap', value: scrap, ts: m, source: 't' },
      ]);
      pipeline.tick();
      await reports.idle();
    }
  };
  /** The stored windows' parts in [from, to): what a report of that time must hold. */
  const storedParts = (from: number, to: number) =>
    store
      .queryAggregates({ from, to, limit: 1_000_000 })
      .reduce((n, a) => n + ((a.kpis.parts_total as number | undefined) ?? 0), 0);
  const files = () => {
    try {
      return readdirSync(folder).sort();
    } catch {
      return [];
    }
  };
  return {
    config,
    clock,
    store,
    pipeline,
    get reports() {
      return reports;
    },
    /** A restart of the agent: a new scheduler over the same store. */
    restart: async () => {
      await reports.stop();
      reports = scheduler();
      reports.start();
      await reports.idle();
    },
    /** Reports attempted so far (each reads the machines first). */
    reads: () => reads,
    folder,
    logs,
    feed,
    storedParts,
    files,
  };
}

describe('a report\'s files are all written, or none', () => {
  it('a format that cannot be made leaves no file of the formats before it, and no record of a report made; the retry writes all', async () => {
    let pdfFails = true;
    const render: typeof renderReport = async (r, format, lang) => {
      if (format === 'pdf' && pdfFails) throw new Error('PDF writer out of memory');
      return renderReport(r, format, lang);
    };
    const h = harness([{ id: 'daily', cron: '0 6 * * *', scope: 'site:ams', formats: ['csv', 'json', 'pdf'] }], { start: MONDAY, render });
    await h.feed(MONDAY + DAY + 7 * 3_600_000);
    h.reports.start();
    await h.reports.idle();
    expect(h.files()).toEqual([]);
    expect(h.store.reportRuns.has('daily', '2026-11-02')).toBe(false);
    expect(h.store.reportRuns.get('daily', '2026-11-02')).toMatchObject({ status: 'failed', error: 'PDF writer out of memory', files: [] });
    expect(h.reports.stats()[0]).toMatchObject({ made: 0, failed: 1, lastError: 'PDF writer out of memory' });
    expect(h.reports.health()['report:daily']!.status).toBe('degraded');

    pdfFails = false;
    await h.feed(MONDAY + DAY + 8 * 3_600_000);
    await h.reports.stop();
    const made = h.store.reportRuns.get('daily', '2026-11-02');
    expect(made).toMatchObject({ status: 'made', attempts: 2 });
    expect(made?.files).toEqual(['yieldwatch-daily-site_ams-2026-11-02.csv', 'yieldwatch-daily-site_ams-2026-11-02.json', 'yieldwatch-daily-site_ams-2026-11-02.pdf']);
    expect(h.files()).toEqual(made!.files);
  });

  it('a file that cannot be put in place takes the ones already renamed with it; temp files go too', async () => {
    const h = harness([{ id: 'daily', cron: '0 6 * * *', scope: 'site:ams', formats: ['csv', 'json'] }], { start: MONDAY });
    await h.feed(MONDAY + DAY + 7 * 3_600_000);
    // A folder where the JSON goes: the CSV is renamed into place first, then the JSON's rename fails.
    mkdirSync(join(h.folder, 'yieldwatch-daily-site_ams-2026-11-02.json'), { recursive: true });
    h.reports.start();
    await h.reports.idle();
    expect(h.files()).toEqual(['yieldwatch-daily-site_ams-2026-11-02.json']);
    expect(h.store.reportRuns.has('daily', '2026-11-02')).toBe(false);
    expect(h.reports.stats()[0]).toMatchObject({ made: 0, failed: 1, lastError: expect.stringMatching(/cannot write the report's files/) });
    await h.reports.stop();
  });

  it('a report the store cannot record is removed from the folder: neither recorded nor delivered', async () => {
    const h = harness([{ id: 'daily', cron: '0 6 * * *', scope: 'site:ams', formats: ['csv', 'json'] }], { start: MONDAY });
    await h.feed(MONDAY + DAY + 7 * 3_600_000);
    const record = vi.spyOn(h.store.reportRuns, 'record').mockImplementationOnce(() => {
      throw new Error('disk I/O error');
    });
    h.reports.start();
    await h.reports.idle();
    expect(record).toHaveBeenCalledTimes(1);
    expect(h.files()).toEqual([]);
    expect(h.reports.stats()[0]).toMatchObject({ failed: 1, lastError: 'cannot record the report: disk I/O error' });
    await h.reports.stop();
  });
});

describe('a period is reported once its last windows are in the store', () => {
  it('an occurrence at 00:05 with 15-minute windows and 10 minutes\' lateness waits until 00:25 and reports the whole day', async () => {
    const h = harness([{ id: 'early', cron: '5 0 * * *', scope: 'site:ams', formats: ['json'] }], { start: MONDAY - 60_000, kpi: { windowSize: '15m', allowedLateness: '10m' } });
    h.reports.start();
    await h.reports.idle();
    const tuesday = MONDAY + DAY;
    // The occurrence has come (00:05); the day's last window (23:45 to midnight) is emitted only at 00:10.
    await h.feed(tuesday + 6 * 60_000);
    expect(h.store.reportRuns.has('early', '2026-11-02')).toBe(false);
    expect(h.logs.find((l) => l.period === '2026-11-02' && String(l.msg).includes('waits until'))).toMatchObject({ readyAt: '2026-11-02T23:25:00.250Z' });
    await h.feed(tuesday + 25 * 60_000);
    expect(h.store.reportRuns.has('early', '2026-11-02')).toBe(false);
    // Ready at 00:25:00.250: made within the minute the harness moves the clock by.
    await h.feed(tuesday + 26 * 60_000);
    expect(h.store.reportRuns.has('early', '2026-11-02')).toBe(true);
    await h.feed(tuesday + 40 * 60_000);
    await h.reports.stop();
    const run = h.store.reportRuns.get('early', '2026-11-02')!;
    const report = JSON.parse(readFileSync(join(h.folder, run.files[0]!), 'utf8')) as ReportJson;
    // Every window of the day, the last one too: 96 windows of 15 minutes, 10 parts a minute (the first minute is the counters' baseline).
    expect(report.totals.parts_total).toBe(h.storedParts(MONDAY, tuesday));
    expect(report.totals.parts_total).toBe(24 * 60 * 10 - 10);
  });
});

describe('a failed report is recorded and tried again', () => {
  const TUESDAY_0700 = MONDAY + DAY + 7 * 3_600_000;

  it('a store that cannot be read: the failure is recorded with its error, shown in health, and tried again 1 min later, doubling, until it is made', async () => {
    let failing = 3;
    const h = harness([{ id: 'daily', cron: '0 6 * * *', scope: 'site:ams', formats: ['json'] }], { start: MONDAY, readFails: () => failing-- > 0 });
    await h.feed(TUESDAY_0700);
    h.reports.start();
    await h.reports.idle();
    expect(h.store.reportRuns.get('daily', '2026-11-02')).toMatchObject({ status: 'failed', attempts: 1, error: 'SQLITE_IOERR: disk I/O error', files: [] });
    expect(h.reports.health()['report:daily']).toMatchObject({
      status: 'degraded',
      reason: 'the report of 2026-11-02 failed: SQLITE_IOERR: disk I/O error; it is tried again at 2026-11-03T06:01:00.000Z',
    });
    expect(h.logs.find((l) => l.level === 50 && l.period === '2026-11-02')).toMatchObject({ schedule: 'daily', reason: 'SQLITE_IOERR: disk I/O error', retryAt: '2026-11-03T06:01:00.000Z' });
    // Not at every look: at 06:01, 06:03 and 06:07, when it is made.
    await h.feed(TUESDAY_0700 + 6 * 60_000);
    expect(h.reads()).toBe(3);
    expect(h.store.reportRuns.get('daily', '2026-11-02')).toMatchObject({ status: 'failed', attempts: 3 });
    await h.feed(TUESDAY_0700 + 10 * 60_000);
    expect(h.reads()).toBe(4);
    expect(h.store.reportRuns.get('daily', '2026-11-02')).toMatchObject({ status: 'made', attempts: 4, error: undefined, files: ['yieldwatch-daily-site_ams-2026-11-02.json'] });
    expect(h.reports.health()['report:daily']!.status).toBe('ok');
    expect(h.reports.stats()[0]).toMatchObject({ made: 1, failed: 3, lastError: undefined, failing: [] });
    await h.reports.stop();
  });

  it('a failure from before a restart is tried again at once; one the store cannot record still waits its back-off', async () => {
    let failing = true;
    const h = harness([{ id: 'daily', cron: '0 6 * * *', scope: 'site:ams', formats: ['json'] }], { start: MONDAY, readFails: () => failing });
    await h.feed(TUESDAY_0700);
    const recordFailure = vi.spyOn(h.store.reportRuns, 'recordFailure');
    recordFailure.mockImplementationOnce(() => {
      throw new Error('database is locked');
    });
    h.reports.start();
    await h.reports.idle();
    expect(h.store.reportRuns.get('daily', '2026-11-02')).toBeUndefined();
    expect(h.logs.some((l) => l.level === 50 && String(l.msg).includes('could not be recorded'))).toBe(true);
    // Unrecorded, it is still not tried at every look: once a minute later.
    await h.feed(TUESDAY_0700 + 30_000 + 60_000);
    expect(h.reads()).toBe(2);
    expect(h.store.reportRuns.get('daily', '2026-11-02')).toMatchObject({ status: 'failed', attempts: 1 });
    failing = false;
    await h.restart();
    expect(h.reads()).toBe(3);
    expect(h.store.reportRuns.get('daily', '2026-11-02')).toMatchObject({ status: 'made', attempts: 2 });
    await h.reports.stop();
  });

  it('the periods missed while a report kept failing are made oldest first once it works, within catchUp', async () => {
    let failing = true;
    const h = harness([{ id: 'daily', cron: '0 6 * * *', scope: 'site:ams', formats: ['json'], catchUp: 2 }], { start: MONDAY + DAY, readFails: () => failing });
    h.reports.start();
    await h.feed(MONDAY + 4 * DAY + 7 * 3_600_000);
    // Five days failing (the 1st, made at start, to the 5th); only the latest and two before it are still tried.
    expect(h.reports.stats()[0]!.failing.map((f) => f.period)).toEqual(['2026-11-03', '2026-11-04', '2026-11-05']);
    expect(h.logs.some((l) => l.level === 40 && l.period === '2026-11-01' && String(l.msg).includes('no longer tried again'))).toBe(true);
    failing = false;
    await h.feed(MONDAY + 4 * DAY + 8 * 3_600_000 + 5 * 60_000);
    await h.reports.stop();
    const runs = h.store.reportRuns.list('daily');
    expect(runs.filter((r) => r.status === 'made').map((r) => r.period)).toEqual(['2026-11-03', '2026-11-04', '2026-11-05']);
    expect(runs.filter((r) => r.status === 'failed').map((r) => [r.period, r.error])).toEqual([
      ['2026-11-01', 'SQLITE_IOERR: disk I/O error'],
      ['2026-11-02', 'SQLITE_IOERR: disk I/O error'],
    ]);
    expect(h.reports.health()['report:daily']!.status).toBe('ok');
  });
});
