import { describe, expect, it } from 'vitest';
import { aggregateToJson } from '../core/aggregate.js';
import type { Sample } from '../core/sample.js';
import { SIGNAL_INDEX } from '../core/signals.js';
import { toAggregate } from '../pipeline/emit.js';
import { mergeBreakdowns, sortedBreakdowns } from './breakdowns.js';
import { KpiEngine, type BreakdownEntry, type EngineOptions } from './engine.js';
import { decodeSnapshot, encodeSnapshot, SNAPSHOT_VERSION } from './snapshot.js';

const W = 60_000;
const T0 = Date.UTC(2026, 10, 27, 10, 0, 0);
const M = 's/l/m';
const opts: EngineOptions = {
  windowMs: W,
  latenessMs: 10_000,
  maxFutureSkewMs: 300_000,
  correctionHorizonMs: 3_600_000,
  machines: [{ path: M, partMassKg: 0.5, signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } }],
};
const NO_MATERIALS = new Map();
const scrap = (value: number, ts: number): Sample => ({ machine: M, signal: 'parts_scrap', value, ts, source: 't' });
const reason = (key: string, amount: number, ts: number | undefined, over: Partial<BreakdownEntry> = {}): BreakdownEntry => ({ machine: M, ts, dimension: 'cause', key, measure: 'parts_scrap', amount, ...over });

