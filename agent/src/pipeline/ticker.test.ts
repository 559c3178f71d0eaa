import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.js';
import { validateConfig } from '../config/load.js';
import { ENGINE_FLAG_REASONS, ENGINE_REJECT_REASONS } from '../kpi/engine.js';
import { Store } from '../store/store.js';
import { createPipeline } from '../wiring/pipeline-options.js';
import { Ticker, TICK_MS, type TickerEvents } from './ticker.js';

const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const M = 'p/l/m1';

function setup() {
  const cfg = validateConfig({ kpi: { windowSize: '60s', allowedLateness: '10s' }, machines: [{ path: M, partMassKg: 1, signals: { parts_good: { kind: 'delta' } } }] });
  const store = new Store({ path: ':memory:' });
  const clock = new VirtualClock(T0);
  const pipeline = createPipeline(cfg, store, clock);
  const seen: string[] = [];
  const pruned: number[] = [];
  const events: TickerEvents = {
    rebaselined: (m) => seen.push(`rebaselined ${m}`),
    coreRejections: (machine, reason, count, total) => seen.push(`${machine} ${reason} ${count}/${total}`),
    pruned: (n) => pruned.push(n),
    tickFailed: (err) => seen.push(`failed ${String(err)}`),
  };
  let pruneCalls = 0;
  const ticker = new Ticker({ pipeline, prune: (before) => (pruneCalls++, store.prune(before)), clock, retentionMs: cfg.store.retention, rejectReasons: [...ENGINE_REJECT_REASONS, ...ENGINE_FLAG_REASONS], events });
  return { store, clock, pipeline, ticker, seen, pruned, pruneCalls: () => pruneCalls };
}

describe('ticker', () => {
  it('emits a window once the clock passes its end plus the allowed lateness, on its own timer', () => {
    const { store, clock, pipeline, ticker } = setup();
    ticker.start();
    pipeline.ingest([{ machine: M, signal: 'parts_good', value: 5, ts: T0 + 1000, source: 't' }]);
    clock.set(T0 + 69_000);
    expect(store.queryAggregates()).toEqual([]);
    clock.set(T0 + 70_000 + TICK_MS);
    expect(store.queryAggregates().map((a) => [a.windowStart, a.components.parts_good])).toEqual([[T0, 5]]);
    ticker.stop();
    pipeline.ingest([{ machine: M, signal: 'parts_good', value: 2, ts: T0 + 61_000, source: 't' }]);
    clock.set(T0 + 200_000);
    expect(store.queryAggregates()).toHaveLength(1);
    store.close();
  });

  it('reports core rejections as they grow, at most once a minute, and prunes once an hour', () => {
    const { store, clock, pipeline, ticker, seen, pruneCalls } = setup();
    ticker.start();
    pipeline.ingest([{ machine: 'p/l/unknown', signal: 'parts_good', value: 1, ts: T0, source: 't' }]);
    clock.advance(TICK_MS);
    expect(seen).toEqual(['unknown unknown_machine 1/1']);
    pipeline.ingest([{ machine: 'p/l/unknown', signal: 'parts_good', value: 1, ts: T0, source: 't' }]);
    clock.advance(30_000);
    expect(seen).toEqual(['unknown unknown_machine 1/1']);
    clock.advance(30_000);
    expect(seen).toEqual(['unknown unknown_machine 1/1', 'unknown unknown_machine 1/2']);
    expect(pruneCalls()).toBe(1);
    clock.advance(3_600_000);
    expect(pruneCalls()).toBe(2);
    ticker.stop();
    store.close();
  });

  it('reports each machine and reason on its own line, once a minute with the count, however many samples came', () => {
    const { store, clock, pipeline, ticker, seen } = setup();
    ticker.start();
    const bad = (value: number, ts = clock.now()) => ({ machine: M, signal: 'parts_good' as const, value, ts, source: 't' });
    for (let i = 0; i < 5000; i++) pipeline.ingest([bad(Number.NaN), bad(1e308)]);
    pipeline.ingest([bad(1, clock.now() + 3_600_000)]);
    clock.advance(TICK_MS);
    expect(seen.sort()).toEqual([`${M} not_a_number 5000/5000`, `${M} out_of_range 5000/5000`, `${M} skewed 1/1`]);
    seen.length = 0;
    for (let i = 0; i < 100; i++) pipeline.ingest([bad(Number.NaN)]);
    clock.advance(30_000);
    expect(seen).toEqual([]);
    clock.advance(30_000);
    expect(seen).toEqual([`${M} not_a_number 100/5100`]);
    ticker.stop();
    store.close();
  });
});
