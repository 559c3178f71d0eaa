import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Health } from '../../core/health.js';
import type { PluginContext } from '../../core/plugin.js';
import { SinkError, type OutboxRecord, type Sink, type SinkDef } from '../../core/sink.js';
import { parseRetryAfter, post, type HttpAnswer } from '../http.js';
import type { InfluxdbSinkConfig, influxdbSinkSchema } from './config.js';
import { alertLine, windowLine } from './line.js';

/** Longest server answer kept in an error message and the dead-letter table. */
const MAX_ANSWER_CHARS = 1000;

/** The error text of an InfluxDB answer: its JSON `error`, else the raw body, shortened. */
function answerText(body: string): string {
  let text = body.trim();
  try {
    const j = JSON.parse(text) as { error?: unknown };
    if (typeof j.error === 'string') text = j.error;
  } catch {
    // Not JSON (a proxy's HTML page): keep the text.
  }
  return text.length > MAX_ANSWER_CHARS ? `${text.slice(0, MAX_ANSWER_CHARS)}…` : text;
}

/**
 * What an HTTP answer of `/write` or `/query` means for the forwarder (README.md, "Errors"):
 * 2xx accepted; 400 and 413 malformed (split and dead-letter); 401, 403 and 404 (database not
 * found) blocked; 429 and 5xx retryable, honouring Retry-After; anything else retryable.
 */
export function classify(status: number, body: string, retryAfterMs: number | undefined): SinkError | undefined {
  if (status >= 200 && status < 300) return undefined;
  const text = answerText(body);
  const msg = `HTTP ${status}${text ? `: ${text}` : ''}`;
  if (status === 400 || status === 413) return new SinkError('malformed', msg, { status });
  if (status === 401 || status === 403) return new SinkError('blocked', `${msg} (check the sink's auth settings)`, { status });
  if (status === 404) return new SinkError('blocked', `${msg} (create the database, or set createDatabase: true)`, { status });
  return new SinkError('retryable', msg, { status, retryAfterMs });
}

class InfluxdbSink implements Sink {
  readonly type = 'influxdb';
  readonly id: string;
  private readonly base: URL;
  private readonly ca: Buffer | undefined;
  private status: Health = { status: 'ok' };

  constructor(
    private readonly config: InfluxdbSinkConfig,
    private readonly ctx: PluginContext,
  ) {
    this.id = config.id;
    this.base = new URL(config.url.endsWith('/') ? config.url : `${config.url}/`);
    const caFile = config.tls.caFile;
    this.ca = caFile === undefined ? undefined : readFileSync(isAbsolute(caFile) ? caFile : resolve(ctx.baseDir, caFile));
  }

  async prepare(): Promise<void> {
    if (!this.config.createDatabase) return;
    const q = `CREATE DATABASE "${this.config.database.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
    const res = await this.request('query', { q }, Buffer.from(''), 'application/x-www-form-urlencoded');
    const err = classify(res.status, res.body, undefined);
    if (err) throw err;
    this.ctx.logger.info({ database: this.config.database }, 'InfluxDB database ensured.');
  }

  async write(batch: readonly OutboxRecord[]): Promise<void> {
    const lines = batch.map((r) => r.payload).join('\n');
    const body = this.config.gzip ? gzipSync(lines) : Buffer.from(lines);
    const params: Record<string, string> = { db: this.config.database, precision: 'ms' };
    if (this.config.retentionPolicy !== undefined) params.rp = this.config.retentionPolicy;
    const res = await this.request('write', params, body, 'text/plain; charset=utf-8');
    const err = classify(res.status, res.body, parseRetryAfter(res.headers['retry-after'], Date.now()));
    this.status = err === undefined ? { status: 'ok' } : { status: err.kind === 'blocked' ? 'down' : 'degraded', reason: err.message };
    if (err) throw err;
  }

  async close(): Promise<void> {
    // No pooled connections are kept: every request closes its own socket.
  }

  health(): Health {
    return this.status;
  }

  private request(path: 'write' | 'query', params: Record<string, string>, body: Buffer, contentType: string): Promise<HttpAnswer> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
    const headers: Record<string, string | number> = { 'content-type': contentType };
    if (path === 'write' && this.config.gzip) headers['content-encoding'] = 'gzip';
    const auth = this.config.auth;
    if (auth.type === 'password') headers.authorization = `Basic ${Buffer.from(`${auth.userName}:${auth.password}`).toString('base64')}`;
    if (auth.type === 'token') headers.authorization = `Token ${auth.token}`;
    if (path === 'query') {
      // InfluxQL goes in the form body, so it never shows up in proxy logs.
      body = Buffer.from(url.searchParams.toString());
      url.search = '';
    }
    return post(url, body, { headers, timeoutMs: this.config.timeout, ca: this.ca, rejectUnauthorized: this.config.tls.rejectUnauthorized });
  }
}

/** The `influxdb` sink: windows as line protocol to the v1 `/write` API. */
export const influxdbSink = {
  type: 'influxdb',
  config: () => import('./config.js').then((m) => m.influxdbSinkSchema),
  serializeWindow: (config: InfluxdbSinkConfig, a, agentId) => windowLine(config.measurement, a, agentId),
  serializeAlert: (config: InfluxdbSinkConfig, c, _open, agentId) => alertLine(config.alertMeasurement, c, agentId),
  // A window is a point at its start in its own series: a resend overwrites it, so history can be sent again.
  backfill: true,
  create(config: InfluxdbSinkConfig, ctx: PluginContext): Sink {
    return new InfluxdbSink(config, ctx);
  },
} satisfies SinkDef<typeof influxdbSinkSchema>;
