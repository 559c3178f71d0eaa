import { describe, expect, it } from 'vitest';
import type { ShiftCalendar } from '../kpi/shifts.js';
import { lastComplete, parsePeriod, previousPeriod, yearBefore, type PeriodContext, type ReportPeriod } from './period.js';

const AMS = 'Europe/Amsterdam';
const calendar: ShiftCalendar = {
  timeZone: AMS,
  versions: [
    {
      validFrom: '2026-01-01',
      shifts: { early: { start: 360, end: 840 }, late: { start: 840, end: 1320 }, night: { start: 1320, end: 360 } },
      week: { mon: ['early', 'late', 'night'], tue: ['early', 'late', 'night'], wed: ['early', 'late', 'night'], thu: ['early', 'late', 'night'], fri: ['early', 'late'], sat: [], sun: [] },
      exceptions: [{ from: '2026-12-25', to: '2026-12-26', shifts: [] }],
    },
  ],
};
const ctx: PeriodContext = { timeZone: AMS, calendar };
const NOW = Date.parse('2026-12-04T10:00:00Z');
const iso = (t: number) => new Date(t).toISOString();
const parsed = (s: string, c = ctx, now = NOW) => {
  const p = parsePeriod(s, c, now);
  if (typeof p === 'string') throw new Error(p);
  return { ...p, start: iso(p.start), end: iso(p.end) };
};

