import type { Language } from './i18n.js';

const LOCALES: Record<Language, string> = { en: 'en-GB', nl: 'nl-NL' };

/** A share (0..1) as a percentage for people: one decimal. */
export function percent(lang: Language, v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return new Intl.NumberFormat(LOCALES[lang], { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(v);
}

/** A count or a mass, rounded for people. */
export function amount(lang: Language, v: number | undefined, digits = 0): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return new Intl.NumberFormat(LOCALES[lang], { maximumFractionDigits: digits }).format(v);
}

/** A time of day in a site's time zone, 24-hour. */
export function timeOfDay(lang: Language, t: number, timeZone: string): string {
  return new Intl.DateTimeFormat(LOCALES[lang], { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(t);
}

/** A date and time of day in a site's time zone, 24-hour. */
export function dateTime(lang: Language, t: number, timeZone: string): string {
  return new Intl.DateTimeFormat(LOCALES[lang], { timeZone, day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(t);
}
