import { useContext, useEffect, useMemo, useState } from 'preact/hooks';
import type { AlertHistoryItemJson, EntryJson, ListJson, MachineListItem, SeriesJson, ShiftJson, SiteJson } from '../../../agent/src/api/contract.js';
import { getJson } from '../api.js';
import { SessionContext, useLocale } from '../context.js';
import { TimeChart } from '../components/chart.js';
import { amount, dateTime, percent, timeOfDay } from '../format.js';
import type { MessageKey } from '../i18n.js';
import { notMeasuredNote } from '../signals.js';

const HOUR = 3_600_000;
const RANGES: [MessageKey, number][] = [
  ['range.1h', HOUR],
  ['range.8h', 8 * HOUR],
  ['range.24h', 24 * HOUR],
  ['range.7d', 7 * 24 * HOUR],
  ['range.30d', 30 * 24 * HOUR],
];

/** The time range of the view, from the URL (`?from=&to=`), so a zoomed chart can be shared. */
function useRange(): [{ from: number; to: number }, (from: number, to: number) => void] {
  const read = () => {
    const q = new URLSearchParams(location.search);
    const to = Number(q.get('to')) || Date.now();
    const from = Number(q.get('from')) || to - 8 * HOUR;
    return { from, to };
  };
  const [range, setRange] = useState(read);
  useEffect(() => {
    const onPop = () => setRange(read());
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);
  const set = (from: number, to: number) => {
    history.pushState(null, '', `${location.pathname}?from=${from}&to=${to}`);
    setRange({ from, to });
  };
  return [range, set];
}

/** One machine over a time range: yield and scrap rate charted, scrap by reason as a Pareto, losses, data quality, manual entries and alerts. */
export function MachineView({ machine }: { machine: string }) {
  const { t, lang } = useLocale();
  const [range, setRange] = useRange();
  const [info, setInfo] = useState<MachineListItem | undefined>();
  const [site, setSite] = useState<SiteJson | undefined>();
  const [data, setData] = useState<{ series: SeriesJson; entries: EntryJson[]; alerts: AlertHistoryItemJson[] } | undefined>();
  const [error, setError] = useState<string | undefined>();
  const [shifts, setShifts] = useState<ShiftJson[]>([]);
  // The central dashboard over InfluxDB holds no manual entries: they are on the agents.
  const central = useContext(SessionContext)?.central === true;

  useEffect(() => {
    if (site === undefined) return;
    const abort = new AbortController();
    const now = Date.now();
    // The site's shifts of the last week, newest first; a site without a calendar has none (404).
    getJson<ListJson<ShiftJson>>(`/api/v1/shifts?site=${encodeURIComponent(site.site)}&from=${now - 7 * 24 * HOUR}&to=${now}`, abort.signal).then(
      (r) => setShifts(r.items.filter((x) => x.start < now).reverse()),
      () => setShifts([]),
    );
    return () => abort.abort();
  }, [site?.site]);

  useEffect(() => {
    const abort = new AbortController();
    Promise.all([getJson<ListJson<MachineListItem>>('/api/v1/machines', abort.signal), getJson<{ items: SiteJson[] }>('/api/v1/sites', abort.signal)]).then(
      ([ms, sites]) => {
        const m = ms.items.find((x) => x.machine === machine);
        setInfo(m);
        setSite(sites.items.find((s) => s.site === m?.site));
      },
      () => undefined,
    );
    return () => abort.abort();
  }, [machine]);

  useEffect(() => {
    const abort = new AbortController();
    const q = `machine=${encodeURIComponent(machine)}&from=${range.from}&to=${range.to}`;
    Promise.all([
      getJson<SeriesJson>(`/api/v1/kpis/series?${q}&points=1000`, abort.signal),
      central ? Promise.resolve({ items: [] as EntryJson[] }) : getJson<ListJson<EntryJson>>(`/api/v1/entries?${q}`, abort.signal),
      getJson<ListJson<AlertHistoryItemJson>>(`/api/v1/alerts/history?${q}`, abort.signal),
    ]).then(
      ([series, entries, alerts]) => {
        setData({ series, entries: entries.items, alerts: alerts.items });
        setError(undefined);
      },
      (e: Error) => {
        if (!abort.signal.aborted) setError(e.message);
      },
    );
    return () => abort.abort();
  }, [machine, range.from, range.to, central]);

  const zone = site?.time_zone ?? 'UTC';
  const label = (v: number) => (range.to - range.from > 36 * HOUR ? dateTime(lang, v, zone) : timeOfDay(lang, v, zone));
  const chartSeries = useMemo(
    () =>
      data === undefined
        ? []
        : [
            { label: t('tile.yield'), values: data.series.columns.yield!, stroke: '#1a7f37', format: (v: number) => percent(lang, v) },
            { label: t('tile.scrapRate'), values: data.series.columns.scrap_rate!, stroke: '#cf222e', format: (v: number) => percent(lang, v) },
            // Material efficiency only where the machine's material in is known (measured, or parts × mass).
            ...(data.series.columns.material_efficiency?.some((v) => v !== null) ? [{ label: t('machine.efficiency'), values: data.series.columns.material_efficiency, stroke: '#8250df', format: (v: number) => percent(lang, v) }] : []),
          ],
    [data, lang],
  );
  const marks = useMemo(() => (data === undefined ? [] : data.entries.filter((e) => !e.deleted).map((e) => e.time)), [data]);
  const reasonLabel = (code: string) => (code === 'unassigned' ? t('reason.unassigned') : (site?.scrap_reasons[code]?.label[lang] ?? code));
  const k = data?.series.totals.kpis ?? {};
  // Why some figures below show '–': the machine declares signals that no source reads.
  const notMeasured = info === undefined ? undefined : notMeasuredNote(t, info.not_measured);

  return (
    <section class="machine">
      <h1>{info?.name ?? machine}</h1>
      <p class="muted">{machine}</p>
      {notMeasured !== undefined && (
        <p class="muted" data-not-measured>
          {notMeasured}
        </p>
      )}
      <div class="ranges" role="group" aria-label={t('range.label')}>
        {RANGES.map(([key, span]) => (
          <button type="button" key={key} onClick={() => setRange(Date.now() - span, Date.now())} aria-pressed={Math.abs(range.to - range.from - span) < 60_000}>
            {t(key)}
          </button>
        ))}
        {shifts.length > 0 && (
          <label class="shift-pick">
            {t('range.shift')}{' '}
            <select
              value={shifts.find((x) => x.start === range.from)?.start ?? ''}
              onChange={(e) => {
                const x = shifts.find((s) => String(s.start) === (e.target as HTMLSelectElement).value);
                if (x !== undefined) setRange(x.start, Math.min(x.end, Date.now()));
              }}
            >
              <option value="">{t('range.pickShift')}</option>
              {shifts.map((x) => (
                <option key={x.start} value={x.start}>
                  {t('range.shiftOption', { name: x.name, date: x.date, from: timeOfDay(lang, x.start, zone), to: timeOfDay(lang, x.end, zone) })}
                </option>
              ))}
            </select>
          </label>
        )}
        <span class="muted">
          {dateTime(lang, range.from, zone)} – {dateTime(lang, range.to, zone)}
        </span>
      </div>
      {error !== undefined && <p role="alert">{error}</p>}
      {data !== undefined && (
        <>
          <TimeChart key={lang} t={data.series.t} series={chartSeries} timeLabel={label} onZoom={setRange} marks={marks} label={t('machine.chart')} />
          <p class="muted">{t('machine.chartHelp')}</p>
          <div class="panels">
            <section class="panel" aria-labelledby="h-loss">
              <h2 id="h-loss">{t('machine.loss')}</h2>
              <dl class="facts">
                <dt>{t('tile.yield')}</dt>
                <dd>{percent(lang, k.yield)}</dd>
                <dt>{t('machine.parts')}</dt>
                <dd>{amount(lang, k.parts_total)}</dd>
                <dt>{t('machine.scrapParts')}</dt>
                <dd>{amount(lang, k.parts_scrap)}</dd>
                <dt>{t('machine.manualParts')}</dt>
                <dd>{amount(lang, k.manual_scrap_parts ?? (data.series.totals.windows > 0 ? 0 : undefined))}</dd>
                <dt>{t('machine.lossKg')}</dt>
                <dd>{amount(lang, k.material_loss_kg, 1)} kg</dd>
                <dt>{t('machine.lossCost')}</dt>
                <dd>{amount(lang, k.loss_cost, 0)}</dd>
                <dt>{t('machine.lossCo2e')}</dt>
                <dd>{amount(lang, k.loss_co2e_kg, 1)} kg CO₂e</dd>
                {Object.keys(k)
                  .filter((x) => x.startsWith('crm_loss_kg_'))
                  .map((x) => (
                    <>
                      <dt key={`${x}-t`}>{t('machine.crm', { element: x.slice('crm_loss_kg_'.length) })}</dt>
                      <dd key={`${x}-d`}>{amount(lang, k[x], 2)} kg</dd>
                    </>
                  ))}
              </dl>
            </section>
            <section class="panel" aria-labelledby="h-pareto">
              <h2 id="h-pareto">{t('machine.pareto')}</h2>
              <Pareto reasons={data.series.totals.scrap_by_reason ?? {}} label={reasonLabel} />
            </section>
            <section class="panel" aria-labelledby="h-quality">
              <h2 id="h-quality">{t('machine.quality')}</h2>
              <dl class="facts">
                {Object.entries(data.series.totals.quality).map(([q, n]) => (
                  <>
                    <dt key={`${q}-t`}>{t(`quality.${q}` as MessageKey)}</dt>
                    <dd key={`${q}-d`}>{amount(lang, n)}</dd>
                  </>
                ))}
              </dl>
            </section>
          </div>
          <section aria-labelledby="h-entries">
            <h2 id="h-entries">{t('machine.entries')}</h2>
            {data.entries.length === 0 ? (
              <p class="muted">{t('machine.noEntries')}</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th>{t('entry.time')}</th>
                    <th>{t('entry.parts')}</th>
                    <th>{t('entry.kg')}</th>
                    <th>{t('entry.reason')}</th>
                    <th>{t('entry.by')}</th>
                    <th>{t('entry.comment')}</th>
                  </tr>
                </thead>
                <tbody>
                  {data.entries.map((e) => (
                    <tr key={e.id} class={e.deleted ? 'deleted' : ''}>
                      <td>{dateTime(lang, e.time, zone)}</td>
                      <td>{e.parts ?? ''}</td>
                      <td>{e.kg ?? ''}</td>
                      <td>{e.reason === undefined ? '' : reasonLabel(e.reason)}</td>
                      <td>{e.by}</td>
                      <td>{e.deleted ? t('entry.deleted', { why: e.why ?? '' }) : (e.comment ?? '')}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
          <section aria-labelledby="h-alerts">
            <h2 id="h-alerts">{t('machine.alerts')}</h2>
            {data.alerts.length === 0 ? (
              <p class="muted">{t('machine.noAlerts')}</p>
            ) : (
              <ul class="history">
                {data.alerts.map((a) => (
                  <li key={a.seq}>
                    {dateTime(lang, a.at, zone)} · {t(`alertEvent.${a.event}` as MessageKey)} · {a.rule ?? a.alert.rule}
                    {a.by !== 'rule' ? ` · ${a.by}` : ''}
                  </li>
                ))}
              </ul>
            )}
          </section>
        </>
      )}
    </section>
  );
}

/** Scrap by reason, largest first, with the running share: where the scrap comes from. */
function Pareto({ reasons, label }: { reasons: Record<string, Record<string, number>>; label: (code: string) => string }) {
  const { t, lang } = useLocale();
  const rows = Object.entries(reasons)
    .map(([code, m]) => ({ code, parts: m.parts_scrap ?? 0, manual: m.manual_scrap_parts ?? 0 }))
    .filter((r) => r.parts > 0)
    .sort((a, b) => b.parts - a.parts);
  const total = rows.reduce((n, r) => n + r.parts, 0);
  if (total === 0) return <p class="muted">{t('machine.noScrap')}</p>;
  let running = 0;
  return (
    <table class="pareto">
      <thead>
        <tr>
          <th>{t('entry.reason')}</th>
          <th>{t('machine.scrapParts')}</th>
          <th>{t('machine.cumulative')}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => {
          running += r.parts;
          return (
            <tr key={r.code} data-reason={r.code}>
              <td>{label(r.code)}</td>
              <td>
                <span class="bar" style={{ width: `${(100 * r.parts) / rows[0]!.parts}%` }} />
                {amount(lang, r.parts)}
                {r.manual > 0 ? ` (${t('tile.manual', { count: amount(lang, r.manual) })})` : ''}
              </td>
              <td>{percent(lang, running / total)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
