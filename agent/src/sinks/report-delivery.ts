import { access, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Logger } from 'pino';
import type { Health } from '../core/health.js';
import { SinkError, type OutboxRecord, type Sink } from '../core/sink.js';
import { postToWebhook } from './http.js';

/**
 * Delivery of scheduled reports (agent/src/reports/README.md, "Schedules"): the two sinks a
 * schedule's outbox channels are sent with. A record names report files in the reports folder,
 * never their bytes; the sink reads them when it sends, so a retry sends the same file. A file
 * that is no longer there (pruned, removed by hand) is refused as malformed: its record goes to
 * the dead-letter table instead of blocking the ones after it.
 */

/** One report file a delivery names. */
export interface ReportFileRef {
  /** File name in the reports folder. */
  name: string;
  contentType: string;
  bytes: number;
}

/** The payload of a report channel's outbox record. */
export interface ReportDelivery {
  schedule: string;
  /** The period's label, e.g. `2026-11-03`. */
  period: string;
  /** The scope as the report normalized it, e.g. `site:demo`, and as it reads. */
  scope: string;
  scopeLabel: string;
  /** Webhook: one file per record; e-mail: all files of the report. */
  files: ReportFileRef[];
}

export function parseDelivery(r: OutboxRecord): ReportDelivery {
  let d: ReportDelivery;
  try {
    d = JSON.parse(r.payload) as ReportDelivery;
  } catch (err) {
    throw new SinkError('malformed', `the outbox record ${r.key} is not a report delivery: ${(err as Error).message}`);
  }
  if (!Array.isArray(d.files) || d.files.some((f) => typeof f.name !== 'string' || basename(f.name) !== f.name)) {
    throw new SinkError('malformed', `the outbox record ${r.key} names no report file of the reports folder`);
  }
  return d;
}

