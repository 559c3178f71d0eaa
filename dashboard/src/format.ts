import type { Language } from './i18n.js';

const LOCALES: Record<Language, string> = { en: 'en-GB', nl: 'nl-NL' };

/**
 * One formatter per language and kind, made on first use: building an `Intl` formatter costs far
 * more than formatting with it, and the overview formats six numbers on each of hundreds of tiles.
 */
const formatters = new Map<string, Intl.NumberFormat | Intl.DateTimeFormat | Intl.ListFormat>();
function cached<F extends Intl.NumberFormat | Intl.DateTimeFormat | Intl.ListFormat>(key: string, make: () => F): F {
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

/** A difference with its sign (`+1.2`, `−0.4`, `0`): a change against another period or a target. */
export function signed(lang: Language, v: number | undefined, digits = 1): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return cached(`signed ${lang} ${digits}`, () => new Intl.NumberFormat(LOCALES[lang], { maximumFractionDigits: digits, signDisplay: 'exceptZero' })).format(v);
}

/** Money in its currency (ISO 4217): whole units from 100 up (costs of loss are estimates, not accounts), cents below, so a small saving is not 0. */
export function money(lang: Language, v: number | undefined, currency: string): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  const digits = Math.abs(v) < 100 ? 2 : 0;
  try {
    return cached(`money ${lang} ${currency} ${digits}`, () => new Intl.NumberFormat(LOCALES[lang], { style: 'currency', currency, minimumFractionDigits: digits, maximumFractionDigits: digits })).format(v);
  } catch {
    // A currency code Intl does not know: the number and the code as configured.
    return `${amount(lang, v)} ${currency}`;
  }
}

/** Money by currency (`{ EUR: 12, USD: 3 }`), each in its own: never summed across currencies; '–' when there is none. */
export function moneys(lang: Language, v: Record<string, number> | undefined): string {
  const entries = Object.entries(v ?? {}).sort(([a], [b]) => (a < b ? -1 : 1));
  return entries.length === 0 ? '–' : entries.map(([c, x]) => money(lang, x, c)).join(' + ');
}

/** A date in a site's time zone (`3 Nov 2026`). */
export function date(lang: Language, t: number, timeZone: string): string {
  return cached(`date ${lang} ${timeZone}`, () => new Intl.DateTimeFormat(LOCALES[lang], { timeZone, day: 'numeric', month: 'short', year: 'numeric' })).format(t);
}

/** A month in a site's time zone (`Nov 2026`). */
export function monthOf(lang: Language, t: number, timeZone: string): string {
  return cached(`month ${lang} ${timeZone}`, () => new Intl.DateTimeFormat(LOCALES[lang], { timeZone, month: 'short', year: 'numeric' })).format(t);
}

/** Items as a sentence lists them (`a, b and c`; `a, b en c`). */
export function list(lang: Language, items: string[]): string {
  return cached(`list ${lang}`, () => new Intl.ListFormat(LOCALES[lang], { type: 'conjunction' })).format(items);
}

/** A length of time for people: `3 h 20 min`, `45 min`. */
export function duration(lang: Language, ms: number): string {
  const min = Math.round(ms / 60_000);
  const h = Math.floor(min / 60);
  const hour = lang === 'nl' ? 'u' : 'h';
  return h === 0 ? `${min % 60} min` : min % 60 === 0 ? `${amount(lang, h)} ${hour}` : `${amount(lang, h)} ${hour} ${min % 60} min`;
}

/** A relative change with its sign, as a percentage with one decimal (`+12.3%`). */
export function signedPercent(lang: Language, v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  return cached(`signed% ${lang}`, () => new Intl.NumberFormat(LOCALES[lang], { style: 'percent', maximumFractionDigits: 1, signDisplay: 'exceptZero' })).format(v);
}

/** A day of the month in a site's time zone (`3 Nov`). */
export function dayMonth(lang: Language, t: number, timeZone: string): string {
  return cached(`daymonth ${lang} ${timeZone}`, () => new Intl.DateTimeFormat(LOCALES[lang], { timeZone, day: 'numeric', month: 'short' })).format(t);
}
