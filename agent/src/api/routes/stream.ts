import type { FastifyPluginAsync } from 'fastify';
import { aggregateToJson } from '../../core/aggregate.js';
import { alertChangeToJson, alertToJson } from '../../core/alert.js';
import type { ApiDeps } from '../app.js';
import type { LiveEvent } from '../events.js';

const HEARTBEAT_MS = 15_000;

/**
 * `/api/v1/stream`: Server-Sent Events of committed windows (`event: window`) and alert changes
 * (`event: alert`), each as the API's JSON. A new client first gets the open alerts
 * (`event: alerts`), so a dashboard that reconnects knows what is active without a second call.
 */
export const streamRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get('/stream', async (req, reply) => {
    const hub = deps.events;
    if (hub === undefined) return reply.code(404).send({ error: 'no live stream in this process' });
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // Proxies such as nginx must not hold the events back.
      'x-accel-buffering': 'no',
    });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('alerts', { items: deps.store.alerts.query({ state: 'open' }).map(alertToJson) });
    const unsubscribe = hub.subscribe((e: LiveEvent) => {
      if (e.type === 'windows') for (const a of e.aggregates) send('window', aggregateToJson(a));
      else for (const c of e.changes) if (c.notify) send('alert', alertChangeToJson(c));
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const close = () => {
      clearInterval(heartbeat);
      unsubscribe();
    };
    req.raw.on('close', close);
    res.on('error', close);
  });
};
