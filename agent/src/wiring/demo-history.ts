import type { Config } from '../config/schema.js';
import { VirtualClock } from '../core/clock.js';
import type { Sample } from '../core/sample.js';
import { SimulatedMachine } from '../simulator/machine.js';
import { deriveSeed, mulberry32 } from '../simulator/random.js';
import { periodOf } from '../kpi/periods.js';
import { Store } from '../store/store.js';
import { createPipeline } from './pipeline-options.js';

/** How often the history's machines are read: once a window, as a source would. */
const COMMIT_EVERY_MS = 60_000;

/**
 * The demo's past: on the first start (a store without windows), the simulated machines' last
 * `demo.history` (from the start of that site day) run through the real pipeline on a virtual clock into the store, with a
 * different seed from the live run, so that the dashboard, the shift comparisons, yesterday's
 * report and the opportunity have data from the first minute. The checkpoint is dropped
 * afterwards: the live simulator's counters start afresh, and each first live value is a
 * baseline, not a jump. Returns the windows written (0 when the store had data or history is 0).
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
    const from = Math.floor(dayStart / step) * step;
    const to = Math.floor(now / step) * step - step;
    const clock = new VirtualClock(from);
    const pipeline = createPipeline(cfg, store, clock);
    const configured = new Set(cfg.machines.map((m) => m.path));
    const machines = [...demo.machines, ...(demo.opcua?.machines ?? [])]
      .filter((m) => configured.has(m.path))
      .map((m) => new SimulatedMachine(m, mulberry32(deriveSeed(demo.seed + 1, m.path)), from - step));
    for (let t = from; t <= to; t += step) {
      clock.set(t + step / 2);
      const batch: Sample[] = [];
      for (const m of machines) {
        m.advance(t + step / 2);
        const c = m.counters();
        const ts = t + step / 2;
        if (c.reason !== undefined) batch.push({ machine: m.path, signal: 'scrap_reason', value: c.reason, ts, source: 'history' });
        batch.push(
          { machine: m.path, signal: 'parts_good', value: c.good, ts, source: 'history' },
          { machine: m.path, signal: 'parts_scrap', value: c.scrap, ts, source: 'history' },
          { machine: m.path, signal: 'parts_rework', value: c.rework, ts, source: 'history' },
          { machine: m.path, signal: 'material_in_kg', value: c.material_in_kg, ts, source: 'history' },
        );
      }
      pipeline.ingest(batch);
      if ((t - from) % COMMIT_EVERY_MS === 0) pipeline.tick();
    }
    clock.set(to + step + cfg.kpi.allowedLateness + 1);
    pipeline.flushAll();
    store.dropCheckpoint();
    return store.machineSummary().reduce((n, m) => n + m.windows, 0);
  } finally {
    store.close();
  }
}
