import { createContext } from 'preact';
import { useCallback, useContext, useEffect, useState } from 'preact/hooks';
import { initialLanguage, rememberLanguage, translate, type Language, type MessageKey } from './i18n.js';
import { Overview } from './views/overview.js';

interface Locale {
  lang: Language;
  t: (key: MessageKey, vars?: Record<string, string | number>) => string;
}

const LocaleContext = createContext<Locale>({ lang: 'en', t: (key, vars) => translate('en', key, vars) });

/** The language and its words, for any view. */
export function useLocale(): Locale {
  return useContext(LocaleContext);
}

/** The path the browser shows: every view has its own URL. */
function usePath(): [string, (to: string) => void] {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const go = useCallback((to: string) => {
    history.pushState(null, '', to);
    setPath(new URL(to, location.href).pathname);
  }, []);
  return [path, go];
}

export function App() {
  const [lang, setLang] = useState<Language>(initialLanguage);
  const [path, go] = usePath();
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const locale: Locale = { lang, t: (key, vars) => translate(lang, key, vars) };
  const other: Language = lang === 'en' ? 'nl' : 'en';
  const link = (to: string) => (e: MouseEvent) => {
    e.preventDefault();
    go(to);
  };
  return (
    <LocaleContext.Provider value={locale}>
      <header class="top">
        <a class="brand" href="/" onClick={link('/')}>
          {locale.t('app.title')}
        </a>
        <nav aria-label="main">
          <a href="/" onClick={link('/')} aria-current={path === '/' ? 'page' : undefined}>
            {locale.t('nav.overview')}
          </a>
        </nav>
        <button
          type="button"
          class="lang"
          lang={other}
          onClick={() => {
            rememberLanguage(other);
            setLang(other);
          }}
        >
          {locale.t('lang.switch')}
        </button>
      </header>
      <main>{path === '/' ? <Overview /> : <NotFound onHome={link('/')} />}</main>
    </LocaleContext.Provider>
  );
}

function NotFound({ onHome }: { onHome: (e: MouseEvent) => void }) {
  const { t } = useLocale();
  return (
    <section>
      <h1>{t('notFound.title')}</h1>
      <a href="/" onClick={onHome}>
        {t('notFound.back')}
      </a>
    </section>
  );
}
