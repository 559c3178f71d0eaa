import { useCallback, useEffect, useState } from 'preact/hooks';
import type { SessionJson } from '../../agent/src/api/contract.js';
import { getJson, postJson, setCsrfToken, whenUnauthorized } from './api.js';
import { LocaleContext, SessionContext, useLocale, type Locale } from './context.js';
import { initialLanguage, rememberLanguage, translate, type Language } from './i18n.js';
import { Login } from './views/login.js';
import { AlertsView, AlertView } from './views/alerts.js';
import { FloorView } from './views/floor.js';
import { ReportsView } from './views/reports.js';
import { StatusView } from './views/status.js';
import { SustainabilityView } from './views/sustainability.js';
import { MachineView } from './views/machine.js';
import { Overview } from './views/overview.js';

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

/** Who the browser is: undefined while asking, null when it must log in. */
function useSession(): [SessionJson | null | undefined, (s: SessionJson | null) => void] {
  const [session, setSession] = useState<SessionJson | null | undefined>();
  const set = useCallback((s: SessionJson | null) => {
    setCsrfToken(s?.csrf ?? null);
    setSession(s);
  }, []);
  useEffect(() => {
    // 401: this agent has users, and the browser no session (yet, or any more: the page asks again).
    whenUnauthorized(() => set(null));
    getJson<SessionJson>('/api/v1/session').then(set, () => set(null));
  }, [set]);
  return [session, set];
}

export function App() {
  const [lang, setLang] = useState<Language>(initialLanguage);
  const [path, go] = usePath();
  const [session, setSession] = useSession();
  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);
  const locale: Locale = { lang, t: (key, vars) => translate(lang, key, vars) };
  const other: Language = lang === 'en' ? 'nl' : 'en';
  const link = (to: string) => (e: MouseEvent) => {
    e.preventDefault();
    // The view already shown stays as it is (a report keeps its period and scope in the URL).
    if (to !== path) go(to);
  };
  return (
    <LocaleContext.Provider value={locale}>
      <SessionContext.Provider value={session ?? null}>
      <header class="top">
        <a class="brand" href="/" onClick={link('/')}>
          {locale.t('app.title')}
        </a>
        <nav aria-label="main">
          <a href="/" onClick={link('/')} aria-current={path === '/' ? 'page' : undefined}>
            {locale.t('nav.overview')}
          </a>
          <a href="/alerts" onClick={link('/alerts')} aria-current={path.startsWith('/alerts') ? 'page' : undefined}>
            {locale.t('nav.alerts')}
          </a>
          <a href="/sustainability" onClick={link('/sustainability')} aria-current={path === '/sustainability' ? 'page' : undefined}>
            {locale.t('nav.sustainability')}
          </a>
          <a href="/reports" onClick={link('/reports')} aria-current={path === '/reports' ? 'page' : undefined}>
            {locale.t('nav.reports')}
          </a>
          <a href="/status" onClick={link('/status')} aria-current={path === '/status' ? 'page' : undefined}>
            {locale.t('nav.status')}
          </a>
        </nav>
        {session?.login === 'session' && (
          <span class="who">
            {locale.t('session.user', { name: session.name ?? '', role: locale.t(`role.${session.role}`) })}{' '}
            <button type="button" onClick={() => void postJson('/api/v1/logout', {}).finally(() => setSession(null))}>
              {locale.t('session.logout')}
            </button>
          </span>
        )}
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
      <main>{session === undefined ? null : session === null ? <Login onLogin={setSession} /> : <Route path={path} home={link('/')} go={go} />}</main>
      </SessionContext.Provider>
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

/** The view for a path: every view has its own URL. */
function Route({ path, home, go }: { path: string; home: (e: MouseEvent) => void; go: (to: string) => void }) {
  if (path === '/') return <Overview />;
  if (path === '/alerts') return <AlertsView go={go} />;
  if (path === '/status') return <StatusView />;
  if (path === '/sustainability') return <SustainabilityView go={go} />;
  // A report: /reports?period=2026-11&scope=all (the query is the report's, so it can be shared).
  if (path === '/reports') return <ReportsView />;
  // An alert's page, as the Teams and Slack messages link it: /alerts/<percent-encoded id>.
  if (path.startsWith('/alerts/')) return <AlertView id={pathOf(path, '/alerts/')} />;
  // A machine's path is its identifier, slashes and all: /machines/demo/line1/press1.
  if (path.startsWith('/machines/')) return <MachineView machine={pathOf(path, '/machines/')} />;
  // The floor screen of one line: /floor/demo/line1.
  if (path.startsWith('/floor/')) return <FloorView line={pathOf(path, '/floor/')} />;
  return <NotFound onHome={home} />;
}

/** The identifier after a view's prefix, each segment decoded (a machine's path keeps its slashes); a malformed one stays as typed. */
function pathOf(path: string, prefix: string): string {
  return path
    .slice(prefix.length)
    .split('/')
    .map((seg) => {
      try {
        return decodeURIComponent(seg);
      } catch {
        return seg;
      }
    })
    .join('/');
}

