/**
 * Wall-clock time in a site's IANA time zone, from the platform's time zone data (Intl): what
 * shifts, days, weeks and months are counted in. Pure: the same zone and instant always give
 * the same answer.
 */

const DAY_MS = 86_400_000;

/** A calendar date in a site's time zone. */
export interface SiteDate {
  year: number;
  /** 1–12. */
  month: number;
  /** 1–31. */
  day: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(zone: string): Intl.DateTimeFormat {
  let f = formatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(zone, f);
  }
  return f;
}

/** True when the platform knows `zone` as an IANA time zone. */
export function isTimeZone(zone: string): boolean {
  try {
    formatter(zone);
    return true;
  } catch {
    return false;
  }
}

/** The wall-clock fields of instant `t` in `zone` (seconds kept, milliseconds dropped). */
function wallFields(zone: string, t: number): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const out = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 };
  for (const p of formatter(zone).formatToParts(t)) {
    if (p.type in out) out[p.type as keyof typeof out] = Number(p.value);
  }
  return out;
}

/** The offset as Intl gives it, unremembered. */
function offsetAt(zone: string, t: number): number {
  const w = wallFields(zone, t);
  const wall = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return wall - (t - (((t % 1000) + 1000) % 1000));
}

/** Offsets are remembered per quarter of an hour: the rules change at most once in one. */
const BUCKET_MS = 900_000;
const MAX_REMEMBERED = 100_000;
const remembered = new Map<string, Map<number, number>>();

/**
 * How far `zone`'s wall clock is ahead of UTC at instant `t`, in ms (+3,600,000 for CET).
 * Asking Intl costs microseconds and a month's rollup of shifts asks it thousands of times, so
 * a quarter hour whose offset is the same at its start and its end is remembered; one with a
 * change in it is always asked.
 */
export function zoneOffset(zone: string, t: number): number {
  const bucket = Math.floor(t / BUCKET_MS);
  let byBucket = remembered.get(zone);
  if (byBucket === undefined) remembered.set(zone, (byBucket = new Map()));
  const known = byBucket.get(bucket);
  if (known !== undefined) return known;
  const first = offsetAt(zone, bucket * BUCKET_MS);
  if (offsetAt(zone, (bucket + 1) * BUCKET_MS - 1000) !== first) return offsetAt(zone, t);
  if (byBucket.size >= MAX_REMEMBERED) byBucket.clear();
  byBucket.set(bucket, first);
  return first;
}

/**
 * The instant a wall-clock time happens in `zone`. A time that happens twice (the hour the
 * clocks go back) is its first occurrence; a time that does not happen (the hour skipped when
 * they go forward) is moved on by the length of the gap, as a clock on the wall would show it.
 */
export function zonedToEpoch(zone: string, date: SiteDate, minuteOfDay: number): number {
  const wall = Date.UTC(date.year, date.month - 1, date.day, 0, minuteOfDay);
  // Time zone rules change at most once a day: the offsets a day before and a day after bracket it.
  const before = wall - zoneOffset(zone, wall - DAY_MS);
  const after = wall - zoneOffset(zone, wall + DAY_MS);
  const valid = [before, after].filter((t) => t + zoneOffset(zone, t) === wall).sort((a, b) => a - b);
  return valid[0] ?? before;
}

/** The site date of instant `t`. */
export function siteDateOf(zone: string, t: number): SiteDate {
  const wall = new Date(t + zoneOffset(zone, t));
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate() };
}

/** The date `days` after `d` (negative: before). */
export function addDays(d: SiteDate, days: number): SiteDate {
  const u = new Date(Date.UTC(d.year, d.month - 1, d.day + days));
  return { year: u.getUTCFullYear(), month: u.getUTCMonth() + 1, day: u.getUTCDate() };
}

/** How many calendar days `b` is after `a` (negative: before); a day the clocks change is one day. */
export function daysBetween(a: SiteDate, b: SiteDate): number {
  return Math.round((Date.UTC(b.year, b.month - 1, b.day) - Date.UTC(a.year, a.month - 1, a.day)) / DAY_MS);
}

/** 0 = Monday … 6 = Sunday (ISO 8601). */
export function isoWeekday(d: SiteDate): number {
  return (new Date(Date.UTC(d.year, d.month - 1, d.day)).getUTCDay() + 6) % 7;
}

/** `YYYY-MM-DD`. */
export function formatDate(d: SiteDate): string {
  return `${String(d.year).padStart(4, '0')}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;
}

/** Minutes after midnight of a `HH:MM` time of day (validated by the config schema). */
export function minuteOfDay(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

/** A `YYYY-MM-DD` date, or undefined when it is not a real date. */
export function parseDate(s: string): SiteDate | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return undefined;
  const d = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  return formatDate(addDays(d, 0)) === s ? d : undefined;
}
