import { periodOf, type PeriodSpan } from '../kpi/periods.js';
import { shiftsOn, type ShiftCalendar } from '../kpi/shifts.js';
import { addDays, daysBetween, formatDate, isoWeekday, parseDate, siteDateOf, zonedToEpoch, type SiteDate } from '../kpi/site-time.js';

/** The kinds of period a report covers, in the site's time. */
export const REPORT_PERIODS = ['shift', 'day', 'week', 'month', 'quarter', 'year', 'custom'] as const;
export type ReportPeriodKind = (typeof REPORT_PERIODS)[number];

/** A report's period: its kind, label (`2026-11`, `2026-W45`, `2026-11-03 early`, `2026-11-01..2026-11-15`) and bounds (epoch ms, end exclusive). */
export interface ReportPeriod extends PeriodSpan {
  kind: ReportPeriodKind;
}

/** What a period needs of its site: the time zone, and the shift calendar for shift periods. */
export interface PeriodContext {
  timeZone: string;
  calendar?: ShiftCalendar | undefined;
}

/** The spellings a period may be given in, for messages and docs. */
export const PERIOD_FORMS =
  '2026-11 (month), 2026-W45 (ISO week), 2026-Q4, 2026, 2026-11-03 (day), "2026-11-03 early" or 2026-11-03/early (shift), 2026-11-01..2026-11-15 (custom, both dates included), or yesterday, last-shift, last-week, last-month, last-quarter, last-year';

/** The period kind of each relative period (`last-day` is `yesterday` too). */
export const RELATIVE_PERIODS: Readonly<Record<string, Exclude<ReportPeriodKind, 'custom'>>> = {
  yesterday: 'day',
  'last-day': 'day',
  'last-shift': 'shift',
  'last-week': 'week',
  'last-month': 'month',
  'last-quarter': 'quarter',
  'last-year': 'year',
};

/** The longest custom period, in calendar days of the site (both dates included). */
const MAX_CUSTOM_DAYS = 400;

const startOfDay = (zone: string, d: SiteDate) => zonedToEpoch(zone, d, 0);

function kindOf(label: string): Exclude<ReportPeriodKind, 'custom' | 'shift'> {
  if (/^\d{4}$/.test(label)) return 'year';
  if (/^\d{4}-Q\d$/.test(label)) return 'quarter';
  if (/^\d{4}-\d{2}$/.test(label)) return 'month';
  if (/^\d{4}-W\d{2}$/.test(label)) return 'week';
  return 'day';
}

function fixed(kind: Exclude<ReportPeriodKind, 'custom' | 'shift'>, ctx: PeriodContext, t: number): ReportPeriod {
  const s = periodOf(kind, ctx.timeZone, t)!;
  return { kind, label: s.label, start: s.start, end: s.end };
}

/** The shift named `name` that starts on site date `d`. */
function shiftPeriod(ctx: PeriodContext, d: SiteDate, name: string): ReportPeriod | string {
  if (ctx.calendar === undefined || ctx.calendar.versions.length === 0) return 'the site has no shift calendar (sites.<site>.shiftCalendar), so there are no shift periods';
  const shifts = shiftsOn(ctx.calendar, d);
  const s = shifts.find((x) => x.name === name);
  if (s === undefined) {
    return shifts.length === 0 ? `no shift starts on ${formatDate(d)}` : `no shift "${name}" on ${formatDate(d)}; that day has ${shifts.map((x) => x.name).join(', ')}`;
  }
  return { kind: 'shift', label: `${s.date} ${s.name}`, start: s.start, end: s.end };
}

/**
 * Parses a period as a user writes it (`PERIOD_FORMS`), in the site's time; `now` places the
 * relative ones (`last-month` is the last whole month before now). A string is what is wrong.
 */
