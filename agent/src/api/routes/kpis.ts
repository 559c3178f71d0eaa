import type { FastifyPluginAsync } from 'fastify';
import { ROLLUP_GROUPS, ROLLUP_PERIODS, type ListJson, type MachineListItem, type RollupQuery, type RollupRowJson, type ShiftJson, type WindowJson } from '../contract.js';
import type { ApiDeps } from '../deps.js';
import { parseTime } from '../query.js';
import { rollupCsv } from '../rollup-csv.js';
import { NO_QUERY, TIME_PARAM } from '../schemas.js';

const MAX_ITEMS = 10_000;
/** Longest span of one rollup query: the store keeps 400 days by default. */
const MAX_ROLLUP_SPAN_MS = 400 * 86_400_000;
/** Longest span of shifts listed at once: a picker needs days, not years. */
const MAX_SHIFT_SPAN_MS = 31 * 86_400_000;

function badRequest(message: string): Error {
  return Object.assign(new Error(message), { statusCode: 400 });
}

/** `/api/v1/machines` and `/api/v1/kpis`: the stored windows with the replay output's field names. */
export const kpiRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get('/machines', { schema: { summary: 'The configured machines, with how many windows the store holds of each', tags: ['kpis'], querystring: NO_QUERY } }, async (): Promise<ListJson<MachineListItem>> => {
    return { items: await deps.reader.machines() };
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
      return { items: await deps.reader.windows({ machine: q.machine, from, to, limit }) };
    },
  );

  app.get('/overview', { schema: { summary: 'Where every machine stands now: newest window, shift and day so far, the last hours hour by hour, open alerts, stale or not', tags: ['kpis'], querystring: NO_QUERY } }, async () => deps.reader.overview());

  app.get('/materials', { schema: { summary: 'The material library: prices, emission factors with source and year, critical raw materials, scrap destination; and the KPI method version', tags: ['kpis'], querystring: NO_QUERY } }, async () => ({
    method: deps.method ?? null,
    items: deps.materials?.() ?? [],
  }));

  app.get('/sites', { schema: { summary: 'The sites: time zone and scrap reason codes with their labels in English and Dutch', tags: ['kpis'], querystring: NO_QUERY } }, async () => ({ items: deps.sites?.() ?? [] }));

  app.get<{ Querystring: { site: string; from: string; to: string } }>(
    '/shifts',
    {
      schema: {
        summary: 'The shifts of a site\'s calendar that overlap a span, for picking a shift',
        tags: ['kpis'],
        querystring: { type: 'object', additionalProperties: false, required: ['site', 'from', 'to'], properties: { site: { type: 'string', minLength: 1 }, from: TIME_PARAM, to: TIME_PARAM } },
      },
    },
    async (req, reply): Promise<ListJson<ShiftJson> | undefined> => {
      const q = req.query;
      const from = parseTime(q.from, 'from')!;
      const to = parseTime(q.to, 'to')!;
      if (!(to > from)) throw badRequest('query parameter "to" must be after "from"');
      if (to - from > MAX_SHIFT_SPAN_MS) throw badRequest('query parameter "to" must be at most 31 days after "from"');
      const items = deps.shifts?.(q.site, from, to);
      if (items === undefined) return reply.code(404).send({ error: `site "${q.site}" has no shift calendar (sites.${q.site}.shiftCalendar)` });
      return { items };
    },
  );

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
      const q = req.query;
      const from = parseTime(q.from, 'from')!;
      const to = parseTime(q.to, 'to')!;
      if (!(to > from)) throw badRequest('query parameter "to" must be after "from"');
      if (to - from > MAX_ROLLUP_SPAN_MS) throw badRequest('query parameter "to" must be at most 400 days after "from"');
      const points = q.points === undefined ? 1000 : Number(q.points);
      if (points < 1 || points > 5000) throw badRequest('query parameter "points" must be 1 to 5000');
      if (!(await deps.reader.machines()).some((m) => m.machine === q.machine)) return reply.code(404).send({ error: `no machine "${q.machine}"` });
      return deps.reader.series({ machine: q.machine, from, to, points });
    },
  );

  app.get<{ Querystring: { period: RollupQuery['period']; by?: RollupQuery['by']; from: string; to: string; machine?: string; format?: 'json' | 'csv' } }>(
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
            format: { type: 'string', enum: ['json', 'csv'], description: 'csv: one row per period and group, the same numbers unrounded, times in UTC; a file to download' },
          },
        },
      },
    },
    async (req, reply): Promise<ListJson<RollupRowJson> | string> => {
      const q = req.query;
      const from = parseTime(q.from, 'from')!;
      const to = parseTime(q.to, 'to')!;
      if (!(to > from)) throw badRequest('query parameter "to" must be after "from"');
      if (to - from > MAX_ROLLUP_SPAN_MS) throw badRequest('query parameter "to" must be at most 400 days after "from"');
      const by = q.by ?? 'machine';
      const items = await deps.reader.rollup({ period: q.period, by, from, to, machine: q.machine });
      if (q.format !== 'csv') return { items };
      const name = `yieldwatch-${q.period}-by-${by}-${new Date(from).toISOString().slice(0, 10)}.csv`;
      reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${name}"`);
      return rollupCsv(items, by);
    },
  );
};
