import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { entryToJson, type EntryOutcome } from '../../core/entries.js';
import type { EntryBody, EntryChangeBody, EntryDeleteBody } from '../contract.js';
import type { ApiDeps } from '../deps.js';
import { parseTime, timeOf } from '../query.js';
import { ID_PARAMS, NO_QUERY } from '../schemas.js';
import { hasRole } from '../auth/roles.js';

const MAX_ITEMS = 10_000;

const quantity = { type: ['number', 'null'] } as const;
const text = (max: number) => ({ type: ['string', 'null'], minLength: 1, maxLength: max }) as const;
const time = { anyOf: [{ type: 'number' }, { type: 'string', minLength: 1 }] } as const;
const who = { type: 'string', minLength: 1, maxLength: 200 } as const;
const why = { type: 'string', minLength: 1, maxLength: 2000 } as const;

const fields = {
  machine: { type: 'string', minLength: 1, maxLength: 500 },
  time,
  parts: quantity,
  kg: quantity,
  reason: text(64),
  destination: text(64),
  comment: text(2000),
} as const;

/** Who changes an entry: the operator token's name, or `by` when the API has no tokens; undefined after a reply (403 or 400). */
function author(req: FastifyRequest, reply: FastifyReply, by: string | undefined): string | undefined {
  const p = req.principal;
  if (p !== undefined && !hasRole(p.role, 'operator')) {
    void reply.code(403).send({ error: 'manual scrap entries need a token with the operator role' });
    return undefined;
  }
  const name = p?.name ?? by;
  if (name === undefined) void badRequest(reply, 'by', 'is needed: say who records this (or use an operator token)');
  return name;
}

/** A time as given (epoch ms, or ISO 8601 with Z or an offset), or a 400 naming `time`. */
function bodyTime(v: number | string | null | undefined): number | undefined {
  if (v === undefined || v === null) return undefined;
  const t = typeof v === 'number' ? v : timeOf(v);
  if (t === undefined) throw Object.assign(new Error(`body/time must be epoch milliseconds or an ISO 8601 date-time with Z or an offset (2026-11-27T10:00:00Z), got "${v}"`), { statusCode: 400 });
  return t;
}

/** A 400 in the shape of fastify's own validation errors, naming the field. */
function badRequest(reply: FastifyReply, field: string, message: string): FastifyReply {
  return reply.code(400).send({ statusCode: 400, error: 'Bad Request', message: `body/${field} ${message}`, field });
}

function answer(reply: FastifyReply, out: EntryOutcome, created = false): unknown {
  if ('problem' in out) return badRequest(reply, out.problem.field, out.problem.message);
  if ('notFound' in out) return reply.code(404).send({ error: out.notFound });
  if ('conflict' in out) return reply.code(409).send({ error: out.conflict });
  return reply.code(created ? 201 : 200).send(entryToJson(out.entry));
}

/**
 * Manual scrap entries (agent/src/kpi/README.md, "Manual scrap"): `POST /api/v1/entries`,
 * `PATCH` and `DELETE /api/v1/entries/:id` (operators; each change a new version with who, when
 * and why), `GET /api/v1/entries?machine=&from=&to=` and `GET /api/v1/entries/:id` with their history.
 */
export const entryRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  const entries = deps.entries;
  if (entries === undefined) return;

  app.get<{ Querystring: { machine?: string; from?: string; to?: string; limit?: string } }>(
    '/entries',
    {
      schema: {
        summary: 'Manual scrap entries whose current time is in [from, to), with their history',
        tags: ['entries'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { machine: { type: 'string', minLength: 1 }, from: { type: 'string' }, to: { type: 'string' }, limit: { type: 'string', pattern: '^[0-9]+$' } },
        },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = Math.min(q.limit === undefined ? MAX_ITEMS : Number(q.limit), MAX_ITEMS);
      return { items: entries.list({ machine: q.machine, from: parseTime(q.from, 'from'), to: parseTime(q.to, 'to'), limit }).map(entryToJson) };
    },
  );

  app.get<{ Params: { id: string } }>('/entries/:id', { schema: { summary: 'One manual scrap entry with its history', tags: ['entries'], params: ID_PARAMS, querystring: NO_QUERY } }, async (req, reply) => {
    const e = entries.get(req.params.id);
    if (e === undefined) return reply.code(404).send({ error: `no manual entry "${req.params.id}"` });
    return entryToJson(e);
  });

  app.post<{ Body: EntryBody }>(
    '/entries',
    { schema: { summary: 'Record manual scrap (operator)', tags: ['entries'], querystring: NO_QUERY, body: { type: 'object', additionalProperties: false, required: ['machine'], properties: { ...fields, by: who } } } },
    async (req, reply) => {
      const by = author(req, reply, req.body.by);
      if (by === undefined) return reply;
      const b = req.body;
      const out = entries.create(
        { machine: b.machine, ts: bodyTime(b.time), parts: b.parts ?? undefined, kg: b.kg ?? undefined, reason: b.reason ?? undefined, destination: b.destination ?? undefined, comment: b.comment ?? undefined },
        by,
      );
      return answer(reply, out, true);
    },
  );

  app.patch<{ Params: { id: string }; Body: EntryChangeBody }>(
    '/entries/:id',
    { schema: { summary: 'Edit a manual scrap entry: a new version with why (operator)', tags: ['entries'], params: ID_PARAMS, querystring: NO_QUERY, body: { type: 'object', additionalProperties: false, required: ['why'], properties: { ...fields, why, by: who } } } },
    async (req, reply) => {
      const by = author(req, reply, req.body.by);
      if (by === undefined) return reply;
      const { why: reason, by: _by, time: t, ...rest } = req.body;
      const changes = { ...rest, ...(t !== undefined ? { ts: bodyTime(t) ?? null } : {}) };
      if (changes.machine === null) return badRequest(reply, 'machine', 'cannot be cleared');
      return answer(reply, entries.edit(req.params.id, changes, reason, by));
    },
  );

  app.delete<{ Params: { id: string }; Body: EntryDeleteBody }>(
    '/entries/:id',
    { schema: { summary: 'Delete a manual scrap entry: a new version with why (operator)', tags: ['entries'], params: ID_PARAMS, querystring: NO_QUERY, body: { type: 'object', additionalProperties: false, required: ['why'], properties: { why, by: who } } } },
    async (req, reply) => {
      const by = author(req, reply, req.body.by);
      if (by === undefined) return reply;
      return answer(reply, entries.remove(req.params.id, req.body.why, by));
    },
  );
};
