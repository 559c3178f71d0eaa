import { createHmac } from 'node:crypto';
import type { Health } from '../../core/health.js';
import type { PluginContext } from '../../core/plugin.js';
import { readConfigFile } from '../../core/config-file.js';
import type { OutboxRecord, Sink, SinkDef } from '../../core/sink.js';
import { classifyAnswer, postToWebhook } from '../http.js';
import type { WebhookSinkConfig, webhookSinkSchema } from './config.js';
import { jsonBody, slackBody, teamsBody } from './format.js';

/** The signature a receiver checks: hex HMAC-SHA256 of `<timestamp>.<body>` with the shared secret. */
export function signature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export { classifyAnswer };

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
      const { health, error: err } = await postToWebhook(this.url, Buffer.from(r.payload), { headers, timeoutMs: this.config.timeout, ca: this.ca, rejectUnauthorized: this.config.tls.rejectUnauthorized });
      this.status = health;
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
