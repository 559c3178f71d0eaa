import { describe, expect, it } from 'vitest';
import { buildApp } from '../../agent/src/api/app.js';
import { Registry } from 'prom-client';
import { Store } from '../../agent/src/store/store.js';
import { dashboardPlugin } from './plugin.js';

describe('dashboard plugin', () => {
  it('serves the landing page at / with a same-origin CSP, beside the API', async () => {
    const store = new Store({ path: ':memory:' });
    const app = buildApp({ store, registry: new Registry(), machines: () => [], health: () => ({}) }, [{ plugin: dashboardPlugin }]);
    try {
      const page = await app.inject('/');
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['content-security-policy']).toMatch(/^default-src 'self'/);
      expect(page.body).toContain('<title>yieldwatch</title>');
      expect(page.body).toContain('href="/api/v1/status"');
      // Plants are often offline: nothing may come from another host.
      expect(page.body).not.toMatch(/(src|href)="(https?:)?\/\//);
      expect((await app.inject('/api/v1/machines')).json()).toEqual({ items: [] });
      expect((await app.inject('/nothing-here')).statusCode).toBe(404);
    } finally {
      await app.close();
      store.close();
    }
  });

  it('is not there unless the composition root registers it', async () => {
    const store = new Store({ path: ':memory:' });
    const app = buildApp({ store, registry: new Registry(), machines: () => [], health: () => ({}) });
    try {
      expect((await app.inject('/')).statusCode).toBe(404);
    } finally {
      await app.close();
      store.close();
    }
  });
});
