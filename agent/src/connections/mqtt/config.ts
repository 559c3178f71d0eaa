import { z } from 'zod';

/** The broker URL key of every MQTT client the agent runs (sources and sinks). */
export const mqttUrlSchema = z
  .string()
  .regex(/^(mqtt|mqtts|ws|wss):\/\/[^\s]+$/, { message: 'expected a broker URL such as "mqtt://127.0.0.1:1883" or "mqtts://broker:8883"' })
  .meta({ description: 'Broker URL: `mqtt://`, `mqtts://` (TLS), `ws://` or `wss://`.' });

/** TLS settings of an MQTT client; files are relative to the config file. */
export const mqttTlsSchema = z
  .strictObject({
    ca: z.string().optional().meta({ description: 'PEM file of the CA that signed the broker certificate.' }),
    cert: z.string().optional().meta({ description: 'PEM client certificate file (mutual TLS).' }),
    key: z.string().optional().meta({ description: 'PEM client key file (mutual TLS).' }),
    rejectUnauthorized: z.boolean().default(true).meta({ description: 'Refuse brokers whose certificate does not verify.' }),
  })
  .optional()
  .meta({ description: 'TLS settings for `mqtts://` and `wss://`.' });
