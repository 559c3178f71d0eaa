import { describe, expect, it } from 'vitest';
import { HOUR_MS, onWholeHours, windowsFitHours } from './partials.js';

describe('whole hours of sums', () => {
  it('windows fit an hour when they tile it exactly', () => {
    for (const ms of [500, 10_000, 60_000, 600_000, 900_000, HOUR_MS]) expect(windowsFitHours(ms), String(ms)).toBe(true);
    for (const ms of [7_000, 420_000, 2 * HOUR_MS]) expect(windowsFitHours(ms), String(ms)).toBe(false);
  });

  it('a span is read as whole hours only when it starts and ends on the hour and windows fit an hour', () => {
    const h = Date.parse('2026-11-03T05:00:00Z');
    expect(onWholeHours(h, h + 24 * HOUR_MS, 60_000)).toBe(true);
    expect(onWholeHours(h + 60_000, h + 24 * HOUR_MS, 60_000)).toBe(false);
    expect(onWholeHours(h, h + 24 * HOUR_MS - 60_000, 60_000)).toBe(false);
    expect(onWholeHours(h, h + 24 * HOUR_MS, 420_000)).toBe(false);
  });
});
