import { z } from 'zod';
import { positiveDuration } from '../../core/schema/duration.js';
import { mqttTlsSchema, mqttUrlSchema } from '../../connections/mqtt/config.js';
import { sinkCommonShape } from '../common.js';

export const mqttSinkSchema = z.strictObject({
  type: z.literal('mqtt'),
  ...sinkCommonShape,
  id: sinkCommonShape.id.default('mqtt-publish'),
  url: mqttUrlSchema,
  clientId: z.string().min(1).optional().meta({ description: 'MQTT client id. Default: `yieldwatch-<agent.id>-<sink id>`.' }),
  username: z.string().optional().meta({ description: 'Broker user name.' }),
  password: z.string().optional().meta({ description: 'Broker password; prefer `${ENV}`. Never logged.' }),
  tls: mqttTlsSchema,
  topicPrefix: z
    .string()
    .regex(/^([^#+/\s]+\/)*$/, { message: 'expected topic levels ending in "/", such as "uns/", or an empty string' })
    .default('')
    .meta({ description: 'Put before `<site>/<area>/<line>/<machine>/yieldwatch/kpi`, e.g. `uns/`; levels end in `/`.' }),
  retain: z.boolean().default(true).meta({ description: 'Publish retained, so a new subscriber gets the latest window of each machine at once.' }),
  timeout: positiveDuration('How long a batch may wait for the broker\'s PUBACKs before it is retried.').prefault('10s'),
});
export type MqttSinkConfig = z.output<typeof mqttSinkSchema>;
