import { describe, expect, it } from 'vitest';
import { shiftAt, shiftsBetween, shiftsOn, type CalendarVersion, type ShiftCalendar } from './shifts.js';
import { addDays, isTimeZone, isoWeekday, parseDate, siteDateOf, zonedToEpoch, zoneOffset } from './site-time.js';

const H = 3_600_000;
const hm = (h: number, m = 0) => h * 60 + m;
const utc = (s: string) => Date.parse(s);
const date = (s: string) => parseDate(s)!;

const threeShifts: CalendarVersion = {
  validFrom: '2026-01-01',
  shifts: { early: { start: hm(6), end: hm(14) }, late: { start: hm(14), end: hm(22) }, night: { start: hm(22), end: hm(6) } },
  week: { mon: ['early', 'late', 'night'], tue: ['early', 'late', 'night'], wed: ['early', 'late', 'night'], thu: ['early', 'late', 'night'], fri: ['early', 'late', 'night'], sat: ['early', 'late', 'night'], sun: ['night'] },
  exceptions: [
    { from: '2026-08-03', to: '2026-08-14', shifts: [] }, // summer shutdown
    { from: '2026-12-25', to: '2026-12-26', shifts: [] }, // Christmas
    { from: '2026-12-27', to: '2026-12-27', shifts: ['early'] }, // an extra Sunday shift
  ],
};
const AMS: ShiftCalendar = { timeZone: 'Europe/Amsterdam', versions: [threeShifts] };

