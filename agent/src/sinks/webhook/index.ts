import { createHmac } from 'node:crypto';
import type { Health } from '../../core/health.js';
import type { PluginContext } from '../../core/plugin.js';
import { readConfigFile } from '../../core/config-file.js';
import { SinkError, type OutboxRecord, type Sink, type SinkDef } from '../../core/sink.js';
import { parseRetryAfter, post } from '../http.js';
import type { WebhookSinkConfig, webhookSinkSchema } from './config.js';
import { jsonBody, slackBody, teamsBody } from './format.js';

/** The signature a receiver checks: hex HMAC-SHA256 of `<timestamp>.<body>` with the shared secret. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What an answer means: 2xx delivered; 408, 429 and 5xx retried; 401, 403, 404 blocked; other 4xx refused (dead letter). */
export function classifyAnswer(status: number, body: string, retryAfterMs: number | undefined): SinkError | undefined {
  if (status >= 200 && status < 300) return undefined;
  const text = body.trim().slice(0, 500);
  const msg = `HTTP ${status}${text ? `: ${text}` : ''}`;
  if (status === 408 || status === 429 || status >= 500) return new SinkError('retryable', msg, { status, retryAfterMs });
  if (status === 401 || status === 403 || status === 404 || status === 410) return new SinkError('blocked', `${msg} (check the webhook URL and its credentials)`, { status });
  if (status >= 400) return new SinkError('malformed', msg, { status });
  return new SinkError('retryable', msg, { status });
}

class WebhookSink implements Sink {
  readonly type = 'webhook';
  readonly id: string;
  private readonly url: URL;
  private ca: Buffer | undefined;
  private status: Health = { status: 'ok' };

  constructor(
    private readonly config: WebhookSinkConfig,
    private readonly ctx: PluginContext,
  ) {
    this.id = config.id;
    this.url = new URL(config.url);
  }

  async prepare(): Promise<void> {
    const caFile = this.config.tls.caFile;
    if (caFile !== undefined) this.ca = await readConfigFile(this.ctx, `Webhook sink "${this.id}"`, 'TLS CA', caFile);
  }

  /** One request per record, in order: receivers (Teams, Slack) take one message per request. */
  async write(batch: readonly OutboxRecord[]): Promise<void> {
    for (let i = 0; i < batch.length; i++) {
      const r = batch[i]!;
      const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'yieldwatch', ...this.config.headers };
      if (this.config.secret !== undefined) {
        const ts = String(Math.floor(Date.now() / 1000));
        headers['x-yieldwatch-timestamp'] = ts;
        headers['x-yieldwatch-signature'] = signature(this.config.secret, ts, r.payload);
      }
      const res = await post(this.url, Buffer.from(r.payload), { headers, timeoutMs: this.config.timeout, ca: this.ca, rejectUnauthorized: this.config.tls.rejectUnauthorized });
      const err = classifyAnswer(res.status, res.body, parseRetryAfter(res.headers['retry-after'], Date.now()));
      this.status = err === undefined ? { status: 'ok' } : { status: err.kind === 'blocked' ? 'down' : 'degraded', reason: err.message };
      // A refused record is isolated by the forwarder's split; the ones before it were delivered and are sent again (same bytes).
      if (err) throw err;
    }
  }

  async close(): Promise<void> {}

  health(): Health {
    return this.status;
  }
}

/** The `webhook` sink: every alert change POSTed as JSON (plain, Teams or Slack), signed when a secret is set. Windows are not sent. */
export const webhookSink = {
  type: 'webhook',
  config: () => import('./config.js').then((m) => m.webhookSinkSchema),
  serializeWindow: () => undefined,
  serializeAlert: (config: WebhookSinkConfig, c, _open, agentId) => {
    if (c.kind === 'late_breach') return undefined;
    const body = config.format === 'teams' ? teamsBody(c, config.dashboardUrl) : config.format === 'slack' ? slackBody(c, config.dashboardUrl) : jsonBody(c, agentId);
    return JSON.stringify(body);
  },
  create(config: WebhookSinkConfig, ctx: PluginContext): Sink {
    return new WebhookSink(config, ctx);
  },
} satisfies SinkDef<typeof webhookSinkSchema>;
