/**
 * A past for the demo, for tests that need finished periods (reports): the demo's simulated
 * machines run over a span through the real pipeline on a virtual clock into the store, before
 * the demo starts on it. The windows, hours, days and shifts are what the agent would have
 * stored; no alert rule runs, and the checkpoint is dropped, so the live run's first counters are
 * baselines rather than jumps.
 */
import type { Config } from '../../agent/src/config/schema.js';
import { periodOf } from '../../agent/src/kpi/periods.js';
import { Store } from '../../agent/src/store/store.js';
import { seedDemoSpan as seedSpan } from '../../agent/src/wiring/demo-history.js';

/** Writes the demo machines' span [`start`, `end`) into the store file at `storePath` (`agent/src/wiring/demo-history.ts`). */
export function seedDemoSpan(cfg: Config, storePath: string, start: number, end: number): void {
  const store = new Store({ path: storePath, synchronous: 'normal' });
  try {
    seedSpan(cfg, store, start, end);
  } finally {
    store.close();
  }
}

/** The start of the site day `days` before the one `t` is in, plus `hours`, in the time zone of the demo's site. */
export function demoSiteTime(cfg: Config, t: number, days: number, hours: number): number {
  const site = cfg.machines[0]!.path.split('/')[0]!;
  const zone = cfg.sites[site]?.timeZone ?? 'UTC';
  let start = periodOf('day', zone, t)!.start;
  for (let i = 0; i < days; i++) start = periodOf('day', zone, start - 1)!.start;
  return start + hours * 3_600_000;
}
