/** Tumbling windows aligned to the UTC epoch (agent/src/kpi/README.md "Windows"). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SIGNAL_INDEX } from '../core/signals.js';
import { Q_DUP, Q_STALE } from './quality.js';
import { componentsOf, newWindow, qualityOf, windowStart } from './windows.js';

const MIN = 60_000;
const HOUR = 3_600_000;

describe('windowStart', () => {
  it('exact boundaries belong to the window they start', () => {
    expect(windowStart(0, MIN)).toBe(0);
    expect(windowStart(MIN, MIN)).toBe(MIN);
    expect(windowStart(MIN - 1, MIN)).toBe(0);
    expect(windowStart(MIN + 1, MIN)).toBe(MIN);
  });

  it('negative times (before 1970) floor towards minus infinity', () => {
    expect(windowStart(-1, MIN)).toBe(-MIN);
    expect(windowStart(-MIN, MIN)).toBe(-MIN);
    expect(windowStart(-MIN - 1, MIN)).toBe(-2 * MIN);
    expect(windowStart(-MIN + 1, MIN)).toBe(-MIN);
    expect(Object.is(windowStart(-MIN, MIN), -MIN)).toBe(true);
  });

  it('is aligned to the UTC epoch, not to local time or the first sample', () => {
    expect(windowStart(Date.UTC(2026, 0, 1, 0, 0, 30), MIN)).toBe(Date.UTC(2026, 0, 1, 0, 0, 0));
    expect(windowStart(Date.UTC(2026, 2, 29, 1, 59, 59, 999), HOUR)).toBe(Date.UTC(2026, 2, 29, 1));
    expect(windowStart(Date.UTC(2026, 2, 29, 2, 0, 0), HOUR)).toBe(Date.UTC(2026, 2, 29, 2));
    // 15-minute windows start at :00, :15, :30, :45 UTC.
    expect(windowStart(Date.UTC(2026, 5, 1, 10, 44, 59), 15 * MIN)).toBe(Date.UTC(2026, 5, 1, 10, 30));
    // A day window starts at UTC midnight.
    expect(windowStart(Date.UTC(2026, 5, 1, 23, 59), 86_400_000)).toBe(Date.UTC(2026, 5, 1));
  });

  it('start <= t < start + size and start is a multiple of size, for any t and size', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1e13, max: 1e13 }),
        fc.oneof(fc.constantFrom(1, 1000, MIN, 5 * MIN, HOUR, 86_400_000), fc.integer({ min: 1, max: 10_000_000 })),
        (t, size) => {
          const s = windowStart(t, size);
          expect(s).toBe(Math.floor(t / size) * size);
          expect(s <= t && t < s + size).toBe(true);
          expect(s % size === 0).toBe(true);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('window accumulator', () => {
  it('componentsOf keeps only the measured signals; qualityOf names every count', () => {
    const w = newWindow('p/l/m', 0, 60_000, { product: undefined, material: 'AlMg3', partMassKg: 0.5 });
    w.sums[SIGNAL_INDEX.parts_good] = 12;
    w.sums[SIGNAL_INDEX.parts_scrap] = 3;
    w.sums[SIGNAL_INDEX.scrap_kg] = 99; // not measured by this machine: left out
    w.quality[Q_STALE] = 2;
    w.quality[Q_DUP] = 1;
    expect(componentsOf(w, [SIGNAL_INDEX.parts_good, SIGNAL_INDEX.parts_scrap])).toEqual({ parts_good: 12, parts_scrap: 3 });
    expect(qualityOf(w)).toEqual({ stale: 2, implausible: 0, rebaselined: 0, too_late: 0, skewed: 0, dup: 1, rejected: 0 });
    expect(w.material).toBe('AlMg3');
    expect(w.accepted).toBe(0);
  });

  it('a measured signal with a zero sum is present as 0, not absent', () => {
    const w = newWindow('p/l/m', 0, 60_000, { product: undefined, material: undefined, partMassKg: undefined });
    expect(componentsOf(w, [SIGNAL_INDEX.parts_total])).toEqual({ parts_total: 0 });
  });
});
