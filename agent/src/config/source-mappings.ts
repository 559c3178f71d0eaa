import type { SignalName } from '../core/signals.js';
import { topicCanName, topicSignals } from '../sources/mqtt/reach.js';
import type { SourceConfig } from '../sources/registry.js';

/** One mapping of a source: which machines it reads and which signals it maps for them. */
export interface SourceMapping {
  /** Where the mapping is in the config, as a key path: `['sources', 1, 'machines', 0]`. */
  key: (string | number)[];
  /** The machine path the mapping names; undefined for a topic template, which names machines at run time. */
  machine: string | undefined;
  /** Whether the mapping can read the machine `path`. */
  reads(path: string): boolean;
  signals: readonly SignalName[];
}

/** Every mapping of every source, in config order. */
export function sourceMappings(sources: readonly SourceConfig[]): SourceMapping[] {
  return sources.flatMap((s, i): SourceMapping[] => {
    switch (s.type) {
      case 'mqtt':
        return s.topics.map((t, j) => ({ key: ['sources', i, 'topics', j], machine: undefined, reads: (path) => topicCanName(t, path), signals: topicSignals(t) }));
      case 'opcua':
        return s.machines.map((m, j) => ({
          key: ['sources', i, 'machines', j],
          machine: m.machine,
          reads: (path) => path === m.machine,
          signals: [...(Object.keys(m.signals) as SignalName[]), ...(m.scrapByReason !== undefined ? (['parts_scrap'] as const) : [])],
        }));
      default:
        // A new source type must say what it maps, or its machines' signals would all be "not measured".
        return s satisfies never;
    }
  });
}

/** Mappings that name a machine not in `machines` (the rejection a schema check turns into an error). */
export function unknownMachines(sources: readonly SourceConfig[], machines: readonly { path: string }[]): { key: (string | number)[]; machine: string }[] {
  const configured = new Set(machines.map((m) => m.path));
  return sourceMappings(sources).flatMap((m) => (m.machine !== undefined && !configured.has(m.machine) ? [{ key: [...m.key, 'machine'], machine: m.machine }] : []));
}