/** The bytes of a report file, or a malformed-record error when it is gone. */
async function reportFile(folder: string, f: ReportFileRef): Promise<Buffer> {
  try {
    return await readFile(join(folder, f.name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SinkError('malformed', `the report file ${f.name} is no longer in the reports folder (pruned or removed)`);
    throw new SinkError('retryable', `cannot read the report file ${f.name}: ${(err as Error).message}`, { cause: err });
  }
}

/** A header value in plain ASCII (a scope may name a material with other letters): anything else percent-encoded. */
const asciiHeader = (v: string) => v.replace(/[^\x20-\x7e]/g, (c) => encodeURIComponent(c));

export interface ReportWebhookOptions {
  /** The channel: `report.<schedule>.webhook`. */
  id: string;
  /** Where each file is POSTed; may carry a secret path, so it is never logged (errors name only its origin). */
  url: string;
  /** Extra request headers (e.g. `Authorization`); their values are never logged. */
  headers: Record<string, string>;
  timeoutMs: number;
  /** The reports folder the records' files are in. */
  folder: string;
}

class ReportWebhookSink implements Sink {
  readonly type = 'report-webhook';
  readonly id: string;
  private readonly url: URL;
  private status: Health = { status: 'ok' };

  constructor(private readonly o: ReportWebhookOptions) {
    this.id = o.id;
    this.url = new URL(o.url);
  }

  /** Each file of each record is one POST, in order; the body is the file. */
  async write(batch: readonly OutboxRecord[]): Promise<void> {
    for (const r of batch) {
      const d = parseDelivery(r);
      for (const f of d.files) {
        const body = await reportFile(this.o.folder, f);
        const headers: Record<string, string> = {
          'content-type': f.contentType,
          'content-disposition': `attachment; filename="${f.name}"`,
          'user-agent': 'yieldwatch',
          'x-yieldwatch-schedule': d.schedule,
          'x-yieldwatch-period': asciiHeader(d.period),
          'x-yieldwatch-scope': asciiHeader(d.scope),
          'x-yieldwatch-file': f.name,
          // The same for every attempt: a receiver that saw a file before can tell a retry (delivery is at least once).
          'idempotency-key': `${d.schedule}/${asciiHeader(d.period)}/${f.name}`,
          ...this.o.headers,
        };
        const { health, error } = await postToWebhook(this.url, body, { headers, timeoutMs: this.o.timeoutMs });
        this.status = health;
        if (error) throw error;
      }
    }
  }

  async close(): Promise<void> {}

  health(): Health {
    return this.status;
  }
}

/** The sink of a schedule's `webhook`: each report file POSTed as it is (`Content-Type` its format), with headers naming schedule, period and file. */
export function reportWebhookSink(o: ReportWebhookOptions): Sink {
  return new ReportWebhookSink(o);
}

export interface ReportEmailOptions {
  /** The channel: `report.<schedule>.email`. */
  id: string;
  smtp: { host: string; port: number; secure: boolean; user?: string | undefined; password?: string | undefined };
  from: string;
  to: readonly string[];
  folder: string;
  agentId: string;
  logger: Logger;
  /** Connection, greeting and socket timeouts (ms). */
  timeoutMs?: number;
}

/** The parts of nodemailer used here, loaded on first send: an agent that never e-mails never loads it. */
interface Mailer {
  sendMail(m: Record<string, unknown>): Promise<{ rejected?: unknown[] }>;
  close(): void;
}

const SMTP_AUTH_CODES = new Set([530, 534, 535, 538]);

/** What an SMTP failure means: authentication is blocked, another permanent (5xx) answer refuses the message, the rest is retried. */
export function classifySmtpError(err: unknown): SinkError {
  if (err instanceof SinkError) return err;
  const e = err as { code?: string; responseCode?: number; message?: string };
  const msg = `SMTP: ${e.message ?? String(err)}`;
  if (e.code === 'EAUTH' || (e.responseCode !== undefined && SMTP_AUTH_CODES.has(e.responseCode))) {
    return new SinkError('blocked', `${msg} (check reports.schedules[].email.smtp user and password)`, { cause: err });
  }
  if (e.responseCode !== undefined && e.responseCode >= 500 && e.responseCode < 600) return new SinkError('malformed', msg, { cause: err, status: e.responseCode });
  return new SinkError('retryable', msg, { cause: err, status: e.responseCode });
}

class ReportEmailSink implements Sink {
  readonly type = 'report-email';
  readonly id: string;
  private mailer: Mailer | undefined;
  private status: Health = { status: 'ok' };

  constructor(private readonly o: ReportEmailOptions) {
    this.id = o.id;
  }

  private async transport(): Promise<Mailer> {
    if (this.mailer !== undefined) return this.mailer;
    const m = await import('nodemailer');
    const nodemailer = (m as unknown as { default?: typeof m }).default ?? m;
    const { smtp } = this.o;
    const timeout = this.o.timeoutMs ?? 30_000;
    this.mailer = nodemailer.createTransport({
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      ...(smtp.user !== undefined ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
      connectionTimeout: timeout,
      greetingTimeout: timeout,
      socketTimeout: timeout * 2,
      logger: false,
      debug: false,
    }) as unknown as Mailer;
    return this.mailer;
  }

  /** One e-mail per record, the report's files attached. */
  async write(batch: readonly OutboxRecord[]): Promise<void> {
    const mailer = await this.transport();
    for (const r of batch) {
      const d = parseDelivery(r);
      // Every file must still be there before anything is sent: a missing one refuses the record.
      for (const f of d.files) {
        await access(join(this.o.folder, f.name)).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') throw new SinkError('malformed', `the report file ${f.name} is no longer in the reports folder (pruned or removed)`);
          throw new SinkError('retryable', `cannot read the report file ${f.name}: ${err.message}`, { cause: err });
        });
      }
      const list = d.files.map((f) => `  ${f.name} (${f.bytes} bytes)`).join('\n');
      try {
        const info = await mailer.sendMail({
          from: this.o.from,
          to: [...this.o.to],
          subject: `yieldwatch report ${d.period}: ${d.scopeLabel}`,
          text: `The ${d.schedule} report of ${d.scopeLabel} for ${d.period}, made by yieldwatch agent ${this.o.agentId}, is attached:\n${list}\n`,
          // The same for every attempt, so a mail client can tell a retry (delivery is at least once).
          messageId: `<${encodeURIComponent(`${d.schedule}.${d.period}`)}.report@${encodeURIComponent(this.o.agentId)}.yieldwatch>`,
          headers: { 'X-Yieldwatch-Schedule': d.schedule, 'X-Yieldwatch-Period': asciiHeader(d.period), 'X-Yieldwatch-Scope': asciiHeader(d.scope) },
          attachments: d.files.map((f) => ({ filename: f.name, path: join(this.o.folder, f.name), contentType: f.contentType })),
        });
        const rejected = info.rejected?.length ?? 0;
        if (rejected > 0) this.o.logger.warn({ sink: this.id, schedule: d.schedule, period: d.period, rejected }, 'The SMTP relay refused some recipients of a report; the others got it.');
        this.status = { status: 'ok' };
      } catch (err) {
        const e = classifySmtpError(err);
        this.status = { status: e.kind === 'blocked' ? 'down' : 'degraded', reason: e.message };
        throw e;
      }
    }
  }

  async close(): Promise<void> {
    this.mailer?.close();
    this.mailer = undefined;
  }

  health(): Health {
    return this.status;
  }
}

/** The sink of a schedule's `email`: one e-mail per report through the SMTP relay, with its files attached. */
export function reportEmailSink(o: ReportEmailOptions): Sink {
  return new ReportEmailSink(o);
}
