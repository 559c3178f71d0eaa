import type { FastifyPluginAsync } from 'fastify';
import { alertToJson, SEVERITIES, type Alert } from '../../core/alert.js';
import type { AcknowledgeBody } from '../contract.js';
import type { ApiDeps } from '../deps.js';
import { parseTime } from '../query.js';
import { ID_PARAMS, NO_QUERY } from '../schemas.js';
import { hasRole } from '../auth/roles.js';

const MAX_ITEMS = 10_000;

interface AlertsQuery {
  state?: 'firing' | 'acknowledged' | 'resolved' | 'open';
  machine?: string;
  line?: string;
  severity?: 'info' | 'warning' | 'critical';
  from?: string;
  to?: string;
  limit?: string;
}

const listSchema = {
  summary: 'Alerts (one incident per machine and cause, with the rules that fired inside it), newest first, by state, machine, line, severity and start time',
  tags: ['alerts'],
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: {
      state: { type: 'string', enum: ['firing', 'acknowledged', 'resolved', 'open'] },
      machine: { type: 'string', minLength: 1 },
      line: { type: 'string', minLength: 1 },
      severity: { type: 'string', enum: SEVERITIES },
      from: { type: 'string' },
      to: { type: 'string' },
      limit: { type: 'string', pattern: '^[0-9]+$' },
    },
  },
} as const;

/**
 * `/api/v1/alerts` (list and filter), `/api/v1/alerts/:id` (one alert with its audit trail),
 * `/api/v1/alerts/:id/ack` (operators), `/api/v1/alerts/history?machine=` (every event of a machine).
 */
export const alertRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get<{ Querystring: AlertsQuery }>('/alerts', { schema: listSchema }, async (req) => {
    const q = req.query;
    const limit = Math.min(q.limit === undefined ? MAX_ITEMS : Number(q.limit), MAX_ITEMS);
    return { items: await deps.reader.alerts({ state: q.state, machine: q.machine, line: q.line, severity: q.severity, from: parseTime(q.from, 'from'), to: parseTime(q.to, 'to'), limit }) };
  });

  app.get<{ Querystring: { machine: string; from?: string; to?: string; limit?: string } }>(
    '/alerts/history',
    {
      schema: {
        summary: 'Every audit event of a machine\'s alerts, late breaches included',
        tags: ['alerts'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['machine'],
          properties: { machine: { type: 'string', minLength: 1 }, from: { type: 'string' }, to: { type: 'string' }, limit: { type: 'string', pattern: '^[0-9]+$' } },
        },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = Math.min(q.limit === undefined ? MAX_ITEMS : Number(q.limit), MAX_ITEMS);
      return { items: await deps.reader.alertHistory({ machine: q.machine, from: parseTime(q.from, 'from'), to: parseTime(q.to, 'to'), limit }) };
    },
  );

  app.get<{ Params: { id: string } }>('/alerts/:id', { schema: { summary: 'One alert with its audit trail (percent-encode the id: it holds / and |)', tags: ['alerts'], params: ID_PARAMS, querystring: NO_QUERY } }, async (req, reply) => {
    const detail = await deps.reader.alert(req.params.id);
    if (detail === undefined) return reply.code(404).send({ error: `no alert "${req.params.id}"` });
    return detail;
  });

  app.post<{ Params: { id: string }; Body: AcknowledgeBody }>(
    '/alerts/:id/ack',
    {
      schema: {
        summary: 'Acknowledge an alert, every rule inside it at once (operator): firing, or returned to normal and never acknowledged',
        tags: ['alerts'],
        params: ID_PARAMS,
        querystring: NO_QUERY,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: { by: { type: 'string', minLength: 1, maxLength: 200 }, comment: { type: 'string', maxLength: 2000 } },
        },
      },
    },
    async (req, reply) => {
      const who = req.principal;
      if (who !== undefined && !hasRole(who.role, 'operator')) return reply.code(403).send({ error: 'acknowledging alerts needs a token with the operator role' });
      const by = who?.name ?? req.body?.by;
      if (by === undefined) return reply.code(400).send({ error: 'say who acknowledges: {"by": "<name>"} (or use an operator token)' });
      if (deps.acknowledge === undefined) return reply.code(404).send({ error: 'this dashboard reads InfluxDB: acknowledge alerts on the agent that raised them' });
      const stored = await deps.reader.alert(req.params.id);
      if (stored === undefined) return reply.code(404).send({ error: `no alert "${req.params.id}"` });
      // ISA-18.2: a firing alert, and one that returned to normal without being acknowledged, wait for an acknowledgement.
      if (stored.acknowledged_at !== null) {
        const { events: _events, ...alert } = stored;
        return reply.code(409).send({ error: `the alert was acknowledged by ${stored.acknowledged_by ?? 'someone'} already`, alert });
      }
      const acked: Alert | undefined = deps.acknowledge(req.params.id, by, req.body?.comment);
      if (acked === undefined) return reply.code(409).send({ error: 'the alert was acknowledged meanwhile' });
      return alertToJson(acked);
    },
  );
};
