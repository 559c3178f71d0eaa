import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Store } from '../store/store.js';
import { buildApp, requireDocumentedRoutes } from './app.js';
import { storeReader } from '../readers/store/index.js';
import { validateConfig } from '../config/load.js';

const deps = (store: Store) => ({
  reader: storeReader(store, validateConfig({}), [], { now: () => 0 }),
  registry: new Registry(),
  health: () => ({}),
  acknowledge: () => undefined,
  entries: { create: () => ({ notFound: '' }), edit: () => ({ notFound: '' }), remove: () => ({ notFound: '' }), get: () => undefined, list: () => [] },
});

describe('the API documents itself', () => {
  it('every route is in the OpenAPI 3.1 document at /api/v1/openapi.json, with a summary, its parameters and a tag', async () => {
    const store = new Store({ path: ':memory:' });
    const app = buildApp(deps(store));
    // Every route fastify adds, as it adds it (the plugins register at ready).
    const routes: (readonly [string, string])[] = [];
    app.addHook('onRoute', (r) => {
      for (const m of [r.method].flat()) if (m !== 'HEAD' && r.url.startsWith('/api/v1/') && r.url !== '/api/v1/openapi.json') routes.push([m.toLowerCase(), r.url.replace(/:(\w+)/g, '{$1}')]);
    });
    const doc = (await app.inject('/api/v1/openapi.json')).json<{ openapi: string; paths: Record<string, Record<string, { summary?: string; tags?: string[]; parameters?: { name: string; in: string }[] }>> }>();
    expect(doc.openapi).toBe('3.1.0');
    expect(routes.length).toBeGreaterThanOrEqual(17);
    for (const [method, path] of routes) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path} in the document`).toBeDefined();
      expect(op!.summary, `${method} ${path} summary`).toMatch(/\w/);
      expect(op!.tags?.length, `${method} ${path} tag`).toBeGreaterThan(0);
    }
    expect(doc.paths['/api/v1/kpis/rollup']!.get!.parameters!.map((p) => p.name).sort()).toEqual(['by', 'format', 'from', 'machine', 'period', 'to']);
    await app.close();
    store.close();
  });

  it('a route of the API without a summary or a query schema stops the app from starting', async () => {
    const app = Fastify();
    app.register(async (api) => {
      requireDocumentedRoutes(api);
      api.get('/documented', { schema: { summary: 'fine', querystring: { type: 'object', properties: {} } } }, async () => ({}));
      api.get('/undocumented', async () => ({}));
    });
    await expect(app.ready()).rejects.toThrow('route GET /undocumented needs a schema with a summary and a querystring');
  });

  it('the docs page is served by the agent itself, offline', async () => {
    const store = new Store({ path: ':memory:' });
    const app = buildApp(deps(store));
    const page = await app.inject('/api/docs/');
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('swagger-ui');
    expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    await app.close();
    store.close();
  });
});
