import { addDays, formatDate, isoWeekday, siteDateOf, zonedToEpoch, type SiteDate } from './site-time.js';

/** Weekday keys of a weekly pattern, Monday first (ISO 8601). */
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** One named shift: from `start` to `end`, minutes after the site's midnight; an end at or before the start is on the next day. */
export interface ShiftDef {
  start: number;
  end: number;
}

/** The shift pattern in force from a date on, until the next version starts. */
export interface CalendarVersion {
  /** First site date it applies to, `YYYY-MM-DD`. */
  validFrom: string;
  shifts: Readonly<Record<string, ShiftDef>>;
  /** The shifts that start on each weekday. */
  week: Readonly<Record<Weekday, readonly string[]>>;
  /** Days that differ from the week: holidays (no shifts), a shutdown, an extra shift. Inclusive `from`–`to`. */
  exceptions: readonly { from: string; to: string; shifts: readonly string[] }[];
}

/** A site's shift calendar: its IANA time zone and its versions, oldest first. */
export interface ShiftCalendar {
  timeZone: string;
  versions: readonly CalendarVersion[];
}

/** One worked shift. */
export interface ShiftInstance {
  name: string;
  /** The site date the shift starts on, `YYYY-MM-DD`: a night shift belongs to the day it starts. */
  date: string;
  /** Epoch ms, inclusive. */
  start: number;
  /** Epoch ms, exclusive. */
  end: number;
}

/** The version in force on `date` (`YYYY-MM-DD`), or undefined before the first. */
function versionOn(cal: ShiftCalendar, date: string): CalendarVersion | undefined {
  let found: CalendarVersion | undefined;
  for (const v of cal.versions) if (v.validFrom <= date) found = v;
  return found;
}

/** The shifts that start on one site date, in the order of the day. */
export function shiftsOn(cal: ShiftCalendar, d: SiteDate): ShiftInstance[] {
  const date = formatDate(d);
  const v = versionOn(cal, date);
  if (v === undefined) return [];
  // The last exception that covers the date wins: a later line overrides an earlier one.
  let names = v.week[WEEKDAYS[isoWeekday(d)]!];
  for (const e of v.exceptions) if (e.from <= date && date <= e.to) names = e.shifts;
  const out: ShiftInstance[] = [];
  for (const name of names) {
    const s = v.shifts[name];
    if (s === undefined) continue;
    const start = zonedToEpoch(cal.timeZone, d, s.start);
    const end = zonedToEpoch(cal.timeZone, s.end > s.start ? d : addDays(d, 1), s.end);
    out.push({ name, date, start, end });
  }
  return out.sort((a, b) => a.start - b.start);
}

/**
 * Every shift that overlaps [from, to), in time order. Where a shift would run past the start of
 * the next one (a new calendar version whose first shift starts earlier than the old pattern's
 * last one ends), it ends when the next one starts: no instant is in two shifts.
 */
export function shiftsBetween(cal: ShiftCalendar, from: number, to: number): ShiftInstance[] {
  if (!(to > from)) return [];
  // A shift that overlaps `from` may have started the day before (a night shift), and the day after `to` may cut the last one short.
  const all: ShiftInstance[] = [];
  const last = formatDate(addDays(siteDateOf(cal.timeZone, to), 1));
  for (let d = addDays(siteDateOf(cal.timeZone, from), -1); formatDate(d) <= last; d = addDays(d, 1)) all.push(...shiftsOn(cal, d));
  all.sort((a, b) => a.start - b.start);
  for (let i = 0; i + 1 < all.length; i++) if (all[i]!.end > all[i + 1]!.start) all[i]!.end = all[i + 1]!.start;
  return all.filter((s) => s.start < to && s.end > from);
}

/** The shift `t` falls in, or undefined between shifts (a window is counted in the shift its start falls in). */
export function shiftAt(cal: ShiftCalendar, t: number): ShiftInstance | undefined {
  return shiftsBetween(cal, t, t + 1)[0];
}

/** How far ahead a gap between shifts is looked at (a long shutdown is then seen in steps of this). */
const GAP_LOOKAHEAD_MS = 8 * 86_400_000;

/**
 * `shiftAt` for instants that mostly come in time order (windows as they are committed, stored
 * sums as they are read): the last shift, and the last gap between shifts, answer most calls
 * without asking the time zone rules again.
 */
export function shiftFinder(cal: ShiftCalendar): (t: number) => ShiftInstance | undefined {
  let last: ShiftInstance | undefined;
  let gap = { start: 0, end: 0 };
  return (t) => {
    if (last !== undefined && t >= last.start && t < last.end) return last;
    if (t >= gap.start && t < gap.end) return undefined;
    const s = shiftAt(cal, t);
    if (s !== undefined) last = s;
    else gap = { start: t, end: shiftsBetween(cal, t, t + GAP_LOOKAHEAD_MS)[0]?.start ?? t + GAP_LOOKAHEAD_MS };
    return s;
  };
}
