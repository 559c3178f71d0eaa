import { z } from 'zod';
import { positiveDuration } from '../../core/schema/duration.js';
import { httpTlsSchema, sinkCommonShape } from '../common.js';

const authSchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('none').meta({ description: 'No authentication.' }) }),
    z.strictObject({
      type: z.literal('password').meta({ description: 'InfluxDB 1.x user name and password (HTTP basic authentication).' }),
      userName: z.string().min(1).meta({ description: 'User name.' }),
      password: z.string().meta({ description: 'Password; prefer `${ENV}`. Never logged.' }),
    }),
    z.strictObject({
      type: z.literal('token').meta({ description: 'API token (InfluxDB 2.x v1-compatibility API, InfluxDB 3), sent as `Authorization: Token …`.' }),
      token: z.string().min(1).meta({ description: 'The token; prefer `${ENV}`. Never logged.' }),
    }),
  ])
  .meta({ description: 'How the sink authenticates; `type` selects the variant.' });

export const influxdbSinkSchema = z.strictObject({
  type: z.literal('influxdb'),
  ...sinkCommonShape,
  id: sinkCommonShape.id.default('influxdb'),
  url: z
    .string()
    .regex(/^https?:\/\/[^\s/]+(\/[^\s]*)?$/, { message: 'expected an InfluxDB URL such as "http://127.0.0.1:8086" or "https://influx.plant1.example:8086"' })
    .meta({ description: 'Base URL of the InfluxDB HTTP API; the sink uses its v1 endpoints `/write` and `/query`.' }),
  database: z.string().min(1).meta({ description: 'Database (InfluxDB 1.x), or the database of a DBRP mapping (2.x), or the database (3 Core).' }),
  retentionPolicy: z.string().min(1).optional().meta({ description: 'Retention policy to write to; default: the database\'s default.' }),
  measurement: z.string().min(1).default('yieldwatch_window').meta({ description: 'Measurement of the window points.' }),
  alertMeasurement: z.string().min(1).default('yieldwatch_alert').meta({ description: 'Measurement of the alert events (fired, acknowledged, resolved).' }),
  auth: authSchema.prefault({ type: 'none' }),
  tls: httpTlsSchema,
  gzip: z.boolean().default(true).meta({ description: 'Compress write bodies with gzip.' }),
  timeout: positiveDuration('How long one HTTP request may take before it is abandoned and retried.').prefault('10s'),
  createDatabase: z.boolean().default(false).meta({ description: 'Run `CREATE DATABASE` once before the first write (InfluxDB 1.x; needs admin rights).' }),
});
export type InfluxdbSinkConfig = z.output<typeof influxdbSinkSchema>;
