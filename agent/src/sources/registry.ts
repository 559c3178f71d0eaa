import type { ConfigOf } from '../core/plugin.js';
import { mqttSource } from './mqtt/index.js';
import { opcuaSource } from './opcua/index.js';

/**
 * Every source type, registered by one line each; the key is the plugin's `type` and its folder's
 * name (a test checks both). The config schema's `sources` union is built from this list.
 */
export const SOURCE_TYPES = {
  mqtt: mqttSource,
  opcua: opcuaSource,
} as const;

/** A validated `sources[]` entry of any registered type. */
export type SourceConfig = ConfigOf<(typeof SOURCE_TYPES)[keyof typeof SOURCE_TYPES]>;
