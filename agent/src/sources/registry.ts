import type { SourceDef } from '../core/plugin.js';
import type { SourceConfig } from '../config/schema.js';
import { mqttSource } from './mqtt/index.js';
import { opcuaSource } from './opcua/index.js';

/** Every source type, registered by one line each; the `type` is the folder name. */
export const SOURCE_TYPES: { [T in SourceConfig['type']]: SourceDef<Extract<SourceConfig, { type: T }>> } = {
  mqtt: mqttSource,
  opcua: opcuaSource,
};