describe('report periods in the site\'s time', () => {
  it('months, weeks, quarters, years and days start at the site\'s midnight, across clock changes', () => {
    expect(parsed('2026-10')).toEqual({ kind: 'month', label: '2026-10', start: '2026-09-30T22:00:00.000Z', end: '2026-10-31T23:00:00.000Z' });
    expect(parsed('2026-W44')).toEqual({ kind: 'week', label: '2026-W44', start: '2026-10-25T23:00:00.000Z', end: '2026-11-01T23:00:00.000Z' });
    expect(parsed('2026-W53')).toEqual({ kind: 'week', label: '2026-W53', start: '2026-12-27T23:00:00.000Z', end: '2027-01-03T23:00:00.000Z' });
    expect(parsed('2027-W01').start).toBe('2027-01-03T23:00:00.000Z');
    expect(parsed('2026-Q1')).toEqual({ kind: 'quarter', label: '2026-Q1', start: '2025-12-31T23:00:00.000Z', end: '2026-03-31T22:00:00.000Z' });
    expect(parsed('2026')).toEqual({ kind: 'year', label: '2026', start: '2025-12-31T23:00:00.000Z', end: '2026-12-31T23:00:00.000Z' });
    expect(parsed('2026-03-29')).toEqual({ kind: 'day', label: '2026-03-29', start: '2026-03-28T23:00:00.000Z', end: '2026-03-29T22:00:00.000Z' });
    expect(parsed('2026-11-01..2026-11-15')).toEqual({ kind: 'custom', label: '2026-11-01..2026-11-15', start: '2026-10-31T23:00:00.000Z', end: '2026-11-15T23:00:00.000Z' });
  });

  it('a shift by date and name, written with a space or a slash; a night shift ends the next morning', () => {
    expect(parsed('2026-10-22 night')).toEqual({ kind: 'shift', label: '2026-10-22 night', start: '2026-10-22T20:00:00.000Z', end: '2026-10-23T04:00:00.000Z' });
    expect(parsed('2026-12-03/early')).toEqual({ kind: 'shift', label: '2026-12-03 early', start: '2026-12-03T05:00:00.000Z', end: '2026-12-03T13:00:00.000Z' });
  });

  it('relative periods are the last whole one before now', () => {
    expect(parsed('yesterday').label).toBe('2026-12-03');
    expect(parsed('last-week').label).toBe('2026-W48');
    expect(parsed('last-month').label).toBe('2026-11');
    expect(parsed('last-quarter').label).toBe('2026-Q3');
    expect(parsed('last-year').label).toBe('2025');
    // 10:00 UTC is 11:00 in Amsterdam: the early shift runs, the night shift of the 3rd ended at 06:00.
    expect(parsed('last-shift').label).toBe('2026-12-03 night');
    // On a Monday morning the last shift is Friday's late one (no weekend shifts).
    expect(parsed('last-shift', ctx, Date.parse('2026-12-07T04:00:00Z')).label).toBe('2026-12-04 late');
  });

  it('what does not exist is a sentence that says why', () => {
    const err = (s: string, c = ctx) => parsePeriod(s, c, NOW) as string;
    expect(err('2026-13')).toMatch(/"2026-13" is not a period/);
    expect(err('2026-W54')).toMatch(/does not exist \(it would be 2027-W01\)/);
    expect(err('2026-02-30')).toMatch(/is not a period/);
    expect(err('November')).toMatch(/^"November" is not a period; expected 2026-11 \(month\)/);
    expect(err('2026-12-04 night')).toMatch(/no shift "night" on 2026-12-04; that day has early, late/);
    expect(err('2026-12-25 early')).toBe('no shift starts on 2026-12-25');
    expect(err('2026-12-03 early', { timeZone: AMS })).toMatch(/has no shift calendar/);
    expect(err('2026-11-15..2026-11-01')).toMatch(/ends before it starts/);
    expect(err('2025-01-01..2026-12-31')).toMatch(/longer than 400 days/);
  });

  it('a custom period may be 400 calendar days of the site, however many hours the clock changes make them', () => {
    // 2026-10-01..2027-11-04 is 400 days with three clock changes in it, two of them back: 400 × 24 + 1 hours.
    const p = parsed('2026-10-01..2027-11-04');
    expect(Date.parse(p.end) - Date.parse(p.start)).toBe(400 * 86_400_000 + 3_600_000);
    expect(parsePeriod('2026-10-01..2027-11-05', ctx, NOW)).toBe('"2026-10-01..2027-11-05" is longer than 400 days');
    // The same dates in UTC have no clock changes: the limit does not depend on the zone.
    expect(parsed('2026-10-01..2027-11-04', { timeZone: 'UTC' }).label).toBe('2026-10-01..2027-11-04');
  });

  it('the period before: same kind and length; a shift before is the calendar\'s previous shift', () => {
    const prev = (s: string) => {
      const p = previousPeriod(parsePeriod(s, ctx, NOW) as ReportPeriod, ctx)!;
      return p.label;
    };
    expect(prev('2026-03')).toBe('2026-02');
    expect(prev('2026-W01')).toBe('2025-W52');
    expect(prev('2026-Q1')).toBe('2025-Q4');
    expect(prev('2026-11-01..2026-11-15')).toBe('2026-10-17..2026-10-31');
    expect(prev('2026-12-07 early')).toBe('2026-12-04 late');
    expect(prev('2026-12-03 early')).toBe('2026-12-02 night');
  });

  it('the same period a year earlier: same month, ISO week number, dates or shift; none where it does not exist', () => {
    const year = (s: string, c = ctx) => yearBefore(parsePeriod(s, c, NOW) as ReportPeriod, c)?.label;
    expect(year('2026-11')).toBe('2025-11');
    expect(year('2026-W44')).toBe('2025-W44');
    expect(year('2026-W53')).toBeUndefined();
    expect(year('2028-02-29', ctx)).toBeUndefined();
    expect(year('2026-11-01..2026-11-15')).toBe('2025-11-01..2025-11-15');
    expect(year('2026-12-03 night')).toBeUndefined(); // the calendar starts in 2026
  });

  it('lastComplete for each kind ends at or before the instant', () => {
    for (const kind of ['shift', 'day', 'week', 'month', 'quarter', 'year'] as const) {
      const p = lastComplete(kind, ctx, NOW)!;
      expect(p.end).toBeLessThanOrEqual(NOW);
      expect(p.kind).toBe(kind);
    }
  });
});
