import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPORT_FORMATS, REPORT_LANGUAGES, type ReportFormat, type ReportLanguage } from '../api/report-contract.js';
import type { KpiReader } from '../api/reader.js';
import type { LoadedConfig } from '../config/load.js';
import { systemClock, type Clock } from '../core/clock.js';
import { machineList } from '../readers/machine-list.js';
import { influxReader } from '../readers/influxdb/index.js';
import { InfluxQuery } from '../readers/influxdb/query.js';
import { storeReader } from '../readers/store/index.js';
import { reportQueue } from '../reports/queue.js';
import { renderReport } from '../reports/render.js';
import { makeReport, ReportRequestError, type ReportContext } from '../reports/service.js';
import type { ApiDeps } from '../api/deps.js';
import { Store } from '../store/store.js';

export interface ReportCommand {
  period: string | undefined;
  scope: string | undefined;
  format: string | undefined;
  lang: string | undefined;
  out: string | undefined;
}

/** What the command writes to: the report's bytes, progress, and the closing sentence. */
export interface ReportCommandIo {
  stdout: (b: Buffer | string) => void;
  stderr: (t: string) => void;
  /** Progress is an updating line on a terminal, else a line per step. */
  tty: boolean;
  /** Standard output is a terminal: no binary format is written there. */
  stdoutTty: boolean;
}

/**
 * `yieldwatch report`: a report of the agent's store (or, with `central` in the config, of the
 * central InfluxDB) in one format, to a file or standard output. Returns the exit code: 2 with a
 * plain sentence for a period, scope, format or language that does not exist.
 */
export async function runReportCommand(loaded: LoadedConfig, o: ReportCommand, io: ReportCommandIo, clock: Clock = systemClock): Promise<number> {
  const { config } = loaded;
  const fail = (msg: string) => {
    io.stderr(`${msg}\n`);
    return 2;
  };
  if (o.period === undefined) return fail('report needs --period, e.g. --period 2026-11 (a month), 2026-W45, 2026-11-03 or last-month');
  const format = (o.format ?? (o.out?.match(/\.(json|csv|xlsx|pdf)$/i)?.[1]?.toLowerCase() ?? 'pdf')) as ReportFormat;
  if (!REPORT_FORMATS.includes(format)) return fail(`--format ${o.format} is not a report format; expected one of: ${REPORT_FORMATS.join(', ')}`);
  const lang = (o.lang ?? 'en') as ReportLanguage;
  if (!REPORT_LANGUAGES.includes(lang)) return fail(`--lang ${o.lang} is not a report language; expected one of: ${REPORT_LANGUAGES.join(', ')}`);
  if (o.out === undefined && (format === 'pdf' || format === 'xlsx') && io.stdoutTty) return fail(`a ${format} report is binary: give --out FILE, or redirect standard output`);

  let reader: KpiReader;
  let store: Store | undefined;
  if (config.central !== undefined) {
    reader = influxReader(config, config.central, clock, new InfluxQuery(config.central.influxdb, loaded.baseDir));
  } else {
    const file = join(loaded.dataDir, 'yieldwatch.db');
    if (!existsSync(file)) return fail(`No report: there is no store in ${loaded.dataDir} (agent.dataDir) yet; start the agent first.`);
    // A reader beside the agent, like `yieldwatch backfill`: it never migrates, salvages or writes the store the agent owns.
    store = new Store({ path: file, readOnly: true });
    reader = storeReader(store, config, machineList(config), clock);
  }
  const started = clock.now();
  const steps: Record<string, string> = { period: 'reading the period', comparisons: 'reading the periods to compare with', opportunity: 'finding each machine\'s best shift', entries: 'reading manual entries', build: 'summing' };
  // Only a report that takes a while says what it is doing.
  const progress = (step: string) => {
    if (clock.now() - started < 1000) return;
    const text = `report ${o.period}: ${steps[step] ?? step}…`;
    io.stderr(io.tty ? `\r\x1b[K${text}` : `${text}\n`);
  };
  try {
    const report = await makeReport({ cfg: config, clock, reader, entries: store?.entries === undefined ? undefined : { list: (q) => store!.entries.query(q) }, materialLibraryVersion: loaded.materialLibraryVersion, agentId: config.agent.id }, { period: o.period, scope: o.scope, language: lang }, progress);
    const rendered = await renderReport(report, format, lang);
    if (io.tty) io.stderr('\r\x1b[K');
    if (o.out !== undefined) writeFileSync(o.out, rendered.body);
    else io.stdout(rendered.body);
    const t = report.totals;
    const pct = (v: number | undefined) => (v === undefined ? 'n/a' : `${(v * 100).toFixed(1)} %`);
    io.stderr(
      `${o.out !== undefined ? `wrote ${o.out}` : `wrote ${format}`} (${rendered.body.length} bytes): ${report.scope.spec}, ${report.period.label} (${report.time_zone}); ` +
        `yield ${pct(t.yield)}, scrap ${pct(t.scrap_rate)}, coverage ${pct(t.coverage)}; ${((clock.now() - started) / 1000).toFixed(1)} s\n`,
    );
    return 0;
  } catch (err) {
    if (io.tty) io.stderr('\r\x1b[K');
    if (err instanceof ReportRequestError) return fail(`No report: ${err.message}.`);
    throw err;
  } finally {
    store?.close();
  }
}

/** Reports that may wait their turn behind the one being made; more are answered 503 (`reports/queue.ts`). */
const REPORTS_WAITING = 4;

/** The API's reports (`GET /api/v1/reports`): made from the reader the views read, written in the format asked for, one at a time. */
export function reportService(ctx: ReportContext): NonNullable<ApiDeps['reports']> {
  const queue = reportQueue(REPORTS_WAITING);
  return (q, format) => queue(async () => renderReport(await makeReport(ctx, q), format, q.language ?? 'en'));
}
