import type { Language } from './i18n.js';

const LOCALES: Record<Language, string> = { en: 'en-GB', nl: 'nl-NL' };

/**
 * One formatter per language and kind, made on first use: building an `Intl` formatter costs far
 * more than formatting with it, and the overview formats six numbers on each of hundreds of tiles.
 */
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat>();
function cached<F extends Intl.NumberFormat | Intl.DateTimeFormat>(key: string, make: () => F): F {
  let f = formatters.get(key) as F | undefined;
  if (f === undefined) formatters.set(key, (f = make()));
  return f;
}

/** A share (0..1) as a percentage for people: one decimal. */
export function percent(lang: Language, v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return cached(`percent ${lang}`, () => new Intl.NumberFormat(LOCALES[lang], { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 })).format(v);
}

/** A count or a mass, rounded for people. */
export function amount(lang: Language, v: number | undefined, digits = 0): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return cached(`amount ${lang} ${digits}`, () => new Intl.NumberFormat(LOCALES[lang], { maximumFractionDigits: digits })).format(v);
}

/** A time of day in a site's time zone, 24-hour. */
export function timeOfDay(lang: Language, t: number, timeZone: string): string {
  return cached(`time ${lang} ${timeZone}`, () => new Intl.DateTimeFormat(LOCALES[lang], { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })).format(t);
}

/** A date and time of day in a site's time zone, 24-hour. */
export function dateTime(lang: Language, t: number, timeZone: string): string {
  return cached(`datetime ${lang} ${timeZone}`, () => new Intl.DateTimeFormat(LOCALES[lang], { timeZone, day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })).format(t);
}
