import { describe, expect, it } from 'vitest';
import { buildApp } from '../../agent/src/api/app.js';
import { Registry } from 'prom-client';
import { Store } from '../../agent/src/store/store.js';
import { dashboardPlugin } from './plugin.js';
import { storeReader } from '../../agent/src/readers/store/index.js';
import { validateConfig } from '../../agent/src/config/load.js';

describe('dashboard plugin', () => {
  it('serves the landing page at / with a same-origin CSP, beside the API', async () => {
    const store = new Store({ path: ':memory:' });
    const app = buildApp({ reader: storeReader(store, validateConfig({}), [], { now: () => 0 }), registry: new Registry(), health: () => ({}) }, [{ plugin: dashboardPlugin }]);
    try {
      const page = await app.inject('/');
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['content-security-policy']).toMatch(/^default-src 'self'/);
      expect(page.body).toContain('<title>yieldwatch</title>');
      expect(page.body).toContain('src="/assets/app.js"');
      // Plants are often offline: nothing may come from another host.
      expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
      expect((await app.inject('/api/v1/machines')).json()).toEqual({ items: [] });
      expect((await app.inject('/nothing-here')).statusCode).toBe(404);
      // Every view has its own URL: a reload or a shared link opens the page there.
      for (const view of ['/machines/demo%2Fline1%2Fpress1', '/floor/line1', '/alerts', '/reports', '/status']) expect((await app.inject(view)).body, view).toBe(page.body);
      // The bundle: Preact, our code and its style sheet, built in memory at registration.
      const js = await app.inject('/assets/app.js');
      expect(js.statusCode).toBe(200);
      expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
      expect(js.body).toContain('/api/v1/overview');
      const css = await app.inject('/assets/app.css');
      expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
      // Revalidated by ETag: an unchanged asset is a 304 without a body.
      const again = await app.inject({ url: '/assets/app.js', headers: { 'if-none-match': String(js.headers.etag) } });
      expect(again.statusCode).toBe(304);
      expect((await app.inject('/assets/nope.js')).statusCode).toBe(404);
    } finally {
      await app.close();
      store.close();
    }
  });

  it('is not there unless the composition root registers it', async () => {
    const store = new Store({ path: ':memory:' });
    const app = buildApp({ reader: storeReader(store, validateConfig({}), [], { now: () => 0 }), registry: new Registry(), health: () => ({}) });
    try {
      expect((await app.inject('/')).statusCode).toBe(404);
    } finally {
      await app.close();
      store.close();
    }
  });
});
