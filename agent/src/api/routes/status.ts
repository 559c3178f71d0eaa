import type { FastifyPluginAsync } from 'fastify';
import type { ForwarderStatus } from '../../core/sink.js';
import type { CounterRateLimit } from '../../core/stats.js';
import type { GuardsJson, SinkStatusJson, StatusJson } from '../contract.js';
import type { ApiDeps } from '../deps.js';
import { NO_QUERY } from '../schemas.js';

function iso(t: number | undefined): string | null {
  return t === undefined ? null : new Date(t).toISOString();
}

/** One sink as `/api/v1/status` shows it: snake_case, times as ISO 8601, ages in seconds. */
export function sinkStatusJson(s: ForwarderStatus, now: number): SinkStatusJson {
  return {
    sink: s.sink,
    type: s.type,
    status: s.health.status,
    reason: s.health.reason ?? null,
    backlog_records: s.pendingRecords,
    backlog_bytes: s.pendingBytes,
    oldest_record_age_s: s.oldestCreatedAt === undefined ? null : Math.max(0, now - s.oldestCreatedAt) / 1000,
    last_success_at: iso(s.lastSuccessAt),
    delivered_records: s.delivered,
    dropped_records: s.dropped,
    dropped_bytes: s.droppedBytes,
    dead_letters: s.deadLettered,
    lost_records: s.lost,
    errors: s.errors,
    failures_in_row: s.failuresInRow,
    last_error: s.lastError ?? null,
    last_error_at: iso(s.lastErrorAt),
    next_attempt_at: iso(s.nextAttemptAt),
  };
}

/** The guards as `/api/v1/status` shows them: machines with nothing counted are left out. */
export function guardsJson(byMachine: ReadonlyMap<string, ReadonlyMap<string, number>>, limits: readonly CounterRateLimit[]): GuardsJson {
  const by: Record<string, Record<string, number>> = {};
  for (const [machine, reasons] of byMachine) if (reasons.size > 0) by[machine] = Object.fromEntries([...reasons].sort(([a], [b]) => (a < b ? -1 : 1)));
  return {
    by_machine: by,
    rate_limits: limits.map((l) => ({ machine: l.machine, signal: l.signal, source: l.source, per_second: l.perSecond, peak_per_second: l.peak })),
  };
}

/** `/api/v1/status`: the health of every part and the delivery state of every sink. */
export const statusRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get('/status', { schema: { summary: 'Health of every part and the delivery state of every sink', tags: ['status'], querystring: NO_QUERY } }, async (): Promise<StatusJson> => {
    const now = Date.now();
    const storage = await deps.reader.storage();
    return {
      agent: { id: deps.agent?.id ?? null, version: deps.agent?.version ?? null, started_at: deps.agent?.startedAt === undefined ? null : iso(deps.agent.startedAt) },
      store: storage,
      parts: deps.health(),
      sinks: (deps.sinks?.() ?? []).map((s) => sinkStatusJson(s, now)),
      ...(deps.guards !== undefined ? { guards: deps.guards() } : {}),
    };
  });
};
