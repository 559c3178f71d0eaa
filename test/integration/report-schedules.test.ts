/**
 * Scheduled reports in the real agent (agent/src/reports/README.md, "Schedules"): a store in a
 * temp dir filled through the real pipeline on a virtual clock, a daily schedule that writes its
 * report once per period (across a restart, and after days down), a webhook receiver on a
 * free port that refuses with 503 before it takes each file exactly once, a receiver that refuses
 * for good (dead letter), an SMTP relay (smtp-server) that receives the files as attachments, the
 * reports missed while the agent was down made at its start, and a schedule whose scope no longer
 * exists, which fails, is counted, and stops nothing.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/src/agent.js';
import { validateConfig } from '../../agent/src/config/load.js';
import { VirtualClock } from '../../agent/src/core/clock.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

const M = 'rs/l1/press';
/** Monday 2 November 2026, 00:00 in Amsterdam (CET). */
const FROM = Date.parse('2026-11-01T23:00:00Z');
/** Wednesday 4 November, 05:50 in Amsterdam: the occurrence due is Tuesday's 06:00, reporting Monday. */
const FIRST_START = Date.parse('2026-11-04T04:50:00Z');
const SECRET_PATH = '/hooks/s3cr3t-path-0123';
const TOKEN = 'Bearer report-token-never-logged';

interface Received {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A webhook receiver: `/reports` answers 503 to the first request and 200 after; `/refuse` answers 422. */
async function receiver(port: number) {
  const got: Received[] = [];
  let first = true;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let status = 200;
      if (req.url === `${SECRET_PATH}/refuse`) status = 422;
      else if (first) {
        status = 503;
        first = false;
      }
      got.push({ status, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 422 ? 'we take no CSV here' : '');
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { got, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** An SMTP relay that keeps every message it gets. */
async function relay(port: number) {
  const messages: { from: string; to: string[]; raw: string }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        messages.push({
          from: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        done();
      });
    },
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { messages, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The attachments of a MIME message by file name, decoded. */
function attachments(raw: string): Map<string, Buffer> {
  const boundaries = [...raw.matchAll(/boundary="?([^";\r\n]+)"?/g)].map((m) => m[1]!);
  const out = new Map<string, Buffer>();
  for (const b of boundaries) {
    for (const part of raw.split(`--${b}`)) {
      const name = /filename="?([^";\r\n]+)"?/.exec(part)?.[1];
      if (name === undefined) continue;
      const split = part.indexOf('\r\n\r\n');
      const head = part.slice(0, split);
      const body = part.slice(split + 4).trim();
      out.set(name, /content-transfer-encoding: base64/i.test(head) ? Buffer.from(body.replace(/\s+/g, ''), 'base64') : Buffer.from(body));
    }
  }
  return out;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('scheduled reports in the running agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-schedules-'));
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a daily report is made once per period, delivered through outages by webhook and e-mail, and a broken schedule stops nothing', { timeout: 90_000 }, async () => {
    const [hookPort, smtpPort] = [await freePort(), await freePort()];
    const hook = await receiver(hookPort);
    cleanups.push(hook.close);
    const smtp = await relay(smtpPort);
    cleanups.push(smtp.close);
    const url = `http://127.0.0.1:${hookPort}${SECRET_PATH}`;
    const config = validateConfig({
      agent: { id: 'sched', dataDir: dir },
      kpi: { windowSize: '5m', allowedLateness: '10s' },
      sites: { rs: { timeZone: 'Europe/Amsterdam' } },
      materials: { steel: { pricePerKg: 2 } },
      machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } },
      machines: [{ path: M, partMassKg: 0.5, material: 'steel' }],
      api: { enabled: false },
      reports: {
        schedules: [
          {
            id: 'daily',
            cron: '0 6 * * *',
            period: 'yesterday',
            scope: 'site:rs',
            formats: ['csv', 'json'],
            webhook: { url: `${url}/reports`, headers: { authorization: TOKEN }, timeout: '5s' },
            email: { smtp: { host: '127.0.0.1', port: smtpPort, secure: false }, from: 'agent@plant.test', to: ['plant-manager@plant.test', 'quality@plant.test'] },
          },
          { id: 'refused', cron: '0 6 * * *', scope: 'site:rs', formats: ['csv'], webhook: { url: `${url}/refuse` } },
          // The machine was renamed after the schedule was written: its reports fail until the config is fixed.
          { id: 'broken', cron: '0 6 * * *', scope: 'machine:rs/l1/old-press', formats: ['csv'] },
        ],
      },
    });
    const clock = new VirtualClock(FROM);
    const logs: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
    const newAgent = () => new Agent({ config, dataDir: dir, baseDir: dir, clock, logger });
    const folder = join(dir, 'reports');
    /** Moves the virtual clock to `t` a minute at a time, letting the agent finish what each minute started (as real time would). */
    const passTime = async (a: Agent, t: number) => {
      while (clock.now() < t) {
        clock.set(Math.min(t, clock.now() + 60_000));
        await a.reports.idle();
      }
    };
    const runs = (a: Agent) => a.store.reportRuns.list('daily').map((r) => r.period);