describe('site time', () => {
  it('knows IANA zones, and the offsets of Amsterdam in winter and summer', () => {
    expect(isTimeZone('Europe/Amsterdam')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
    expect(zoneOffset('Europe/Amsterdam', utc('2026-01-15T12:00:00Z'))).toBe(1 * H);
    expect(zoneOffset('Europe/Amsterdam', utc('2026-07-15T12:00:00Z'))).toBe(2 * H);
  });

  it('a wall time that does not happen (clocks forward) moves on by the gap; one that happens twice (clocks back) is its first occurrence', () => {
    expect(zonedToEpoch('Europe/Amsterdam', date('2026-03-29'), hm(2, 30))).toBe(utc('2026-03-29T01:30:00Z')); // shown as 03:30 CEST
    expect(zonedToEpoch('Europe/Amsterdam', date('2026-10-25'), hm(2, 30))).toBe(utc('2026-10-25T00:30:00Z')); // 02:30 CEST, not CET
    expect(zonedToEpoch('America/New_York', date('2026-03-08'), hm(6))).toBe(utc('2026-03-08T10:00:00Z')); // EDT
  });

  it('the days the clocks change have 23 and 25 hours', () => {
    const dayLength = (d: string) => zonedToEpoch('Europe/Amsterdam', addDays(date(d), 1), 0) - zonedToEpoch('Europe/Amsterdam', date(d), 0);
    expect(dayLength('2026-03-29')).toBe(23 * H);
    expect(dayLength('2026-10-25')).toBe(25 * H);
    expect(dayLength('2026-10-26')).toBe(24 * H);
    expect(siteDateOf('Europe/Amsterdam', utc('2026-03-28T23:30:00Z'))).toEqual(date('2026-03-29'));
    expect(isoWeekday(date('2026-03-29'))).toBe(6); // a Sunday
    expect(parseDate('2026-02-30')).toBeUndefined();
  });
});

describe('shift calendar', () => {
  it('a night shift across the change of clocks lasts 7 hours in spring and 9 in autumn, on the wall clock', () => {
    const spring = shiftsOn(AMS, date('2026-03-28')).find((s) => s.name === 'night')!;
    expect([spring.start, spring.end]).toEqual([utc('2026-03-28T21:00:00Z'), utc('2026-03-29T04:00:00Z')]);
    expect(spring.end - spring.start).toBe(7 * H);
    const autumn = shiftsOn(AMS, date('2026-10-24')).find((s) => s.name === 'night')!;
    expect([autumn.start, autumn.end]).toEqual([utc('2026-10-24T20:00:00Z'), utc('2026-10-25T05:00:00Z')]);
    expect(autumn.end - autumn.start).toBe(9 * H);
    // The Saturday's shifts follow each other without gap or overlap, and the Monday's early shift starts on the hour again.
    const day = shiftsOn(AMS, date('2026-10-24'));
    for (let i = 1; i < day.length; i++) expect(day[i]!.start).toBe(day[i - 1]!.end);
    expect(shiftsOn(AMS, date('2026-10-26'))[0]!.start).toBe(utc('2026-10-26T05:00:00Z'));
  });

  it('a night shift belongs to the day it starts; a time between shifts is in none', () => {
    const s = shiftAt(AMS, utc('2026-06-10T02:00:00Z'))!; // 04:00 CEST on a Wednesday
    expect(s).toMatchObject({ name: 'night', date: '2026-06-09' });
    const sundays = { ...AMS, versions: [{ ...threeShifts, week: { ...threeShifts.week, sun: [] } }] };
    expect(shiftAt(sundays, utc('2026-06-07T10:00:00Z'))).toBeUndefined(); // a Sunday noon with no shifts
    expect(shiftAt(AMS, utc('2026-06-07T10:00:00Z'))).toBeUndefined(); // the Sunday night shift starts at 22:00
  });

  it('exceptions replace the week: a shutdown and a holiday have no shifts, an extra Sunday has one', () => {
    expect(shiftsOn(AMS, date('2026-08-05'))).toEqual([]);
    expect(shiftsOn(AMS, date('2026-12-25'))).toEqual([]);
    expect(shiftsOn(AMS, date('2026-12-27')).map((s) => s.name)).toEqual(['early']);
    // The night shift of the day before the shutdown still runs into its first morning.
    expect(shiftAt(AMS, utc('2026-08-03T02:00:00Z'))).toMatchObject({ name: 'night', date: '2026-08-02' });
  });

  it('a new version applies from its date on and does not rewrite the past', () => {
    const v2: CalendarVersion = { ...threeShifts, validFrom: '2026-06-01', shifts: { ...threeShifts.shifts, early: { start: hm(5), end: hm(14) } }, exceptions: [] };
    const cal: ShiftCalendar = { timeZone: 'Europe/Amsterdam', versions: [threeShifts, v2] };
    expect(shiftsOn(cal, date('2026-05-29')).find((s) => s.name === 'early')!.start).toBe(utc('2026-05-29T04:00:00Z'));
    expect(shiftsOn(cal, date('2026-06-01')).find((s) => s.name === 'early')!.start).toBe(utc('2026-06-01T03:00:00Z'));
    expect(shiftsOn(cal, date('2025-12-31'))).toEqual([]);
    // The old pattern's night shift would run until 06:00 on the first day of the new one, whose early shift starts at 05:00: it ends then.
    expect(shiftAt(cal, utc('2026-06-01T02:30:00Z'))).toMatchObject({ name: 'night', date: '2026-05-31', end: utc('2026-06-01T03:00:00Z') });
    expect(shiftAt(cal, utc('2026-06-01T03:30:00Z'))).toMatchObject({ name: 'early', date: '2026-06-01' });
  });

  it('over a month every worked hour is in exactly one shift', () => {
    const from = utc('2026-03-01T00:00:00Z');
    const to = utc('2026-04-01T00:00:00Z');
    const shifts = shiftsBetween(AMS, from, to);
    for (let i = 1; i < shifts.length; i++) expect(shifts[i]!.start).toBeGreaterThanOrEqual(shifts[i - 1]!.end);
    for (let t = from; t < to; t += H / 2) {
      const inShifts = shifts.filter((s) => s.start <= t && t < s.end);
      expect(inShifts.length).toBeLessThanOrEqual(1);
      expect(shiftAt(AMS, t)?.start).toBe(inShifts[0]?.start);
    }
  });
});
