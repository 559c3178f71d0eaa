import type { Health } from '../core/health.js';
import type { Source } from '../core/plugin.js';
import type { ForwarderStatus } from '../core/sink.js';
import type { PipelineStats } from '../core/stats.js';

/** Health of every long-running part by name (`store`, `source:<id>`, `sink:<id>`), for `/readyz` and the status API. */
export function partsHealth(parts: { pipeline: { stats(): PipelineStats }; sources: readonly Source[]; sinks: () => readonly ForwarderStatus[] }): Record<string, Health> {
  const failures = parts.pipeline.stats().failuresInRow;
  const out: Record<string, Health> = {
    store: failures > 0 ? { status: 'degraded', reason: `${failures} commits to the local store failed in a row` } : { status: 'ok' },
  };
  for (const s of parts.sources) out[`source:${s.id}`] = s.health();
  for (const s of parts.sinks()) out[`sink:${s.sink}`] = s.health;
  return out;
}
