/**
 * A past for the demo, for tests that need finished periods (reports): the demo's simulated
 * machines run over a span through the real pipeline on a virtual clock into the store, before
 * the demo starts on it. The windows, hours, days and shifts are what the agent would have
 * stored; no alert rule runs, and the checkpoint is dropped, so the live run's first counters are
 * baselines rather than jumps.
 */
import Database from 'better-sqlite3';
import { VirtualClock } from '../../agent/src/core/clock.js';
import type { Sample } from '../../agent/src/core/sample.js';
import type { Config } from '../../agent/src/config/schema.js';
import { periodOf } from '../../agent/src/kpi/periods.js';
import { SimulatedMachine } from '../../agent/src/simulator/machine.js';
import { deriveSeed, mulberry32 } from '../../agent/src/simulator/random.js';
import { Store } from '../../agent/src/store/store.js';
import { createPipeline } from '../../agent/src/wiring/pipeline-options.js';

/**
 * Writes the span [`start`, `end`) (on window boundaries) into the store at `storePath`: one
 * reading of every demo machine per window, the machines starting afresh (their first reading is
 * a baseline). About half a second per hour of the eight demo machines.
 */
export function seedDemoSpan(cfg: Config, storePath: string, start: number, end: number): void {
  const demo = cfg.demo;
  if (demo === undefined) throw new Error('the config has no demo section');
  const step = cfg.kpi.windowSize;
  const store = new Store({ path: storePath, synchronous: 'normal' });
  try {
    const clock = new VirtualClock(start);
    const pipeline = createPipeline({ ...cfg, alertRules: {} }, store, clock);
    const configured = new Set(cfg.machines.map((m) => m.path));
    const machines = [...demo.machines, ...(demo.opcua?.machines ?? [])].filter((m) => configured.has(m.path)).map((m) => new SimulatedMachine(m, mulberry32(deriveSeed(demo.seed + 1 + start, m.path)), start));
    for (let t = start; t < end; t += step) {
      const ts = t + step / 2;
      clock.set(ts);
      const batch: Sample[] = [];
      for (const m of machines) {
        m.advance(ts);
        const c = m.counters();
        if (c.reason !== undefined) batch.push({ machine: m.path, signal: 'scrap_reason', value: c.reason, ts, source: 'history' });
        batch.push(
          { machine: m.path, signal: 'parts_good', value: c.good, ts, source: 'history' },
          { machine: m.path, signal: 'parts_scrap', value: c.scrap, ts, source: 'history' },
          { machine: m.path, signal: 'parts_rework', value: c.rework, ts, source: 'history' },
          { machine: m.path, signal: 'material_in_kg', value: c.material_in_kg, ts, source: 'history' },
        );
      }
      pipeline.ingest(batch);
      // Committed once an hour: larger transactions, the same windows.
      if ((t - start) % 3_600_000 === 0) pipeline.tick();
    }
    clock.set(end + cfg.kpi.allowedLateness + 1);
    pipeline.flushAll();
  } finally {
    store.close();
  }
  const db = new Database(storePath);
  db.prepare('DELETE FROM checkpoint').run();
  db.close();
}

/** The start of the site day `days` before the one `t` is in, plus `hours`, in the time zone of the demo's site. */
export function demoSiteTime(cfg: Config, t: number, days: number, hours: number): number {
  const site = cfg.machines[0]!.path.split('/')[0]!;
  const zone = cfg.sites[site]?.timeZone ?? 'UTC';
  let start = periodOf('day', zone, t)!.start;
  for (let i = 0; i < days; i++) start = periodOf('day', zone, start - 1)!.start;
  return start + hours * 3_600_000;
}
