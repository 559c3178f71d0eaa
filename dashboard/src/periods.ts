/**
 * Report periods as the report page picks them, written as the reports API reads them
 * (`2026-11-03`, `2026-W45`, `2026-11`, `2026-Q4`, `2026`, `2026-11-03/early`,
 * `2026-11-01..2026-11-15`). Dates are the site's: today is asked of `Intl` in the site's time
 * zone, and everything else is calendar arithmetic on dates, so the browser's own zone never matters.
 */

export const PERIOD_KINDS = ['day', 'week', 'month', 'quarter', 'year', 'shift', 'custom'] as const;
export type PeriodKind = (typeof PERIOD_KINDS)[number];

/** A calendar date. */
export interface Ymd {
  year: number;
  month: number;
  day: number;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export function formatYmd(d: Ymd): string {
  return `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}`;
}

/** A `YYYY-MM-DD` that exists, else undefined. */
export function parseYmd(s: string): Ymd | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (m === null) return undefined;
  const d = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) };
  const back = fromUtc(toUtc(d));
  return back.year === d.year && back.month === d.month && back.day === d.day ? d : undefined;
}

const toUtc = (d: Ymd) => Date.UTC(d.year, d.month - 1, d.day);
function fromUtc(t: number): Ymd {
  const x = new Date(t);
  return { year: x.getUTCFullYear(), month: x.getUTCMonth() + 1, day: x.getUTCDate() };
}

export function addDays(d: Ymd, n: number): Ymd {
  return fromUtc(toUtc(d) + n * 86_400_000);
}

/** The date at `t` in `timeZone`. */
export function dateIn(timeZone: string, t: number): Ymd {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(t);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day') };
}

/** The ISO week of a date: weeks start on Monday, week 1 holds 4 January. */
export function isoWeek(d: Ymd): { year: number; week: number } {
  const weekday = (new Date(toUtc(d)).getUTCDay() + 6) % 7; // Monday 0
  const thursday = fromUtc(toUtc(d) + (3 - weekday) * 86_400_000);
  const jan1 = Date.UTC(thursday.year, 0, 1);
  return { year: thursday.year, week: Math.floor((toUtc(thursday) - jan1) / (7 * 86_400_000)) + 1 };
}

/** The label of the period of `kind` a date falls in. */
export function labelOf(kind: 'day' | 'week' | 'month' | 'quarter' | 'year', d: Ymd): string {
  switch (kind) {
    case 'day':
      return formatYmd(d);
    case 'week': {
      const w = isoWeek(d);
      return `${pad(w.year, 4)}-W${pad(w.week)}`;
    }
    case 'month':
      return `${pad(d.year, 4)}-${pad(d.month)}`;
    case 'quarter':
      return `${pad(d.year, 4)}-Q${Math.floor((d.month - 1) / 3) + 1}`;
    case 'year':
      return pad(d.year, 4);
  }
}

/** The first day of the period of `kind` a date falls in. */
function startOf(kind: 'day' | 'week' | 'month' | 'quarter' | 'year', d: Ymd): Ymd {
  switch (kind) {
    case 'day':
      return d;
    case 'week':
      return addDays(d, -((new Date(toUtc(d)).getUTCDay() + 6) % 7));
    case 'month':
      return { year: d.year, month: d.month, day: 1 };
    case 'quarter':
      return { year: d.year, month: Math.floor((d.month - 1) / 3) * 3 + 1, day: 1 };
    case 'year':
      return { year: d.year, month: 1, day: 1 };
  }
}

/** The periods of `kind` up to the one `today` is in, newest first: `count` of them, the current (not over yet) first. */
export function recentPeriods(kind: 'day' | 'week' | 'month' | 'quarter' | 'year', today: Ymd, count: number): string[] {
  const out: string[] = [];
  let d = today;
  for (let i = 0; i < count; i++) {
    out.push(labelOf(kind, d));
    d = addDays(startOf(kind, d), -1);
  }
  return out;
}

/** The last whole period of `kind` before the one `today` is in; for a custom period, the dates of last month. */
export function lastComplete(kind: Exclude<PeriodKind, 'shift'>, today: Ymd): string {
  if (kind === 'custom') {
    const end = addDays(startOf('month', today), -1);
    return `${formatYmd(startOf('month', end))}..${formatYmd(end)}`;
  }
  return recentPeriods(kind, today, 2)[1]!;
}

/** Which kind a period is written as; undefined for what the page does not pick (`last-month`, a typo). */
export function kindOf(period: string): PeriodKind | undefined {
  if (/^\d{4}$/.test(period)) return 'year';
  if (/^\d{4}-Q[1-4]$/.test(period)) return 'quarter';
  if (/^\d{4}-\d{2}$/.test(period)) return 'month';
  if (/^\d{4}-W\d{2}$/.test(period)) return 'week';
  if (/^\d{4}-\d{2}-\d{2}$/.test(period)) return 'day';
  if (/^\d{4}-\d{2}-\d{2}[ /][A-Za-z0-9._-]+$/.test(period)) return 'shift';
  if (/^\d{4}-\d{2}-\d{2}\.\.\d{4}-\d{2}-\d{2}$/.test(period)) return 'custom';
  return undefined;
}

/** A shift written as the page's picker writes it: `2026-11-03/early` (the API also takes a space). */
export function shiftPeriod(date: string, name: string): string {
  return `${date}/${name}`;
}

/** A period in the one spelling the page uses (`2026-11-03 early` → `2026-11-03/early`). */
export function normalPeriod(period: string): string {
  return kindOf(period) === 'shift' ? period.replace(' ', '/') : period;
}
