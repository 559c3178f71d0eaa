import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ListJson, MachineListItem, MaterialJson, ShiftJson } from '../../../agent/src/api/contract.js';
import type { ReportFormat, ReportJson } from '../../../agent/src/api/report-contract.js';
import { getJson } from '../api.js';
import { ReportPreview } from '../components/report-preview.js';
import { LocaleContext, useLocale, type Locale } from '../context.js';
import { timeOfDay } from '../format.js';
import { translate, type Language, type MessageKey } from '../i18n.js';
import { dateIn, formatYmd, kindOf, lastComplete, normalPeriod, PERIOD_KINDS, recentPeriods, shiftPeriod, type PeriodKind } from '../periods.js';
import { useSites } from '../use-sites.js';

const DAY = 86_400_000;
const SCOPE_KINDS = ['all', 'site', 'line', 'machine', 'material', 'product', 'other'] as const;
type ScopeKind = (typeof SCOPE_KINDS)[number];
/** The downloads, each a plain link to the API: the browser saves the file, the session cookie authenticates. */
const DOWNLOADS: ReportFormat[] = ['pdf', 'xlsx', 'csv', 'json'];
/** How many periods of each kind the pickers list, newest first (the store keeps 400 days). */
const RECENT = { week: 58, month: 14, quarter: 6, year: 3 } as const;

/** The report asked for, from the URL (`/reports?period=2026-11&scope=line:demo/line1&lang=nl`), so a report can be shared and reloaded. */
interface ReportQuery {
  period: string | undefined;
  scope: string;
  lang: Language | undefined;
}

function readQuery(): ReportQuery {
  const q = new URLSearchParams(location.search);
  const lang = q.get('lang');
  const period = q.get('period')?.trim();
  return { period: period ? normalPeriod(period) : undefined, scope: q.get('scope')?.trim() || 'all', lang: lang === 'en' || lang === 'nl' ? lang : undefined };
}

function writeQuery(q: ReportQuery): void {
  const p = new URLSearchParams();
  if (q.period !== undefined) p.set('period', q.period);
  p.set('scope', q.scope);
  if (q.lang !== undefined) p.set('lang', q.lang);
  history.replaceState(null, '', `${location.pathname}?${p.toString()}`);
}

/** The API's URL of the report in a format; `download` asks for it as a file to save. */
export function reportUrl(period: string, scope: string, format: ReportFormat, lang: Language, download: boolean): string {
  const p = new URLSearchParams({ period, scope, format, lang });
  if (download) p.set('download', '1');
  return `/api/v1/reports?${p.toString()}`;
}

/** One term of a scope the pickers can show (`line:demo/line1`), else `other` (several terms, an area, a short name). */
function scopeKindOf(scope: string): { kind: ScopeKind; value: string } {
  if (scope === 'all') return { kind: 'all', value: '' };
  const m = /^(site|line|machine|material|product):([^,]+)$/.exec(scope);
  return m === null ? { kind: 'other', value: scope } : { kind: m[1] as ScopeKind, value: m[2]! };
}

/**
 * The report page: pick a period (day, ISO week, month, quarter, year, one of the site's shifts,
 * or dates from–to), a scope and the report's language; see the report as HTML, made from the same
 * JSON model as every file, and download it as PDF, XLSX, CSV or JSON.
 */
