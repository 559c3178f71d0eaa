import type { FastifyPluginAsync } from 'fastify';
import { aggregateToJson } from '../../core/aggregate.js';
import { alertChangeToJson, lineOf, type Alert } from '../../core/alert.js';
import type { StreamEvents } from '../contract.js';
import type { ApiDeps } from '../deps.js';
import { DEFAULT_STREAM_LIMITS, StreamSlots, type LiveEvent } from '../events.js';

const HEARTBEAT_MS = 15_000;
/** A client that stops reading is dropped once this much waits for it, rather than growing memory without end. */
const MAX_BUFFERED_BYTES = 1 << 20;

interface StreamQuery {
  /** Comma-separated severities; only alerts of these. */
  severity?: string;
  /** Comma-separated lines (`site/line`, `site/area/line`); only windows and alerts of their machines. */
  line?: string;
  /** `alerts` to leave out the windows. */
  only?: 'alerts';
  token?: string;
}

const list = (v: string | undefined): Set<string> | undefined => (v === undefined || v === '' ? undefined : new Set(v.split(',').map((x) => x.trim())));

/**
 * `/api/v1/stream`: Server-Sent Events of committed windows (`event: window`) and alert changes
 * (`event: alert`), each as the API's JSON, filtered by `severity`, `line` and `only=alerts`. A
 * new client first gets the open alerts (`event: alerts`), so a dashboard that reconnects knows
 * what is active without a second call.
 */
export const streamRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  const slots = new StreamSlots(deps.streamLimits ?? DEFAULT_STREAM_LIMITS);
  app.get<{ Querystring: StreamQuery }>(
    '/stream',
    {
      config: { tokenInQuery: true },
      schema: {
        summary: 'Live stream (server-sent events) of committed windows and alert changes; the one route that takes ?token=',
        tags: ['live'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { severity: { type: 'string', pattern: '^(info|warning|critical)(,(info|warning|critical))*$' }, line: { type: 'string' }, only: { type: 'string', enum: ['alerts'] }, token: { type: 'string' } },
        },
      },
    },
    async (req, reply) => {
      const hub = deps.events;
      if (hub === undefined) return reply.code(404).send({ error: 'no live stream in this process' });
      const p = req.principal;
      const release = slots.take(p === undefined ? undefined : p.via === 'session' ? `session ${p.session ?? p.name}` : `token ${p.name}`);
      if (release === 'total') {
        return reply.code(503).header('retry-after', '30').send({ error: `this agent already serves ${slots.limits.total} live streams (api.maxStreams); try again later` });
      }
      if (release === 'login') {
        return reply
          .code(429)
          .header('retry-after', '10')
          .send({ error: `this ${p!.via === 'session' ? 'session' : 'token'} already holds ${slots.limits.perLogin} live streams (api.maxStreamsPerLogin): close one (a dashboard tab holds one) and try again` });
      }
      reply.raw.on('close', release);
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        // Proxies such as nginx must not hold the events back.
        'x-accel-buffering': 'no',
      });
      const send = <E extends keyof StreamEvents>(event: E, data: StreamEvents[E]) => {
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          res.destroy();
          return;
        }
        res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      const severities = list(req.query.severity);
      const lines = list(req.query.line);
      const alertsOnly = req.query.only === 'alerts';
      const wanted = (a: Alert) => (severities === undefined || severities.has(a.severity)) && (lines === undefined || lines.has(a.line));
      const open = await deps.reader.alerts({ state: 'open' });
      send('alerts', { items: open.filter((a) => (severities === undefined || severities.has(a.severity)) && (lines === undefined || lines.has(a.line))) });
      const unsubscribe = hub.subscribe((e: LiveEvent) => {
        if (e.type === 'windows') {
          if (alertsOnly) return;
          for (const a of e.aggregates) if (lines === undefined || lines.has(lineOf(a.machine))) send('window', aggregateToJson(a));
        } else for (const c of e.changes) if (c.notify && wanted(c.alert)) send('alert', alertChangeToJson(c));
      });
      const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
      heartbeat.unref();
      const close = () => {
        clearInterval(heartbeat);
        unsubscribe();
      };
      req.raw.on('close', close);
      res.on('error', close);
      res.on('close', close);
    },
  );
};
