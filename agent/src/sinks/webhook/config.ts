import { z } from 'zod';
import { positiveDuration } from '../../core/schema/duration.js';
import { httpTlsSchema, sinkCommonShape } from '../common.js';

export const webhookSinkSchema = z.strictObject({
  type: z.literal('webhook'),
  ...sinkCommonShape,
  id: sinkCommonShape.id.default('webhook'),
  batchSize: z
    .number()
    .int()
    .positive()
    .max(100)
    .default(1)
    .meta({ description: 'Notifications per write. 1 (the default) acks each one as it is delivered, so a retry never sends an earlier one again.' }),
  url: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, { message: 'expected an http:// or https:// URL' })
    .meta({ description: 'Where each alert change is POSTed. It may carry a secret path (Teams, Slack): it is never logged.' }),
  format: z
    .enum(['json', 'teams', 'slack'])
    .default('json')
    .meta({ description: '`json`: the alert change as the API shows it; `teams`: an Adaptive Card for a Microsoft Teams Workflows webhook; `slack`: a Slack incoming-webhook message.' }),
  secret: z
    .string()
    .min(16, { message: 'expected at least 16 characters' })
    .optional()
    .meta({ description: 'HMAC-SHA256 key of at least 16 characters: each request carries `X-Yieldwatch-Timestamp` and `X-Yieldwatch-Signature: v1=<hex of HMAC(secret, "<timestamp>.<body>")>`. Prefer `${ENV}`.' }),
  headers: z.record(z.string(), z.string()).default({}).meta({ description: 'Extra request headers, e.g. `Authorization`. Values are never logged.' }),
  dashboardUrl: z.string().url().optional().meta({ description: 'Base URL of the dashboard (e.g. `http://edge-01:8080`): Teams and Slack messages link the alert\'s page there.' }),
  tls: httpTlsSchema,
  timeout: positiveDuration('How long one request may take before it is abandoned and retried.').prefault('10s'),
});
export type WebhookSinkConfig = z.output<typeof webhookSinkSchema>;
