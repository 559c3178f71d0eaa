import { describe, expect, it } from 'vitest';
import { dateIn, isoWeek, kindOf, lastComplete, normalPeriod, parseYmd, recentPeriods } from './periods.js';

describe('report periods as the report page picks them', () => {
  it('today is the site\'s date, whatever the browser\'s zone', () => {
    // 23:30 UTC on 31 December is already New Year in Amsterdam, and still the 31st in New York.
    const t = Date.UTC(2026, 11, 31, 23, 30);
    expect(dateIn('Europe/Amsterdam', t)).toEqual({ year: 2027, month: 1, day: 1 });
    expect(dateIn('America/New_York', t)).toEqual({ year: 2026, month: 12, day: 31 });
  });

  it('ISO weeks: week 1 holds 4 January, so early January can be the last year\'s week 53', () => {
    expect(isoWeek({ year: 2026, month: 11, day: 3 })).toEqual({ year: 2026, week: 45 });
    expect(isoWeek({ year: 2021, month: 1, day: 3 })).toEqual({ year: 2020, week: 53 });
    expect(isoWeek({ year: 2024, month: 12, day: 30 })).toEqual({ year: 2025, week: 1 });
  });

  it('recent periods newest first, and the last whole one of each kind', () => {
    const today = { year: 2027, month: 1, day: 5 };
    expect(recentPeriods('month', today, 3)).toEqual(['2027-01', '2026-12', '2026-11']);
    expect(recentPeriods('quarter', today, 2)).toEqual(['2027-Q1', '2026-Q4']);
    expect(recentPeriods('week', today, 3)).toEqual(['2027-W01', '2026-W53', '2026-W52']);
    expect(lastComplete('day', today)).toBe('2027-01-04');
    expect(lastComplete('week', today)).toBe('2026-W53');
    expect(lastComplete('month', today)).toBe('2026-12');
    expect(lastComplete('quarter', today)).toBe('2026-Q4');
    expect(lastComplete('year', today)).toBe('2026');
    expect(lastComplete('custom', { year: 2026, month: 3, day: 10 })).toBe('2026-02-01..2026-02-28');
  });

  it('knows each kind by how it is written; dates that do not exist are not dates', () => {
    expect(['2026', '2026-Q4', '2026-11', '2026-W45', '2026-11-03', '2026-11-03/early', '2026-11-03 early', '2026-11-01..2026-11-15', 'last-month'].map(kindOf)).toEqual(['year', 'quarter', 'month', 'week', 'day', 'shift', 'shift', 'custom', undefined]);
    expect(normalPeriod('2026-11-03 early')).toBe('2026-11-03/early');
    expect(parseYmd('2026-02-29')).toBeUndefined();
    expect(parseYmd('2028-02-29')).toEqual({ year: 2028, month: 2, day: 29 });
  });
});
