import { z } from 'zod';
import { positiveDuration } from '../core/schema/duration.js';
import { byteSize } from '../core/schema/size.js';
import { SEVERITIES } from '../core/alert.js';

/** Which alert changes a sink takes. */
export const alertFilterSchema = z
  .strictObject({
    enabled: z.boolean().default(true).meta({ description: 'Send alert changes (fired, acknowledged, resolved) to this sink.' }),
    severities: z
      .array(z.enum(SEVERITIES as ['info', 'warning', 'critical']))
      .min(1)
      .default(['info', 'warning', 'critical'])
      .meta({ description: 'Only alerts of these severities.' }),
    lines: z.array(z.string().min(1)).default([]).meta({ description: 'Only alerts of machines on these lines (`site/line` or `site/area/line`); empty: every line.' }),
  })
  .prefault({})
  .meta({ description: 'Which alert changes this sink gets.' });
export type AlertFilter = z.output<typeof alertFilterSchema>;

/** TLS settings of an HTTP sink (`https://` URLs). */
export const httpTlsSchema = z
  .strictObject({
    caFile: z.string().min(1).optional().meta({ description: 'PEM file of the CA that signed the receiver\'s certificate, relative to the config file.' }),
    rejectUnauthorized: z.boolean().default(true).meta({ description: 'Verify the receiver\'s certificate; `false` only for tests.' }),
  })
  .prefault({})
  .meta({ description: 'TLS settings for `https://` URLs.' });

/** Keys every sink has: how the forwarder drives it and how much backlog the outbox keeps for it. */
export const sinkCommonShape = {
  id: z.string().regex(/^[A-Za-z0-9._-]+$/, { message: 'expected letters, digits, ".", "_" or "-"' }).meta({ description: 'Name of this sink in logs, metrics, the status API and the outbox.' }),
  batchSize: z.number().int().positive().max(100_000).default(5000).meta({ description: 'Records per write.' }),
  retryMin: positiveDuration('First delay after a failed write; doubles per failure in a row (with jitter) up to `retryMax`. A Retry-After from the server wins.').prefault('1s'),
  retryMax: positiveDuration('Longest delay between retries; also the retry interval while the sink is blocked (credentials, missing database).').prefault('5m'),
  backlog: z
    .strictObject({
      maxSize: byteSize('Most payload bytes kept for this sink; beyond it the oldest records are dropped (counted, health warning).').prefault('256MiB'),
      maxAge: positiveDuration('Records older than this are dropped unsent (counted, health warning).').prefault('7d'),
    })
    .prefault({})
    .meta({ description: 'The outbox bound of this sink: sources never wait for a sink; when it is down longer than this allows, the oldest records go first.' }),
  alerts: alertFilterSchema,
};
