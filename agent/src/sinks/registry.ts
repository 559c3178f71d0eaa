import type { SinkDef } from '../core/sink.js';
import type { SinkConfig } from '../config/schema.js';
import { influxdbSink } from './influxdb/index.js';

/** Every sink type, registered by one line each; the `type` is the folder name. */
export const SINK_TYPES: { [T in SinkConfig['type']]: SinkDef<Extract<SinkConfig, { type: T }>> } = {
  influxdb: influxdbSink,
};
