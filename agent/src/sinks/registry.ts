import type { ConfigOf } from '../core/plugin.js';
import { influxdbSink } from './influxdb/index.js';
import { mqttSink } from './mqtt/index.js';
import { webhookSink } from './webhook/index.js';

/**
 * Every sink type, registered by one line each; the key is the plugin's `type` and its folder's
 * name (a test checks both). The config schema's `sinks` union is built from this list.
 */
export const SINK_TYPES = {
  influxdb: influxdbSink,
  mqtt: mqttSink,
  webhook: webhookSink,
} as const;

/** A validated `sinks[]` entry of any registered type. */
export type SinkConfig = ConfigOf<(typeof SINK_TYPES)[keyof typeof SINK_TYPES]>;
