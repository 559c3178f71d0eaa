import { describe, expect, it } from 'vitest';
import { rate } from './targets.js';

describe('a value against its target', () => {
  it('yield: met at or above the target, near within the band below, missed beyond', () => {
    expect(rate(0.95, 0.95, 0.02, true)).toBe('met');
    expect(rate(0.9999, 0.95, 0.02, true)).toBe('met');
    expect(rate(0.93, 0.95, 0.02, true)).toBe('near');
    expect(rate(0.9299, 0.95, 0.02, true)).toBe('missed');
    // 0.1 + 0.2 style sums do not turn a met target into a miss.
    expect(rate((0.85 + 0.1) / 1, 0.95, 0.02, true)).toBe('met');
  });
  it('scrap rate: met at or below, near within the band above, missed beyond; nothing without a target or a value', () => {
    expect(rate(0.03, 0.03, 0.02, false)).toBe('met');
    expect(rate(0.049, 0.03, 0.02, false)).toBe('near');
    expect(rate(0.06, 0.03, 0.02, false)).toBe('missed');
    expect(rate(0.5, undefined, 0.02, false)).toBeUndefined();
    expect(rate(undefined, 0.03, 0.02, false)).toBeUndefined();
  });
});
