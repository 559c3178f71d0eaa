import type { RollupPeriod } from '../core/rollup.js';
import type { ShiftInstance } from './shifts.js';
import { addDays, formatDate, isoWeekday, siteDateOf, zonedToEpoch, zoneOffset, type SiteDate } from './site-time.js';

/** The periods a rollup sums over, in the site's time. */
export type Period = RollupPeriod;

/** One period in a site's time: its label and its bounds (epoch ms, end exclusive). */
export interface PeriodSpan {
  /** `2026-03-29T02+01:00` (hour), `2026-03-29 early` (shift), `2026-03-29`, `2026-W13`, `2026-03`, `2026-Q1`, `2026`. */
  label: string;
  start: number;
  end: number;
}

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function span(zone: string, label: string, first: SiteDate, next: SiteDate): PeriodSpan {
  return { label, start: zonedToEpoch(zone, first, 0), end: zonedToEpoch(zone, next, 0) };
}

/** The ISO 8601 week of a date: its year (of the week's Thursday), number and Monday. */
function isoWeek(d: SiteDate): { year: number; week: number; monday: SiteDate } {
  const monday = addDays(d, -isoWeekday(d));
  const thursday = addDays(monday, 3);
  const jan1 = Date.UTC(thursday.year, 0, 1);
  const week = Math.floor((Date.UTC(thursday.year, thursday.month - 1, thursday.day) - jan1) / 86_400_000 / 7) + 1;
  return { year: thursday.year, week, monday };
}

/**
 * The period of `period` kind that instant `t` falls in, in `zone`; undefined for a shift
 * period when `t` is between shifts (or the site has no shift calendar). `shiftAt` finds the
 * site's shift (kpi/shifts.ts).
 */
export function periodOf(period: Period, zone: string, t: number, shiftAt?: (t: number) => ShiftInstance | undefined): PeriodSpan | undefined {
  if (period === 'shift') {
    const s = shiftAt?.(t);
    return s === undefined ? undefined : { label: `${s.date} ${s.name}`, start: s.start, end: s.end };
  }
  const d = siteDateOf(zone, t);
  switch (period) {
    case 'hour': {
      // An hour of the wall clock; on the night the clocks go back the two 02:00 hours differ by their offset.
      const offset = zoneOffset(zone, t);
      const wall = t + offset;
      const start = wall - (((wall % 3_600_000) + 3_600_000) % 3_600_000) - offset;
      const h = new Date(start + offset).getUTCHours();
      const sign = offset < 0 ? '-' : '+';
      const abs = Math.abs(offset) / 60_000;
      return { label: `${formatDate(d)}T${pad(h)}${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`, start, end: start + 3_600_000 };
    }
    case 'day':
      return span(zone, formatDate(d), d, addDays(d, 1));
    case 'week': {
      const w = isoWeek(d);
      return span(zone, `${w.year}-W${pad(w.week)}`, w.monday, addDays(w.monday, 7));
    }
    case 'month': {
      const first = { year: d.year, month: d.month, day: 1 };
      const next = d.month === 12 ? { year: d.year + 1, month: 1, day: 1 } : { year: d.year, month: d.month + 1, day: 1 };
      return span(zone, `${d.year}-${pad(d.month)}`, first, next);
    }
    case 'quarter': {
      const q = Math.floor((d.month - 1) / 3);
      const first = { year: d.year, month: q * 3 + 1, day: 1 };
      const next = q === 3 ? { year: d.year + 1, month: 1, day: 1 } : { year: d.year, month: q * 3 + 4, day: 1 };
      return span(zone, `${d.year}-Q${q + 1}`, first, next);
    }
    case 'year':
      return span(zone, String(d.year), { year: d.year, month: 1, day: 1 }, { year: d.year + 1, month: 1, day: 1 });
  }
}
