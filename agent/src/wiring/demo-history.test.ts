import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { packageRoot } from '../core/package-root.js';
import { Store } from '../store/store.js';
import { seedDemoHistory } from './demo-history.js';

describe('the demo\'s history (demo.history)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-demo-history-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const { config } = loadConfig(join(packageRoot(), 'config', 'demo.yaml'));
  // 01:30 in Amsterdam: the history starts at that site day's midnight, 90 minutes of it.
  const now = Date.parse('2026-11-10T00:30:00Z');
  const path = join(dir, 'yieldwatch.db');

  it('writes every demo machine\'s windows since the start of the site day, and no checkpoint: live counters start from a baseline', () => {
    const written = seedDemoHistory({ ...config, demo: { ...config.demo!, history: 60_000 } }, path, now);
    const store = new Store({ path });
    try {
      const machines = store.machineSummary();
      expect(machines.map((m) => m.machine).sort()).toEqual(config.machines.map((m) => m.path).sort());
      expect(written).toBe(machines.reduce((n, m) => n + m.windows, 0));
      // 90 minutes of 10-second windows per machine, but the first (a baseline) and the last (not yet due).
      for (const m of machines) expect(m.windows).toBeGreaterThanOrEqual(90 * 6 - 2);
      const windows = store.queryAggregates({ from: Date.parse('2026-11-09T23:00:00Z'), to: now, limit: 100_000 });
      expect(Math.min(...windows.map((w) => w.windowStart))).toBeGreaterThanOrEqual(Date.parse('2026-11-09T23:00:00Z'));
      expect(windows.reduce((n, w) => n + (w.kpis.parts_total ?? 0), 0)).toBeGreaterThan(1000);
      expect(store.loadCheckpoint()).toBeUndefined();
    } finally {
      store.close();
    }
  });

  it('writes nothing into a store that has data, or with history 0', () => {
    expect(seedDemoHistory(config, path, now)).toBe(0);
    expect(seedDemoHistory({ ...config, demo: { ...config.demo!, history: 0 } }, join(dir, 'other.db'), now)).toBe(0);
  });
});