export function parsePeriod(spec: string, ctx: PeriodContext, now: number): ReportPeriod | string {
  const s = spec.trim();
  const relative = RELATIVE_PERIODS[s];
  if (relative !== undefined) return lastComplete(relative, ctx, now) ?? `there is no ${relative} before now`;

  const custom = /^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$/.exec(s);
  if (custom !== null) {
    const from = parseDate(custom[1]!);
    const to = parseDate(custom[2]!);
    if (from === undefined || to === undefined) return `"${s}" has a date that does not exist`;
    const start = startOfDay(ctx.timeZone, from);
    const end = startOfDay(ctx.timeZone, addDays(to, 1));
    if (end <= start) return `"${s}" ends before it starts`;
    // Counted in dates, not ms: a day the clocks go back is 25 hours and still one day.
    if (daysBetween(from, to) + 1 > MAX_CUSTOM_DAYS) return `"${s}" is longer than ${MAX_CUSTOM_DAYS} days`;
    return { kind: 'custom', label: `${custom[1]}..${custom[2]}`, start, end };
  }

  const shift = /^(\d{4}-\d{2}-\d{2})[ /]([A-Za-z0-9._-]+)$/.exec(s);
  if (shift !== null) {
    const d = parseDate(shift[1]!);
    if (d === undefined) return `"${shift[1]}" is not a date`;
    return shiftPeriod(ctx, d, shift[2]!);
  }

  let t: number | undefined;
  let m: RegExpExecArray | null;
  if ((m = /^(\d{4})$/.exec(s)) !== null) t = startOfDay(ctx.timeZone, { year: Number(m[1]), month: 1, day: 1 });
  else if ((m = /^(\d{4})-Q([1-4])$/.exec(s)) !== null) t = startOfDay(ctx.timeZone, { year: Number(m[1]), month: (Number(m[2]) - 1) * 3 + 1, day: 1 });
  else if ((m = /^(\d{4})-(\d{2})$/.exec(s)) !== null) {
    const month = Number(m[2]);
    if (month >= 1 && month <= 12) t = startOfDay(ctx.timeZone, { year: Number(m[1]), month, day: 1 });
  } else if ((m = /^(\d{4})-W(\d{2})$/.exec(s)) !== null) {
    // Week 1 is the week with 4 January in it.
    const jan4 = { year: Number(m[1]), month: 1, day: 4 };
    t = startOfDay(ctx.timeZone, addDays(jan4, -isoWeekday(jan4) + 7 * (Number(m[2]) - 1)));
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const d = parseDate(s);
    if (d !== undefined) t = startOfDay(ctx.timeZone, d);
  }
  if (t === undefined) return `"${s}" is not a period; expected ${PERIOD_FORMS}`;
  const p = fixed(kindOf(s), ctx, t);
  // 2026-W54 or 2026-13 parse to some other period: refuse rather than report that one.
  if (p.label !== s) return `"${s}" does not exist (it would be ${p.label})`;
  return p;
}

/** The last whole period of `kind` that ended at or before `t`; undefined for shifts when none ended in the 31 days before. */
export function lastComplete(kind: Exclude<ReportPeriodKind, 'custom'>, ctx: PeriodContext, t: number): ReportPeriod | undefined {
  if (kind === 'shift') {
    if (ctx.calendar === undefined) return undefined;
    let d = siteDateOf(ctx.timeZone, t);
    for (let i = 0; i < 32; i++, d = addDays(d, -1)) {
      const ended = shiftsOn(ctx.calendar, d).filter((s) => s.end <= t);
      const last = ended.at(-1);
      if (last !== undefined) return { kind: 'shift', label: `${last.date} ${last.name}`, start: last.start, end: last.end };
    }
    return undefined;
  }
  const current = fixed(kind, ctx, t);
  return fixed(kind, ctx, current.start - 1);
}

/** The period before `p` of the same kind and length (a custom period: the same number of days before it). */
export function previousPeriod(p: ReportPeriod, ctx: PeriodContext): ReportPeriod | undefined {
  if (p.kind === 'shift') {
    if (ctx.calendar === undefined) return undefined;
    let d = siteDateOf(ctx.timeZone, p.start);
    for (let i = 0; i < 32; i++, d = addDays(d, -1)) {
      const before = shiftsOn(ctx.calendar, d).filter((s) => s.start < p.start);
      const last = before.at(-1);
      if (last !== undefined) return { kind: 'shift', label: `${last.date} ${last.name}`, start: last.start, end: last.end };
    }
    return undefined;
  }
  if (p.kind === 'custom') return shiftDays(p, ctx, -daysOf(p, ctx));
  return fixed(p.kind, ctx, p.start - 1);
}

/**
 * The same period a year earlier: the same month, quarter or dates; the same ISO week number;
 * the shift of the same name on the same date. Undefined when that does not exist (29 February,
 * week 53, a shift the calendar then did not have).
 */
export function yearBefore(p: ReportPeriod, ctx: PeriodContext): ReportPeriod | undefined {
  const [label, ...rest] = p.label.split(' ');
  if (p.kind === 'custom') {
    const [a, b] = p.label.split('..');
    const back = (x: string) => `${Number(x.slice(0, 4)) - 1}${x.slice(4)}`;
    const r = parsePeriod(`${back(a!)}..${back(b!)}`, ctx, 0);
    return typeof r === 'string' ? undefined : r;
  }
  const earlier = `${Number(label!.slice(0, 4)) - 1}${label!.slice(4)}`;
  const r = parsePeriod(p.kind === 'shift' ? `${earlier} ${rest.join(' ')}` : earlier, ctx, 0);
  return typeof r === 'string' ? undefined : r;
}

function daysOf(p: ReportPeriod, ctx: PeriodContext): number {
  return daysBetween(siteDateOf(ctx.timeZone, p.start), siteDateOf(ctx.timeZone, p.end));
}

function shiftDays(p: ReportPeriod, ctx: PeriodContext, days: number): ReportPeriod {
  const a = addDays(siteDateOf(ctx.timeZone, p.start), days);
  const b = addDays(siteDateOf(ctx.timeZone, p.end), days);
  return { kind: 'custom', label: `${formatDate(a)}..${formatDate(addDays(b, -1))}`, start: startOfDay(ctx.timeZone, a), end: startOfDay(ctx.timeZone, b) };
}
