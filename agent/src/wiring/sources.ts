import type { Source, SourceDef } from '../core/plugin.js';
import type { PluginContext } from '../core/plugin.js';
import { SOURCE_TYPES, type SourceConfig } from '../sources/registry.js';

/** An instance of the source plugin a `sources[]` entry names (no I/O until `start`). */
export function createSource(sc: SourceConfig, ctx: PluginContext): Source {
  return (SOURCE_TYPES[sc.type] as unknown as SourceDef).create(sc, ctx);
}