    // Two and a half days of a press through the real pipeline, before the agent starts: 10 parts a minute, 1 in 10 scrap.
    let agent = newAgent();
    let good = 0;
    let scrap = 0;
    for (let t = FROM; t <= FIRST_START; t += 60_000) {
      clock.set(t);
      good += 9;
      scrap += 1;
      agent.pipeline.ingest([
        { machine: M, signal: 'parts_good', value: good, ts: t, source: 't' },
        { machine: M, signal: 'parts_scrap', value: scrap, ts: t, source: 't' },
      ]);
      agent.pipeline.tick();
    }

    // First start: the latest due occurrence (Tuesday 06:00) makes Monday's report.
    await agent.start();
    cleanups.push(() => agent.stop());
    await agent.reports.idle();
    expect(runs(agent)).toEqual(['2026-11-02']);
    const files = ['yieldwatch-daily-site_rs-2026-11-02.csv', 'yieldwatch-daily-site_rs-2026-11-02.json'];
    expect(readdirSync(folder).filter((f) => f.includes('daily')).sort()).toEqual(files);
    const json = JSON.parse(readFileSync(join(folder, files[1]!), 'utf8')) as { period: { label: string }; scope: { spec: string }; totals: { parts_good: number; parts_scrap: number } };
    expect(json.period.label).toBe('2026-11-02');
    expect(json.scope.spec).toBe('site:rs');
    // 1,440 minutes of 9 good and 1 scrap (the first sample is the counters' baseline).
    expect(json.totals.parts_good + json.totals.parts_scrap).toBeGreaterThan(14_000);
    expect(json.totals.parts_scrap / (json.totals.parts_good + json.totals.parts_scrap)).toBeCloseTo(0.1, 2);
    const bytes = new Map(files.map((f) => [f, readFileSync(join(folder, f))]));
    const mtimes = files.map((f) => statSync(join(folder, f)).mtimeMs);

    // The webhook refused the first file with 503; the forwarder retries, and each file arrives once.
    const status = (id: string) => agent.forwarders.concat(agent.reports.forwarders).find((f) => f.sinkId === id)!.status();
    await waitFor('the webhook deliveries', () => status('report.daily.webhook').pendingRecords === 0 && status('report.daily.webhook').delivered === 2, 20_000, 20);
    expect(status('report.daily.webhook').errors.retryable).toBe(1);
    const accepted = hook.got.filter((r) => r.status === 200);
    expect(hook.got[0]!.status).toBe(503);
    expect(accepted.map((r) => r.headers['x-yieldwatch-file']).sort()).toEqual(files);
    for (const r of accepted) {
      const name = r.headers['x-yieldwatch-file'] as string;
      expect(sha(r.body)).toBe(sha(bytes.get(name)!));
      expect(r.headers).toMatchObject({
        'x-yieldwatch-schedule': 'daily',
        'x-yieldwatch-period': '2026-11-02',
        'x-yieldwatch-scope': 'site:rs',
        'content-type': name.endsWith('.csv') ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8',
        'content-disposition': `attachment; filename="${name}"`,
        'idempotency-key': `daily/2026-11-02/${name}`,
        authorization: TOKEN,
      });
    }

    // The receiver that refuses for good: the record goes to the dead-letter table, with the answer.
    await waitFor('the refused report dead-lettered', () => status('report.refused.webhook').deadLettered === 1, 20_000, 20);
    expect(agent.store.outbox.deadLetters('report.refused.webhook').map((d) => [d.key, d.error])).toEqual([
      ['report refused 2026-11-02 yieldwatch-refused-site_rs-2026-11-02.csv', 'HTTP 422: we take no CSV here'],
    ]);