export function ReportsView() {
  const { t, lang } = useLocale();
  const initial = useMemo(readQuery, []);
  const { sites } = useSites();
  const [machines, setMachines] = useState<MachineListItem[]>([]);
  const [materials, setMaterials] = useState<string[]>([]);
  const [period, setPeriod] = useState<string | undefined>(initial.period);
  const [kind, setKind] = useState<PeriodKind>(kindOf(initial.period ?? '') ?? 'month');
  const [scope, setScope] = useState(initial.scope);
  const [scopeKind, setScopeKind] = useState<ScopeKind>(scopeKindOf(initial.scope).kind);
  const [reportLang, setReportLang] = useState<Language>(initial.lang ?? lang);
  const [shifts, setShifts] = useState<ShiftJson[] | undefined>();
  const [report, setReport] = useState<ReportJson | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [loading, setLoading] = useState(false);

  useEffect(() => {
    const abort = new AbortController();
    getJson<ListJson<MachineListItem>>('/api/v1/machines', abort.signal).then((r) => setMachines(r.items), () => undefined);
    getJson<{ items: MaterialJson[] }>('/api/v1/materials', abort.signal).then((r) => setMaterials(r.items.map((m) => m.material)), () => undefined);
    return () => abort.abort();
  }, []);

  // The report's language follows the dashboard's when that is switched.
  const firstLang = useRef(true);
  useEffect(() => {
    if (firstLang.current) firstLang.current = false;
    else setReportLang(lang);
  }, [lang]);

  // The site the period is in: the scope's, else the first (a scope over sites in different zones is refused by the API, with why).
  const scopeValue = scopeKindOf(scope);
  const site = (['site', 'line', 'machine'].includes(scopeValue.kind) ? sites.find((s) => s.site === scopeValue.value.split('/')[0]) : undefined) ?? sites[0];
  const zone = site?.time_zone;
  const today = zone === undefined ? undefined : dateIn(zone, Date.now());

  // No period in the URL: last month, once the site's time zone is known.
  useEffect(() => {
    if (period === undefined && kind !== 'shift' && today !== undefined) setPeriod(lastComplete(kind, today));
  }, [period, kind, zone]);

  // The site's shifts of the last 31 days that are over, newest first (a site without a calendar has none: 404).
  useEffect(() => {
    if (kind !== 'shift' || site === undefined) return;
    const abort = new AbortController();
    const now = Date.now();
    getJson<ListJson<ShiftJson>>(`/api/v1/shifts?site=${encodeURIComponent(site.site)}&from=${now - 31 * DAY + 1}&to=${now}`, abort.signal).then(
      (r) => setShifts(r.items.filter((x) => x.end <= now).reverse()),
      () => {
        if (!abort.signal.aborted) setShifts([]);
      },
    );
    return () => abort.abort();
  }, [kind, site?.site]);
  useEffect(() => {
    const first = shifts?.[0];
    if (kind === 'shift' && kindOf(period ?? '') !== 'shift' && first !== undefined) setPeriod(shiftPeriod(first.date, first.name));
  }, [kind, shifts]);

  // The report, read again whenever the period or scope changes; its language only changes the files.
  useEffect(() => {
    writeQuery({ period, scope, lang: reportLang === lang ? undefined : reportLang });
  }, [period, scope, reportLang, lang]);
  useEffect(() => {
    if (period === undefined || (kind === 'shift' && kindOf(period) !== 'shift')) {
      setReport(undefined);
      return;
    }
    const abort = new AbortController();
    setLoading(true);
    getJson<ReportJson>(reportUrl(period, scope, 'json', reportLang, false), abort.signal).then(
      (r) => {
        setReport(r);
        setError(undefined);
        setLoading(false);
        // A period written another way (`last-month`, from a link): the pickers show what it is.
        if (kindOf(period) === undefined && r.period.kind !== 'custom') {
          setKind(r.period.kind);
          setPeriod(normalPeriod(r.period.label));
        }
      },
      (e: Error) => {
        if (abort.signal.aborted) return;
        setReport(undefined);
        setError(e.message);
        setLoading(false);
      },
    );
    return () => abort.abort();
  }, [period, scope]);

  const chooseKind = (k: PeriodKind) => {
    setKind(k);
    setPeriod(k === 'shift' ? (shifts?.[0] === undefined ? undefined : shiftPeriod(shifts[0].date, shifts[0].name)) : today === undefined ? undefined : lastComplete(k, today));
  };

  const scopeOptions = (k: ScopeKind): { value: string; label: string }[] => {
    const uniq = (xs: (string | undefined)[]) => [...new Set(xs.filter((x): x is string => x !== undefined && x !== ''))].sort().map((x) => ({ value: x, label: x }));
    switch (k) {
      case 'site':
        return uniq([...sites.map((s) => s.site), ...machines.map((m) => m.site)]);
      case 'line':
        return uniq(machines.map((m) => m.machine.split('/').slice(0, -1).join('/')));
      case 'machine':
        return machines.map((m) => ({ value: m.machine, label: m.name === m.machine.split('/').at(-1) ? m.machine : `${m.name} (${m.machine})` }));
      case 'material':
        return uniq([...materials, ...machines.map((m) => m.material)]);
      case 'product':
        return uniq(machines.map((m) => m.product));
      default:
        return [];
    }
  };
  const chooseScopeKind = (k: ScopeKind) => {
    setScopeKind(k);
    if (k === 'all') setScope('all');
    else if (k !== 'other') {
      const first = scopeOptions(k)[0];
      if (first !== undefined) setScope(`${k}:${first.value}`);
    }
  };

  const reportLocale: Locale = { lang: reportLang, t: (key, vars) => translate(reportLang, key, vars) };
  const recent = (k: keyof typeof RECENT) => {
    const list = today === undefined ? [] : recentPeriods(k, today, RECENT[k]);
    // A period from the URL older than the list still shows as chosen.
    return period !== undefined && kindOf(period) === k && !list.includes(period) ? [...list, period] : list;
  };
  const [from, to] = kind === 'custom' && period !== undefined ? period.split('..') : ['', ''];
  const setCustom = (a: string, b: string) => {
    if (a !== '' && b !== '') setPeriod(`${a}..${b}`);
  };
  const todayText = today === undefined ? undefined : formatYmd(today);
  const periodKey = (k: PeriodKind) => `report.kind.${k}` as MessageKey;

  return (
    <section class="reports">
      <h1>{t('report.pageTitle')}</h1>
      <form class="report-form" onSubmit={(e) => e.preventDefault()}>
        <fieldset>
          <legend>{t('report.period')}</legend>
          <label>
            {t('report.kind')}{' '}
            <select value={kind} onChange={(e) => chooseKind((e.target as HTMLSelectElement).value as PeriodKind)}>
              {PERIOD_KINDS.map((k) => (
                <option key={k} value={k}>
                  {t(periodKey(k))}
                </option>
              ))}
            </select>
          </label>
          {kind === 'day' && (
            <label>
              {t('report.date')}{' '}
              <input type="date" value={period ?? ''} max={todayText} required onChange={(e) => (e.target as HTMLInputElement).value !== '' && setPeriod((e.target as HTMLInputElement).value)} />
            </label>
          )}
          {(kind === 'week' || kind === 'month' || kind === 'quarter' || kind === 'year') && (
            <label>
              {t(periodKey(kind))}{' '}
              <select value={period ?? ''} onChange={(e) => setPeriod((e.target as HTMLSelectElement).value)}>
                {recent(kind).map((p, i) => (
                  <option key={p} value={p}>
                    {i === 0 ? t('report.soFar', { period: p }) : p}
                  </option>
                ))}
              </select>
            </label>
          )}
          {kind === 'shift' &&
            (shifts !== undefined && shifts.length === 0 ? (
              <span class="muted">{t('report.noShifts', { site: site?.site ?? '' })}</span>
            ) : (
              <label>
                {t('report.kind.shift')}{' '}
                <select value={period ?? ''} onChange={(e) => setPeriod((e.target as HTMLSelectElement).value)}>
                  {(shifts ?? []).map((x) => (
                    <option key={x.start} value={shiftPeriod(x.date, x.name)}>
                      {t('range.shiftOption', { name: x.name, date: x.date, from: timeOfDay(lang, x.start, site?.time_zone ?? 'UTC'), to: timeOfDay(lang, x.end, site?.time_zone ?? 'UTC') })}
                    </option>
                  ))}
                </select>
              </label>
            ))}
          {kind === 'custom' && (
            <>
              <label>
                {t('report.from')}{' '}
                <input type="date" value={from} max={todayText} required onChange={(e) => setCustom((e.target as HTMLInputElement).value, to ?? '')} />
              </label>
              <label>
                {t('report.to')}{' '}
                <input type="date" value={to} max={todayText} required onChange={(e) => setCustom(from ?? '', (e.target as HTMLInputElement).value)} />
              </label>
            </>
          )}
        </fieldset>
        <fieldset>
          <legend>{t('report.scope')}</legend>
          <label>
            {t('report.scopeKind')}{' '}
            <select value={scopeKind} onChange={(e) => chooseScopeKind((e.target as HTMLSelectElement).value as ScopeKind)}>
              {SCOPE_KINDS.map((k) => (
                <option key={k} value={k}>
                  {t(`report.scope.${k}` as MessageKey)}
                </option>
              ))}
            </select>
          </label>
          {scopeKind !== 'all' && scopeKind !== 'other' && (
            <label>
              {t(`report.scope.${scopeKind}` as MessageKey)}{' '}
              <select value={scopeValue.kind === scopeKind ? scopeValue.value : ''} onChange={(e) => setScope(`${scopeKind}:${(e.target as HTMLSelectElement).value}`)}>
                {scopeOptions(scopeKind).map((o) => (
                  <option key={o.value} value={o.value}>
                    {o.label}
                  </option>
                ))}
              </select>
            </label>
          )}
          {scopeKind === 'other' && (
            <label>
              {t('report.scopeText')}{' '}
              <input type="text" value={scope} spellcheck={false} onChange={(e) => setScope((e.target as HTMLInputElement).value.trim() || 'all')} />
            </label>
          )}
        </fieldset>
        <fieldset>
          <legend>{t('report.language')}</legend>
          <label>
            {t('report.languageOf')}{' '}
            <select value={reportLang} onChange={(e) => setReportLang((e.target as HTMLSelectElement).value as Language)}>
              <option value="en" lang="en">
                English
              </option>
              <option value="nl" lang="nl">
                Nederlands
              </option>
            </select>
          </label>
        </fieldset>
      </form>
      {period !== undefined && error === undefined && (
        <nav class="downloads" aria-label={t('report.downloads')}>
          {DOWNLOADS.map((f) => (
            <a key={f} href={reportUrl(period, scope, f, reportLang, true)} download data-format={f}>
              {t('report.download', { format: f.toUpperCase() })}
            </a>
          ))}
        </nav>
      )}
      {error !== undefined && (
        <p role="alert" class="error">
          {t('report.failed', { error })}
        </p>
      )}
      {loading && report === undefined && <p class="muted">{t('report.loading')}</p>}
      {report !== undefined && (
        <LocaleContext.Provider value={reportLocale}>
          <article class={`report-preview${loading ? ' loading' : ''}`} lang={reportLang} aria-labelledby="h-report" aria-busy={loading}>
            <ReportPreview report={report} />
          </article>
        </LocaleContext.Provider>
      )}
    </section>
  );
}
