import type { FastifyPluginAsync } from 'fastify';
import { aggregateToJson } from '../../core/aggregate.js';
import { ROLLUP_GROUPS, ROLLUP_PERIODS, type ListJson, type MachineListItem, type RollupQuery, type RollupRowJson, type WindowJson } from '../contract.js';
import type { ApiDeps } from '../deps.js';
import { parseTime } from '../query.js';
import { NO_QUERY, TIME_PARAM } from '../schemas.js';

const MAX_ITEMS = 10_000;
/** Longest span of one rollup query: the store keeps 400 days by default. */
const MAX_ROLLUP_SPAN_MS = 400 * 86_400_000;

function badRequest(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400 });
}

/** `/api/v1/machines` and `/api/v1/kpis`: the stored windows with the replay output's field names. */
export const kpiRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get('/machines', { schema: { summary: 'The configured machines, with how many windows the store holds of each', tags: ['kpis'], querystring: NO_QUERY } }, async (): Promise<ListJson<MachineListItem>> => {
    const stored = new Map(deps.store.machineSummary().map((m) => [m.machine, m]));
    return {
      items: deps.machines().map((m) => ({
        ...m,
        windows: stored.get(m.machine)?.windows ?? 0,
        last_window_start: stored.get(m.machine)?.lastWindowStart ?? null,
      })),
    };
  });

  app.get<{ Querystring: { machine?: string; from?: string; to?: string; limit?: string } }>(
    '/kpis',
    {
      schema: {
        summary: 'Stored windows with their KPIs, scrap by reason and destination, and data quality',
        tags: ['kpis'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            machine: { type: 'string', minLength: 1 },
            from: { type: 'string' },
            to: { type: 'string' },
            limit: { type: 'string', pattern: '^[0-9]+$' },
          },
        },
      },
    },
    async (req): Promise<ListJson<WindowJson>> => {
      const q = req.query;
      const from = parseTime(q.from, 'from');
      const to = parseTime(q.to, 'to');
      const limit = Math.min(q.limit === undefined ? MAX_ITEMS : Number(q.limit), MAX_ITEMS);
      const items = deps.store.queryAggregates({ machine: q.machine, from, to, limit }).map(aggregateToJson);
      return { items };
    },
  );

  app.get('/overview', { schema: { summary: 'Where every machine stands now: newest window, shift and day so far, open alerts, stale or not', tags: ['kpis'], querystring: NO_QUERY } }, async (_req, reply) => {
    if (deps.overview === undefined) return reply.code(404).send({ error: 'this agent has no overview' });
    return deps.overview();
  });

  app.get('/materials', { schema: { summary: 'The material library: prices, emission factors with source and year, critical raw materials, scrap destination; and the KPI method version', tags: ['kpis'], querystring: NO_QUERY } }, async () => ({
    method: deps.method ?? null,
    items: deps.materials?.() ?? [],
  }));

  app.get('/sites', { schema: { summary: 'The sites: time zone and scrap reason codes with their labels in English and Dutch', tags: ['kpis'], querystring: NO_QUERY } }, async () => ({ items: deps.sites?.() ?? [] }));

  app.get<{ Querystring: { machine: string; from: string; to: string; points?: string } }>(
    '/kpis/series',
    {
      schema: {
        summary: 'A machine\'s windows bucketed for a chart: components summed and ratios derived per bucket, never averaged',
        tags: ['kpis'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['machine', 'from', 'to'],
          properties: { machine: { type: 'string', minLength: 1 }, from: TIME_PARAM, to: TIME_PARAM, points: { type: 'string', pattern: '^[0-9]+$', description: 'at most this many buckets: 1000 by default, at most 5000' } },
        },
      },
    },
    async (req, reply) => {
      if (deps.series === undefined) return reply.code(404).send({ error: 'this agent has no series' });
      const q = req.query;
      const from = parseTime(q.from, 'from')!;
      const to = parseTime(q.to, 'to')!;
      if (!(to > from)) throw badRequest('query parameter "to" must be after "from"');
      if (to - from > MAX_ROLLUP_SPAN_MS) throw badRequest('query parameter "to" must be at most 400 days after "from"');
      const points = q.points === undefined ? 1000 : Number(q.points);
      if (points < 1 || points > 5000) throw badRequest('query parameter "points" must be 1 to 5000');
      if (!deps.machines().some((m) => m.machine === q.machine)) return reply.code(404).send({ error: `no machine "${q.machine}"` });
      return deps.series({ machine: q.machine, from, to, points });
    },
  );

  if (deps.rollup === undefined) return;
  const rollup = deps.rollup;
  app.get<{ Querystring: { period: RollupQuery['period']; by?: RollupQuery['by']; from: string; to: string; machine?: string } }>(
    '/kpis/rollup',
    {
      schema: {
        summary: 'Windows summed into periods of the site\'s time and groups; ratios from the sums',
        tags: ['kpis'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['period', 'from', 'to'],
          properties: {
            period: { type: 'string', enum: [...ROLLUP_PERIODS] },
            by: { type: 'string', enum: [...ROLLUP_GROUPS] },
            from: { type: 'string' },
            to: { type: 'string' },
            machine: { type: 'string', minLength: 1 },
          },
        },
      },
    },
    async (req): Promise<ListJson<RollupRowJson>> => {
      const q = req.query;
      const from = parseTime(q.from, 'from')!;
      const to = parseTime(q.to, 'to')!;
      if (!(to > from)) throw badRequest('query parameter "to" must be after "from"');
      if (to - from > MAX_ROLLUP_SPAN_MS) throw badRequest('query parameter "to" must be at most 400 days after "from"');
      return { items: rollup({ period: q.period, by: q.by ?? 'machine', from, to, machine: q.machine }) };
    },
  );
};