describe('KPI dimensions (breakdowns)', () => {
  it('an amount lands in the window of its event time and is emitted with it, sorted, beside the components', () => {
    const e = new KpiEngine(opts);
    e.ingest([scrap(10, T0 + 1000)], T0 + 1000);
    expect(e.recordBreakdown(reason('crack', 2, T0 + 5000), T0 + 5000)).toBe(true);
    expect(e.recordBreakdown(reason('burr', 3, T0 + 6000), T0 + 6000)).toBe(true);
    expect(e.recordBreakdown(reason('burr', 1, T0 + 61_000), T0 + 61_000)).toBe(true);
    expect(e.recordBreakdown({ machine: M, ts: T0 + 7000, dimension: 'destination', key: 'recycling', measure: 'scrap_kg', amount: 2.5 }, T0 + 7000)).toBe(true);
    const due = e.takeDue(T0 + 2 * W + 10_000);
    expect(due.map((d) => d.window.start)).toEqual([T0, T0 + W]);
    const [first, second] = due.map((d) => toAggregate(d, undefined, T0 + 2 * W + 10_000, NO_MATERIALS)!);
    expect(JSON.stringify(first!.breakdowns)).toBe(JSON.stringify({ cause: { burr: { parts_scrap: 3 }, crack: { parts_scrap: 2 } }, destination: { recycling: { scrap_kg: 2.5 } } }));
    expect(second!.breakdowns).toEqual({ cause: { burr: { parts_scrap: 1 } } });
    // Recorded sums are the store's; the JSON of the API, the MQTT sink and replay shows what is derived from them.
    expect(aggregateToJson(second!).breakdowns).toBeUndefined();
    expect(() => e.recordBreakdown({ ...reason('burr', 1, T0), dimension: 'reason' }, T0)).toThrow(/recorded from scrap samples only/);
    // A window with only a breakdown is still a window: it was accepted input.
    expect(second!.components).toEqual({ parts_good: 0, parts_scrap: 0 });
  });

  it('a window without breakdowns has no breakdowns key anywhere, so outputs stay as they were', () => {
    const e = new KpiEngine(opts);
    e.ingest([scrap(10, T0 + 1000)], T0 + 1000);
    e.ingest([scrap(12, T0 + 2000)], T0 + 2000);
    const a = toAggregate(e.takeAll()[0]!, undefined, T0 + W, NO_MATERIALS)!;
    expect('breakdowns' in a).toBe(false);
    expect('breakdowns' in aggregateToJson(a)).toBe(false);
    const snap = e.snapshot();
    expect(JSON.stringify(snap)).not.toContain('breakdowns');
  });

  it('bad entries are counted rejections and change no window', () => {
    const e = new KpiEngine(opts);
    expect(e.recordBreakdown({ ...reason('burr', 1, T0), machine: 'nope' }, T0)).toBe(false);
    expect(e.recordBreakdown(reason('burr', Number.NaN, T0), T0)).toBe(false);
    expect(e.recordBreakdown(reason('burr', -1, T0), T0)).toBe(false);
    expect(e.recordBreakdown(reason('burr', 1, Number.POSITIVE_INFINITY), T0)).toBe(false);
    expect(e.recordBreakdown(reason('burr', 1e308, T0), T0)).toBe(false);
    expect(Object.fromEntries(e.stats.rejected)).toEqual({ unknown_machine: 1, not_a_number: 1, negative_delta: 1, invalid_timestamp: 1, out_of_range: 1 });
    const windows = e.takeAll();
    expect(windows.every((d) => d.window.breakdowns === undefined && d.window.accepted === 0)).toBe(true);
  });

  it('follows the event-time rules of samples: too late or too far ahead counts at arrival, and is counted as such', () => {
    const e = new KpiEngine(opts);
    const now = T0 + 2 * 3_600_000;
    expect(e.recordBreakdown(reason('burr', 4, T0), now)).toBe(true);
    expect(e.recordBreakdown(reason('crack', 1, now + 3_600_000), now)).toBe(true);
    expect(e.recordBreakdown(reason('dent', 1, undefined), now)).toBe(true);
    expect(e.stats.too_late).toBe(1);
    expect(e.stats.skewed).toBe(1);
    const [d] = e.takeAll();
    expect(d!.window.start).toBe(now);
    expect(d!.window.breakdowns).toEqual({ cause: { burr: { parts_scrap: 4 }, crack: { parts_scrap: 1 }, dent: { parts_scrap: 1 } } });
  });

  it('a revision adds the late amounts to the stored ones; a failed commit puts them back merged with what arrived meanwhile', () => {
    const e = new KpiEngine(opts);
    e.ingest([scrap(10, T0 + 1000)], T0 + 1000);
    e.recordBreakdown(reason('burr', 2, T0 + 2000), T0 + 2000);
    const first = toAggregate(e.takeDue(T0 + W + 10_000)[0]!, undefined, T0 + W + 10_000, NO_MATERIALS)!;
    e.recordBreakdown(reason('burr', 1, T0 + 3000), T0 + W + 20_000);
    e.recordBreakdown(reason('crack', 5, T0 + 4000), T0 + W + 20_000);
    const late = e.takeDue(T0 + W + 30_000);
    // The commit fails: the late window goes back and more arrives before the next try.
    e.putBack(late);
    e.recordBreakdown(reason('crack', 1, T0 + 5000), T0 + W + 40_000);
    const retry = e.takeDue(T0 + W + 50_000);
    expect(retry).toHaveLength(1);
    const revised = toAggregate(retry[0]!, first, T0 + W + 50_000, NO_MATERIALS)!;
    expect(revised.revision).toBe(1);
    expect(revised.breakdowns).toEqual({ cause: { burr: { parts_scrap: 3 }, crack: { parts_scrap: 6 } } });
    expect(first.breakdowns).toEqual({ cause: { burr: { parts_scrap: 2 } } });
  });

  it('open windows keep their breakdowns across a checkpoint (snapshot version 2 and later), and a version 1 checkpoint still restores', () => {
    const a = new KpiEngine(opts);
    a.ingest([scrap(10, T0 + 1000)], T0 + 1000);
    a.recordBreakdown(reason('burr', 2, T0 + 2000), T0 + 2000);
    const text = encodeSnapshot(a.snapshot());
    expect(JSON.parse(text).version).toBe(SNAPSHOT_VERSION);
    const b = new KpiEngine(opts);
    b.restore(decodeSnapshot(text)!);
    b.recordBreakdown(reason('burr', 1, T0 + 3000), T0 + 3000);
    expect(b.takeAll()[0]!.window.breakdowns).toEqual({ cause: { burr: { parts_scrap: 3 } } });

    const v1 = JSON.parse(text) as { version: number; windows: { breakdowns?: unknown }[] };
    v1.version = 1;
    for (const w of v1.windows) delete w.breakdowns;
    const c = new KpiEngine(opts);
    c.restore(decodeSnapshot(JSON.stringify(v1))!);
    c.ingest([scrap(15, T0 + 4000)], T0 + 4000);
    const [w] = c.takeAll();
    expect(w!.window.sums[SIGNAL_INDEX.parts_scrap]).toBe(5);
    expect(w!.window.breakdowns).toBeUndefined();
  });

  it('merging never changes its arguments, and a key such as __proto__ stays a key', () => {
    const x = { reason: { burr: { parts_scrap: 1 } } };
    const y = JSON.parse('{"reason":{"__proto__":{"parts_scrap":2},"burr":{"parts_scrap":3}}}');
    const m = mergeBreakdowns(x, y)!;
    expect(x).toEqual({ reason: { burr: { parts_scrap: 1 } } });
    expect(JSON.stringify(sortedBreakdowns(m))).toBe('{"reason":{"__proto__":{"parts_scrap":2},"burr":{"parts_scrap":4}}}');
  });
});
