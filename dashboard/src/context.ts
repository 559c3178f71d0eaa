import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { SessionJson } from '../../agent/src/api/contract.js';
import { translate, type Language, type MessageKey } from './i18n.js';

/** What every view reads from the shell: the language with its words, and who is logged in. */
export interface Locale {
  lang: Language;
  t: (key: MessageKey, vars?: Record<string, string | number>) => string;
}

export const LocaleContext = createContext<Locale>({ lang: 'en', t: (key, vars) => translate('en', key, vars) });

export const SessionContext = createContext<SessionJson | null>(null);

/** True when the browser may acknowledge alerts and record scrap: an operator or admin, or an agent without logins; never on the central dashboard, which only reads. */
export function useMayOperate(): boolean {
  const s = useContext(SessionContext);
  return s !== null && !s.central && (s.login === 'none' || s.role === 'operator' || s.role === 'admin');
}

/** The language and its words, for any view. */
export function useLocale(): Locale {
  return useContext(LocaleContext);
}
