import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../../test/helpers/free-port.js';
import { SinkError, type OutboxRecord } from '../core/sink.js';
import { classifySmtpError, reportEmailSink, reportWebhookSink, type ReportDelivery } from './report-delivery.js';

const dir = mkdtempSync(join(tmpdir(), 'yw-report-delivery-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const delivery: ReportDelivery = { schedule: 'daily', period: '2026-11-03', scope: 'material:Stahl-Ü', scopeLabel: 'Stahl-Ü', files: [{ name: 'r.csv', contentType: 'text/csv; charset=utf-8', bytes: 3 }] };
const record = (d: unknown, id = 1): OutboxRecord => ({ id, sink: 'report.daily.webhook', createdAt: 0, key: 'report daily 2026-11-03', payload: typeof d === 'string' ? d : JSON.stringify(d) });

async function refusal(p: Promise<unknown>): Promise<SinkError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof SinkError) return err;
    throw err;
  }
  throw new Error('expected a SinkError');
}

describe('report deliveries', () => {
  it('a webhook POST is the file with headers naming it; a scope with other letters is percent-encoded in a header', async () => {
    writeFileSync(join(dir, 'r.csv'), 'a,b');
    const port = await freePort();
    const got: { headers: Record<string, unknown>; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        got.push({ headers: req.headers, body });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    try {
      const sink = reportWebhookSink({ id: 'report.daily.webhook', url: `http://127.0.0.1:${port}/in`, headers: { 'x-extra': '1' }, timeoutMs: 2000, folder: dir });
      await sink.write([record(delivery)]);
      expect(got).toEqual([
        {
          body: 'a,b',
          headers: expect.objectContaining({ 'content-type': 'text/csv; charset=utf-8', 'x-yieldwatch-scope': 'material:Stahl-%C3%9C', 'x-yieldwatch-file': 'r.csv', 'idempotency-key': 'daily/2026-11-03/r.csv', 'x-extra': '1' }),
        },
      ]);
      expect(sink.health().status).toBe('ok');
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });

  it('a file that is gone, or a record that names no file of the folder, is refused as malformed (a dead letter), before anything is sent', async () => {
    // Nothing listens there: nothing may be tried.
    const port = await freePort();
    const webhook = reportWebhookSink({ id: 'report.daily.webhook', url: `http://127.0.0.1:${port}/in`, headers: {}, timeoutMs: 2000, folder: dir });
    const email = reportEmailSink({ id: 'report.daily.email', smtp: { host: '127.0.0.1', port, secure: false }, from: 'a@b.test', to: ['c@d.test'], folder: dir, agentId: 'a', logger: pino({ level: 'silent' }) });
    const gone = { ...delivery, files: [{ ...delivery.files[0]!, name: 'pruned.csv' }] };
    for (const sink of [webhook, email]) {
      expect(await refusal(sink.write([record(gone)]))).toMatchObject({ kind: 'malformed', message: 'the report file pruned.csv is no longer in the reports folder (pruned or removed)' });
      expect((await refusal(sink.write([record({ ...delivery, files: [{ name: '../yieldwatch.db' }] })]))).kind).toBe('malformed');
      expect((await refusal(sink.write([record('not json')]))).kind).toBe('malformed');
    }
    // A relay that is not there is retried.
    writeFileSync(join(dir, 'r.csv'), 'a,b');
    expect((await refusal(email.write([record(delivery)]))).kind).toBe('retryable');
    await email.close();
  });

  it('SMTP answers: authentication blocks the channel, another permanent answer refuses the report, the rest is retried', () => {
    expect(classifySmtpError(Object.assign(new Error('Invalid login: 535 5.7.8 failed'), { code: 'EAUTH', responseCode: 535 })).kind).toBe('blocked');
    expect(classifySmtpError(Object.assign(new Error('530 must authenticate'), { code: 'EENVELOPE', responseCode: 530 })).kind).toBe('blocked');
    expect(classifySmtpError(Object.assign(new Error('552 message too large'), { code: 'EMESSAGE', responseCode: 552 })).kind).toBe('malformed');
    expect(classifySmtpError(Object.assign(new Error('451 try later'), { code: 'EENVELOPE', responseCode: 451 })).kind).toBe('retryable');
    expect(classifySmtpError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ESOCKET' })).kind).toBe('retryable');
  });
});
