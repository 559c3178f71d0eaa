import type { Config } from '../config/schema.js';
import { VirtualClock } from '../core/clock.js';
import type { Sample } from '../core/sample.js';
import { periodOf } from '../kpi/periods.js';
import { SimulatedMachine } from '../simulator/machine.js';
import { deriveSeed, mulberry32 } from '../simulator/random.js';
import { Store } from '../store/store.js';
import { createPipeline } from './pipeline-options.js';

/** History is committed once an hour: larger transactions, the same windows. */
const COMMIT_EVERY_MS = 3_600_000;

/**
 * Writes the demo machines' span [`start`, `end`) (on window boundaries) into the store: one
 * reading of every demo machine per window through the real pipeline on a virtual clock, the
 * machines starting afresh (their first reading is a baseline), with a seed of their own so the
 * past differs from the live run. The windows, hours, days and shifts are what the agent would
 * have stored; no alert rule runs (the past raised no alert anyone saw). The checkpoint is
 * dropped afterwards, so the live run's first counters are baselines rather than jumps.
 */
export function seedDemoSpan(cfg: Config, store: Store, start: number, end: number): void {
  const demo = cfg.demo;
  if (demo === undefined) return;
  const step = cfg.kpi.windowSize;
  const clock = new VirtualClock(start);
  const pipeline = createPipeline({ ...cfg, alertRules: {} }, store, clock);
  const configured = new Set(cfg.machines.map((m) => m.path));
  const machines = [...demo.machines, ...(demo.opcua?.machines ?? [])]
    .filter((m) => configured.has(m.path))
    .map((m) => new SimulatedMachine(m, mulberry32(deriveSeed(demo.seed + 1 + start, m.path)), start));
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
    if ((t - start) % COMMIT_EVERY_MS === 0) pipeline.tick();
  }
  clock.set(end + cfg.kpi.allowedLateness + 1);
  pipeline.flushAll();
  store.dropCheckpoint();
}

/**
 * The demo's past: on the first start (a store without windows), the simulated machines' last
 * `demo.history` (from the start of that site day) written with `seedDemoSpan`, so that the
 * dashboard, the shift comparisons, yesterday's report and the opportunity have data from the
 * first minute. Returns the windows written (0 when the store had data or history is 0).
 */
export function seedDemoHistory(cfg: Config, storePath: string, now: number, onSeeding: () => void = () => {}): number {
  const demo = cfg.demo;
  if (demo === undefined || demo.history <= 0) return 0;
  const store = new Store({ path: storePath, synchronous: 'normal' });
  try {
    if (store.machineSummary().length > 0) return 0;
    onSeeding();
    const step = cfg.kpi.windowSize;
    // Whole site days, so that yesterday's report is whole.
    const site = cfg.machines[0]?.path.split('/')[0] ?? '';
    const dayStart = periodOf('day', cfg.sites[site]?.timeZone ?? 'UTC', now - demo.history)!.start;
    seedDemoSpan(cfg, store, Math.floor(dayStart / step) * step, Math.floor(now / step) * step - step);
    return store.machineSummary().reduce((n, m) => n + m.windows, 0);
  } finally {
    store.close();
  }
}