    // One e-mail with both files attached.
    await waitFor('the e-mail', () => status('report.daily.email').delivered === 1, 20_000, 20);
    expect(smtp.messages).toHaveLength(1);
    const mail = smtp.messages[0]!;
    expect(mail.from).toBe('agent@plant.test');
    expect(mail.to.sort()).toEqual(['plant-manager@plant.test', 'quality@plant.test']);
    expect(mail.raw).toMatch(/^Subject: yieldwatch report 2026-11-02: /m);
    const attached = attachments(mail.raw);
    expect([...attached.keys()].sort()).toEqual(files);
    for (const f of files) expect(sha(attached.get(f)!)).toBe(sha(bytes.get(f)!));

    // The broken schedule failed, was logged with its reason and counted; the agent runs on.
    const health = agent.health();
    expect(health['report:daily']!.status).toBe('ok');
    expect(health['report:broken']).toMatchObject({ status: 'degraded', reason: expect.stringMatching(/unknown machine "rs\/l1\/old-press"/) });
    expect(health['sink:report.daily.webhook']!.status).toBe('ok');
    const metrics = await agent.registry.metrics();
    expect(metrics).toContain('yieldwatch_reports_made_total{schedule="daily"} 1');
    expect(metrics).toContain('yieldwatch_report_failures_total{schedule="broken"} 1');
    expect(metrics).toContain('yieldwatch_sink_delivered_records_total{sink="report.daily.webhook"} 2');
    expect(logs.some((l) => l.includes('"schedule":"broken"') && l.includes('unknown machine'))).toBe(true);

    // Stop and start again at the same time: still one run and the same files, nothing sent again.
    await agent.stop();
    agent = newAgent();
    await agent.start();
    await agent.reports.idle();
    expect(runs(agent)).toEqual(['2026-11-02']);
    expect(readdirSync(folder).filter((f) => f.includes('daily')).sort()).toEqual(files);
    expect(files.map((f) => statSync(join(folder, f)).mtimeMs)).toEqual(mtimes);
    // Still failing after the restart, tried once for its latest occurrence.
    expect(agent.reports.stats().find((s) => s.schedule === 'broken')).toMatchObject({ made: 0, failed: 1 });

    // The next occurrence (Wednesday 06:00) comes while the agent runs: Tuesday's report.
    await passTime(agent, Date.parse('2026-11-04T05:05:00Z'));
    expect(runs(agent)).toEqual(['2026-11-02', '2026-11-03']);
    // The outbox counts deliveries since the store was made.
    await waitFor('Tuesday delivered', () => status('report.daily.webhook').delivered === 4 && status('report.daily.email').delivered === 2 && smtp.messages.length === 2, 20_000, 20);

    // Down from Wednesday until Saturday 06:30: the reports missed meanwhile (Wednesday's to Friday's) are made at start, oldest first.
    await agent.stop();
    clock.set(Date.parse('2026-11-07T05:30:00Z'));
    agent = newAgent();
    await agent.start();
    await agent.reports.idle();
    expect(runs(agent)).toEqual(['2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05', '2026-11-06']);
    await waitFor('the missed days delivered', () => smtp.messages.length === 5 && hook.got.filter((r) => r.status === 200).length === 10, 20_000, 20);
    expect(hook.got.filter((r) => r.status === 200).map((r) => r.headers['x-yieldwatch-period'])).toEqual(
      ['2026-11-02', '2026-11-03', '2026-11-04', '2026-11-05', '2026-11-06'].flatMap((p) => [p, p]),
    );
    expect(await agent.registry.metrics()).toContain('yieldwatch_report_failing_periods{schedule="daily"} 0');

    // Retention: files of reports made before the cut are deleted, their runs stay (never made again).
    // Two days of the daily schedule's two files and of the refused one's CSV.
    expect(agent.reports.pruneFiles(Date.parse('2026-11-05T00:00:00Z'))).toBe(6);
    expect(readdirSync(folder).filter((f) => f.includes('daily')).sort()).toEqual(['2026-11-04', '2026-11-05', '2026-11-06'].flatMap((p) => [`yieldwatch-daily-site_rs-${p}.csv`, `yieldwatch-daily-site_rs-${p}.json`]));
    expect(agent.store.reportRuns.list('daily').map((r) => [r.period, r.prunedAt !== undefined])).toEqual([
      ['2026-11-02', true],
      ['2026-11-03', true],
      ['2026-11-04', false],
      ['2026-11-05', false],
      ['2026-11-06', false],
    ]);
    expect(existsSync(join(folder, files[0]!))).toBe(false);

    // Neither the webhook URL's secret path nor a header value was ever logged.
    expect(logs.length).toBeGreaterThan(0);
    expect(logs.filter((l) => l.includes('s3cr3t') || l.includes('report-token'))).toEqual([]);
    if (process.env.SHOW_LOGS) console.log(logs.join(''));
  });
});
