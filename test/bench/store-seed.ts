/**
 * What the benches that need a large store share (`--rollup`, `--dashboard`): the plant they
 * configure, the real windows of a span run through the real pipeline on a virtual clock, and
 * stored sums scaled to vary them. A large store is made from real windows and sums, not
 * invented ones: the rows are what the agent itself writes.
 */
import { VirtualClock } from '../../agent/src/core/clock.js';
import { validateConfig } from '../../agent/src/config/load.js';
import type { Config } from '../../agent/src/config/schema.js';
import type { PartialSums } from '../../agent/src/kpi/partials.js';
import type { Store } from '../../agent/src/store/store.js';
import { createPipeline } from '../../agent/src/wiring/pipeline-options.js';

/** The site every bench machine belongs to, and its time zone. */
export const BENCH_SITE = 'plant';
export const BENCH_ZONE = 'Europe/Amsterdam';

/** `plant/lineN/mNNN`, ten machines a line. */
export function benchMachinePath(i: number): string {
  return `${BENCH_SITE}/line${Math.floor(i / 10) + 1}/m${String(i + 1).padStart(3, '0')}`;
}

/**
 * The benches' plant: `machines` presses in one site (Europe/Amsterdam, three shifts Monday to
 * Thursday and two on Friday, three scrap reasons), counting good, scrap and rework parts and
 * material in; `extra` adds or replaces top-level keys (the API, the agent's id).
 */
export function benchConfig(machines: number, extra: Record<string, unknown> = {}): Config {
  const paths = Array.from({ length: machines }, (_, i) => benchMachinePath(i));
  return validateConfig({
    kpi: { windowSize: '60s', allowedLateness: '10s' },
    sites: {
      [BENCH_SITE]: {
        timeZone: BENCH_ZONE,
        shiftCalendar: [{ validFrom: '2024-01-01', shifts: { early: { start: '06:00', end: '14:00' }, late: { start: '14:00', end: '22:00' }, night: { start: '22:00', end: '06:00' } }, week: { mon: ['early', 'late', 'night'], tue: ['early', 'late', 'night'], wed: ['early', 'late', 'night'], thu: ['early', 'late', 'night'], fri: ['early', 'late'] } }],
        scrapReasons: { burr: { label: { en: 'Burr' } }, crack: { label: { en: 'Crack' } }, dent: { label: { en: 'Dent' } } },
      },
    },
    materials: { steel: { scrapDestination: 'external_recycling' } },
    products: { bracket: { partMassKg: 0.35, material: 'steel' } },
    machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' }, parts_rework: { kind: 'counter' }, material_in_kg: { kind: 'counter' } } },
    machines: paths.map((path) => ({ path, product: 'bracket' })),
    api: { enabled: false },
    ...extra,
  });
}

/**
 * Runs every machine of `cfg` from `from` to `to` (inclusive) through the real pipeline into
 * `store` on a virtual clock: every 5 s four counters and a scrap reason (4 good parts, 1.5 kg,
 * a scrap part every `scrapEvery(i)` readings, a rework part every 23), a tick every minute, and
 * at the end every open window flushed. The windows, their hours, site days and shifts are what
 * the agent would have stored.
 */
export function simulateWindows(cfg: Config, store: Store, from: number, to: number, scrapEvery: (machine: number) => number = () => 9): void {
  const clock = new VirtualClock(from);
  const pipeline = createPipeline(cfg, store, clock);
  const c = cfg.machines.map(() => ({ good: 0, scrap: 0, rework: 0, kg: 0 }));
  const reasons = ['burr', 'burr', 'burr', 'crack', 'dent'];
  for (let t = from; t <= to; t += 5000) {
    clock.set(t);
    cfg.machines.forEach((m, i) => {
      const k = c[i]!;
      k.good += 4;
      k.kg += 1.5;
      if ((t / 5000 + i) % scrapEvery(i) === 0) k.scrap++;
      if ((t / 5000 + i) % 23 === 0) k.rework++;
      pipeline.ingest([
        { machine: m.path, signal: 'scrap_reason', value: reasons[Math.floor(t / 45_000) % 5]!, ts: t, source: 'b' },
        { machine: m.path, signal: 'parts_good', value: k.good, ts: t, source: 'b' },
        { machine: m.path, signal: 'parts_scrap', value: k.scrap, ts: t, source: 'b' },
        { machine: m.path, signal: 'parts_rework', value: k.rework, ts: t, source: 'b' },
        { machine: m.path, signal: 'material_in_kg', value: k.kg, ts: t, source: 'b' },
      ]);
    });
    if (t % 60_000 === 0) pipeline.tick();
  }
  pipeline.flushAll();
}

/** Stored sums with every count multiplied by `f`: another machine's (or a longer period's) sums of the same shape. */
export function scaledSums(p: PartialSums, f: number): PartialSums {
  return {
    ...p,
    windows: p.windows * f,
    covered: p.covered * f,
    sums: Object.fromEntries(Object.entries(p.sums).map(([k, v]) => [k, v * f])),
    ratios: Object.fromEntries(Object.entries(p.ratios).map(([k, [n, d]]) => [k, [n * f, d * f] as [number, number]])),
    split: p.split === undefined ? undefined : Object.fromEntries(Object.entries(p.split).map(([dim, keys]) => [dim, Object.fromEntries(Object.entries(keys).map(([key, ms]) => [key, Object.fromEntries(Object.entries(ms).map(([m, v]) => [m, v * f]))]))])),
  };
}

/** The p-th percentile (nearest rank) of ascending `sorted`. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
