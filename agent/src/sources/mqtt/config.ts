import { z } from 'zod';
import { SUMMED_SIGNALS, CONTEXT_SIGNALS } from '../../core/signals.js';
import { duration, positiveDuration } from '../../core/schema/duration.js';
import { mqttTlsSchema, mqttUrlSchema } from '../../connections/mqtt/config.js';
import { reasonCodeSchema } from '../../core/schema/reason-code.js';

const PLACEHOLDER_RE = /\{(site|area|line|machine)\}/g;

export const mqttTopicSchema = z
  .strictObject({
    topic: z
      .string()
      .min(1)
      .refine((t) => !/[#+]/.test(t), { message: 'expected a topic template with {site}, {area}, {line} or {machine} placeholders, not MQTT wildcards' })
      .refine((t) => t.includes('{machine}'), { message: 'expected the template to capture {machine}' })
      .meta({
        description:
          'Topic template; `{site}`, `{area}`, `{line}` and `{machine}` each capture one topic level, e.g. `plant1/{line}/{machine}/counters`.',
      }),
    site: z.string().optional().meta({ description: 'Site of the machines when the template does not capture `{site}`.' }),
    area: z.string().optional().meta({ description: 'Area of the machines when the template does not capture `{area}` (optional level).' }),
    line: z.string().optional().meta({ description: 'Line of the machines when the template does not capture `{line}`.' }),
    fields: z
      .partialRecord(z.enum([...SUMMED_SIGNALS, ...CONTEXT_SIGNALS]), z.string().min(1))
      .default({})
      .meta({ description: 'Canonical signal → JSON payload field (dots reach into nested objects: `counters.good`).' }),
    timestamp: z
      .strictObject({
        field: z.string().min(1).meta({ description: 'Payload field that holds the machine timestamp.' }),
        format: z
          .enum(['epoch_ms', 'epoch_s', 'iso8601'])
          .default('epoch_ms')
          .meta({ description: 'How the timestamp is written: epoch milliseconds, epoch seconds or an ISO 8601 string.' }),
      })
      .optional()
      .meta({ description: 'Where the event time is; without it the arrival time is used.' }),
    seqField: z.string().optional().meta({ description: 'Payload field with a message sequence number, for de-duplicating `delta` signals.' }),
    scrapByReason: z
      .strictObject({
        fields: z
          .record(reasonCodeSchema, z.string().min(1))
          .optional()
          .meta({ description: 'Reason code → payload field holding that reason\'s scrap counter (or its count of events), e.g. `{ burr: counters.scrap_burr }`.' }),
        object: z
          .string()
          .min(1)
          .optional()
          .meta({ description: 'Payload field holding an object of scrap counters keyed by reason code, e.g. `scrap` for `{"scrap": {"burr": 12, "crack": 3}}`.' }),
      })
      .refine((r) => (r.fields === undefined) !== (r.object === undefined), { message: 'expected exactly one of `fields` and `object`' })
      .optional()
      .meta({
        description:
          'Scrap counted per reason, each reason its own counter of the kind of `parts_scrap` (agent/src/kpi/README.md, "Scrap by reason and destination"); `parts_scrap` is then their sum, so the topic maps no `parts_scrap` field.',
      }),
  })
  .superRefine((t, ctx) => {
    if (Object.keys(t.fields).length === 0 && t.scrapByReason === undefined) {
      ctx.addIssue({ code: 'custom', path: ['fields'], message: 'expected at least one signal mapped to a payload field' });
    }
    if (t.scrapByReason !== undefined && t.fields.parts_scrap !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['scrapByReason'], message: 'expected either `fields.parts_scrap` or `scrapByReason`, not both: the reason counters add up to the scrap count' });
    }
    const captured = new Set([...t.topic.matchAll(PLACEHOLDER_RE)].map((m) => m[1]));
    for (const level of ['site', 'line'] as const) {
      if (!captured.has(level) && t[level] === undefined) {
        ctx.addIssue({ code: 'custom', path: [level], message: `expected "${level}" to be set or captured as {${level}} in the topic` });
      }
    }
  });
export type MqttTopicConfig = z.output<typeof mqttTopicSchema>;

export const mqttSourceSchema = z.strictObject({
  type: z.literal('mqtt'),
  id: z.string().regex(/^[A-Za-z0-9._-]+$/).default('mqtt').meta({ description: 'Name of this source in logs, metrics and samples.' }),
  url: mqttUrlSchema,
  clientId: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'Fixed MQTT client id, so the broker keeps the session across restarts. Default: `yieldwatch-<agent.id>-<source id>`.' }),
  username: z.string().optional().meta({ description: 'Broker user name.' }),
  password: z.string().optional().meta({ description: 'Broker password; prefer `${ENV}` or `YIELDWATCH_SOURCES__<n>__PASSWORD`. Never logged.' }),
  tls: mqttTlsSchema,
  qos: z.union([z.literal(0), z.literal(1)]).default(1).meta({ description: 'Subscription QoS; 1 lets the broker queue messages while the agent is away.' }),
  receiveMaximum: z
    .number()
    .int()
    .min(1)
    .max(65535)
    .default(10000)
    .meta({
      description:
        'MQTT 5 Receive Maximum: how many QoS 1 messages the broker may send before their acknowledgement. A message is acknowledged only after the commit that saves it (up to `kpi.commitInterval`), so this caps the rate at `receiveMaximum` per commit interval: 10,000 per 100 ms is 100,000 msg/s, above what the agent takes. With MQTT 3.1.1 the broker\'s own limit applies instead (Mosquitto: `max_inflight_messages`).',
    }),
  sessionExpiry: duration('How long the broker keeps the session and its queued messages while the agent is disconnected (MQTT 5).').prefault('7d'),
  keepalive: positiveDuration('MQTT keep-alive interval.').prefault('30s'),
  reconnectMin: positiveDuration('First reconnect delay; doubles up to `reconnectMax`.').prefault('1s'),
  reconnectMax: positiveDuration('Longest reconnect delay.').prefault('60s'),
  maxPayloadBytes: z.number().int().positive().default(65536).meta({ description: 'Larger payloads are rejected unparsed.' }),
  rejectLogInterval: positiveDuration('A rejection reason of a machine is logged at most once per this interval (every one is counted).').prefault('60s'),
  topics: z.array(mqttTopicSchema).min(1).meta({ description: 'Topic templates and their payload mappings.' }),
}).refine((c) => c.reconnectMax >= c.reconnectMin, { message: 'expected reconnectMax to be at least reconnectMin', path: ['reconnectMax'] });
export type MqttSourceConfig = z.output<typeof mqttSourceSchema>;
