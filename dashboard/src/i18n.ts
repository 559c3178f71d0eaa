/**
 * The dashboard's words in English and Dutch. Every text a person sees comes from here, so a key
 * missing from a language fails a test (`i18n.test.ts`). Plain words for the shop floor.
 */
const en = {
  'app.title': 'yieldwatch',
  'nav.overview': 'Overview',
  'nav.status': 'Status',
  'lang.switch': 'Nederlands',
  'live.connected': 'Live',
  'live.reconnecting': 'Connection lost: reconnecting… the numbers may be out of date',
  'overview.title': 'Plant overview',
  'overview.loading': 'Loading the machines…',
  'overview.empty': 'No machines are configured.',
  'overview.failed': 'The overview could not be loaded: {error}',
  'tile.now': 'Now',
  'tile.shift': 'Shift {name}',
  'tile.noShift': 'No shift now',
  'tile.day': 'Today',
  'tile.yield': 'Yield',
  'tile.scrapRate': 'Scrap',
  'tile.parts': '{count} parts',
  'tile.noData': 'no data yet',
  'tile.stale': 'No data since {time}',
  'tile.staleNever': 'No data received',
  'tile.alerts': '{count} active alert(s)',
  'tile.manual': 'incl. {count} recorded by hand',
  'notFound.title': 'Page not found',
  'notFound.back': 'Back to the overview',
  'login.title': 'Log in',
  'login.name': 'User name',
  'login.password': 'Password',
  'login.submit': 'Log in',
  'login.wrong': 'Wrong user name or password.',
  'login.tooMany': 'Too many attempts: wait a quarter of an hour and try again.',
  'login.failed': 'The agent cannot be reached. Try again in a moment.',
  'session.user': '{name} ({role})',
  'session.logout': 'Log out',
  'role.viewer': 'viewer',
  'role.operator': 'operator',
  'role.admin': 'admin',
} as const;

export type MessageKey = keyof typeof en;

const nl: Record<MessageKey, string> = {
  'app.title': 'yieldwatch',
  'nav.overview': 'Overzicht',
  'nav.status': 'Status',
  'lang.switch': 'English',
  'live.connected': 'Live',
  'live.reconnecting': 'Verbinding verbroken: opnieuw verbinden… de cijfers kunnen verouderd zijn',
  'overview.title': 'Fabrieksoverzicht',
  'overview.loading': 'Machines laden…',
  'overview.empty': 'Er zijn geen machines ingesteld.',
  'overview.failed': 'Het overzicht kon niet worden geladen: {error}',
  'tile.now': 'Nu',
  'tile.shift': 'Ploeg {name}',
  'tile.noShift': 'Nu geen ploeg',
  'tile.day': 'Vandaag',
  'tile.yield': 'Opbrengst',
  'tile.scrapRate': 'Uitval',
  'tile.parts': '{count} stuks',
  'tile.noData': 'nog geen gegevens',
  'tile.stale': 'Geen gegevens sinds {time}',
  'tile.staleNever': 'Geen gegevens ontvangen',
  'tile.alerts': '{count} actieve melding(en)',
  'tile.manual': 'waarvan {count} met de hand geboekt',
  'notFound.title': 'Pagina niet gevonden',
  'notFound.back': 'Terug naar het overzicht',
  'login.title': 'Inloggen',
  'login.name': 'Gebruikersnaam',
  'login.password': 'Wachtwoord',
  'login.submit': 'Inloggen',
  'login.wrong': 'Verkeerde gebruikersnaam of wachtwoord.',
  'login.tooMany': 'Te veel pogingen: wacht een kwartier en probeer het opnieuw.',
  'login.failed': 'De agent is niet bereikbaar. Probeer het zo opnieuw.',
  'session.user': '{name} ({role})',
  'session.logout': 'Uitloggen',
  'role.viewer': 'kijker',
  'role.operator': 'operator',
  'role.admin': 'beheerder',
};

export const LANGUAGES = { en, nl } as const;
export type Language = keyof typeof LANGUAGES;

const STORAGE_KEY = 'yieldwatch.language';

/** The language the person chose before, else the browser's (Dutch for any `nl-*`), else English. */
export function initialLanguage(): Language {
  const saved = globalThis.localStorage?.getItem(STORAGE_KEY);
  if (saved === 'en' || saved === 'nl') return saved;
  return (globalThis.navigator?.languages ?? []).some((l) => l.toLowerCase().startsWith('nl')) ? 'nl' : 'en';
}

export function rememberLanguage(lang: Language): void {
  globalThis.localStorage?.setItem(STORAGE_KEY, lang);
}

/** The text of `key` in `lang` with `{name}` placeholders filled. */
export function translate(lang: Language, key: MessageKey, vars: Record<string, string | number> = {}): string {
  return LANGUAGES[lang][key].replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}
