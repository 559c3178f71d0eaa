import { describe, expect, it } from 'vitest';
import type { Aggregate, Components } from '../core/aggregate.js';
import { deriveKpis, KPI_METHOD } from './derive.js';
import { partialOf } from './partials.js';
import { bucketFor, series } from './series.js';

const W = 60_000;
const T0 = Date.UTC(2026, 10, 1);
const M = 'plant/l1/press';

function windowAt(t: number, good: number, scrap: number, manual = 0): Aggregate {
  const c: Components = { parts_good: good, parts_scrap: scrap, ...(manual > 0 ? { manual_scrap_parts: manual } : {}) };
  const kpis = deriveKpis(c, { partMassKg: 0.5 });
  return { machine: M, windowStart: t, windowEnd: t + W, revision: 0, product: undefined, material: undefined, partMassKg: 0.5, components: c, quality: { stale: 0, implausible: 0, rebaselined: 0, too_late: 0, skewed: 0, dup: 0, rejected: 0 }, kpis, method: KPI_METHOD, emittedAt: t + W };
}

describe('a chart\'s series', () => {
  it('30 days of 1-minute windows fit in the points asked for; each bucket sums its windows and derives its ratios from the sums', () => {
    const to = T0 + 30 * 86_400_000;
    const ws: Aggregate[] = [];
    for (let t = T0, k = 0; t < to; t += W, k++) if (k % 97 !== 0) ws.push(windowAt(t, 50 + (k % 7) * 20, k % 5, k % 400 === 0 ? 30 : 0));
    const bucket = bucketFor(T0, to, W, 2000);
    expect(bucket).toBe(22 * W);
    const s = series(ws.map(partialOf), T0, to, bucket);
    expect(s.t.length).toBeLessThanOrEqual(2000);
    // Every bucket against the test's own sums over its windows.
    for (const i of [0, 1, 517, s.t.length - 1]) {
      const inside = ws.filter((w) => w.windowStart >= s.t[i]! && w.windowStart < s.t[i]! + bucket);
      const good = inside.reduce((n, w) => n + w.components.parts_good!, 0);
      const total = inside.reduce((n, w) => n + w.kpis.parts_total!, 0);
      expect(s.columns.parts_good![i]).toBe(good);
      expect(s.columns.parts_total![i]).toBe(total);
      expect(s.columns.yield![i]).toBeCloseTo(good / total, 12);
      const yields = inside.map((w) => w.kpis.yield!);
      expect(s.yield_min[i]).toBeCloseTo(Math.min(...yields), 12);
      expect(s.yield_max[i]).toBeCloseTo(Math.max(...yields), 12);
    }
    const good = ws.reduce((n, w) => n + w.components.parts_good!, 0);
    const total = ws.reduce((n, w) => n + w.kpis.parts_total!, 0);
    expect(s.totals.windows).toBe(ws.length);
    expect(s.totals.kpis.parts_total).toBe(total);
    expect(s.totals.kpis.yield).toBeCloseTo(good / total, 12);
    expect(s.totals.kpis.manual_scrap_parts).toBe(ws.reduce((n, w) => n + (w.components.manual_scrap_parts ?? 0), 0));
  });

  it('a bucket without windows is null, never 0: a gap stays a gap on the chart', () => {
    const s = series([windowAt(T0, 10, 1), windowAt(T0 + 3 * W, 10, 0)].map(partialOf), T0, T0 + 4 * W, W);
    expect(s.columns.parts_total).toEqual([11, null, null, 10]);
    expect(s.columns.yield).toEqual([10 / 11, null, null, 1]);
  });
});
