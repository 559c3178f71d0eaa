import { useEffect, useState } from 'preact/hooks';
import type { ListJson, MaterialJson, RollupRowJson } from '../../../agent/src/api/contract.js';
import type { ReportJson } from '../../../agent/src/api/report-contract.js';
import { getJson } from '../api.js';
import { OpportunityLead } from '../components/opportunity.js';
import { useLocale } from '../context.js';
import { amount, percent } from '../format.js';
import type { MessageKey } from '../i18n.js';

/** The ESRS E5-5 categories, diverted from disposal first. */
const DESTINATIONS = ['internal_reuse', 'external_recycling', 'other_recovery', 'incineration', 'landfill', 'other_disposal', 'unknown'];
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Rollups {
  byMaterial: RollupRowJson[];
  byDestination: RollupRowJson[];
  bySite: RollupRowJson[];
}

/**
 * For the sustainability lead: material lost by material, destination (ESRS E5-5) and period, its
 * embodied CO2e and cost, critical raw materials by element, and the method version with every
 * factor and its source. Periods are months or years of the site's time, from the rollups (sums, never averaged ratios).
 * First, what the period shown could have saved at each machine's best shift (the report's
 * opportunity), with a link to the period's full report.
 */
export function SustainabilityView({ go }: { go: (to: string) => void }) {
  const { t, lang } = useLocale();
  const [period, setPeriod] = useState<'month' | 'year'>('month');
  const [data, setData] = useState<Rollups | undefined>();
  const [chosen, setChosen] = useState<string | undefined>();
  const [library, setLibrary] = useState<{ method: string | null; items: MaterialJson[] } | undefined>();
  useEffect(() => {
    void getJson<{ method: string | null; items: MaterialJson[] }>('/api/v1/materials').then(setLibrary, () => undefined);
  }, []);
  // The span the page reads, kept for its CSV links: the store keeps 400 days, the longest span one rollup may read.
  // On whole hours, so the sums the store (or InfluxDB) keeps per hour serve it, not every window.
  const [span] = useState(() => {
    const to = Math.ceil(Date.now() / HOUR) * HOUR;
    return { from: to - 399 * DAY, to };
  });
  useEffect(() => {
    const abort = new AbortController();
    const { from, to } = span;
    const q = (by: string) => getJson<ListJson<RollupRowJson>>(`/api/v1/kpis/rollup?period=${period}&by=${by}&from=${from}&to=${to}`, abort.signal).then((r) => r.items);
    Promise.all([q('material'), q('destination'), q('site')]).then(
      ([byMaterial, byDestination, bySite]) => {
        setData({ byMaterial, byDestination, bySite });
        setChosen(undefined);
      },
      () => undefined,
    );
    return () => abort.abort();
  }, [period]);
  const periods = [...new Set((data?.bySite ?? []).map((r) => r.period))].sort().reverse();
  const current = chosen ?? periods[0];
  const rows = (list: RollupRowJson[] | undefined) => (list ?? []).filter((r) => r.period === current);
  const sum = (list: RollupRowJson[], key: string) => list.reduce((n, r) => n + ((r[key] as number | undefined) ?? 0), 0);
  const sites = rows(data?.bySite);
  const crm = [...new Set(sites.flatMap((r) => Object.keys(r).filter((k) => k.startsWith('crm_loss_kg_'))))].sort();
  const destinations = rows(data?.byDestination);
  const destTotal = sum(destinations, 'scrap_kg');
  // Loss cost is in each material's own currency: a total over materials is only shown when they share one.
  const currencyOf = (material: string) => library?.items.find((m) => m.material === material)?.currency;
  // Rows without a material or without a cost carry no currency; until the library is read, none is known.
  const currencies = new Set(
    rows(data?.byMaterial)
      .filter((r) => String(r.material) !== '' && typeof r.loss_cost === 'number')
      .map((r) => currencyOf(String(r.material)) ?? '?'),
  );
  const currency = library !== undefined && currencies.size <= 1 ? ([...currencies][0] ?? library.items[0]?.currency) : undefined;
  const opportunity = useOpportunity(current);
  const reportHref = current === undefined ? '/reports' : `/reports?${new URLSearchParams({ period: current, scope: 'all' }).toString()}`;
  const csv = (by: string) => `/api/v1/kpis/rollup?period=${period}&by=${by}&from=${span.from}&to=${span.to}&format=csv`;
  return (
    <section class="sustainability">
      <h1>{t('sus.title')}</h1>
      <div class="ranges" role="group" aria-label={t('range.label')}>
        {(['month', 'year'] as const).map((p) => (
          <button type="button" key={p} aria-pressed={period === p} onClick={() => setPeriod(p)}>
            {t(`sus.by.${p}` as MessageKey)}
          </button>
        ))}
        <label>
          {t('sus.period')}{' '}
          <select value={current} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)}>
            {periods.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
      </div>
      {current === undefined ? (
        <p class="muted">{t('sus.noData')}</p>
      ) : (
        <>
          <section class="opportunity" aria-labelledby="h-sus-opp">
            <h2 id="h-sus-opp">{t('sus.opportunity', { period: current })}</h2>
            {opportunity === undefined ? (
              <p class="muted">…</p>
            ) : typeof opportunity === 'string' ? (
              <p class="muted">{t('sus.noOpportunity', { error: opportunity })}</p>
            ) : (
              <OpportunityLead opportunity={opportunity.opportunity} period={opportunity.data_quality.partial_period ? t('report.soFar', { period: current }) : current} />
            )}
            <p class="muted">{t('sus.opportunityWhy')}</p>
            <p>
              <a
                href={reportHref}
                onClick={(e) => {
                  e.preventDefault();
                  go(reportHref);
                }}
              >
                {t('sus.report', { period: current })}
              </a>
            </p>
          </section>
          <dl class="facts narrow">
            <dt>{t('machine.lossKg')}</dt>
            <dd>{amount(lang, sum(sites, 'material_loss_kg'), 1)} kg</dd>
            <dt>{t('machine.lossCo2e')}</dt>
            <dd>{amount(lang, sum(sites, 'loss_co2e_kg'), 1)} kg CO₂e</dd>
            <dt>{t('sus.cost', { currency: currency ?? '' })}</dt>
            <dd>{library === undefined ? '…' : currency !== undefined ? amount(lang, sum(sites, 'loss_cost'), 0) : t('sus.mixedCurrencies')}</dd>
          </dl>
          <h2>{t('sus.byMaterial')}</h2>
          <p class="downloads">
            <a href={csv('material')} download>
              {t('sus.csv', { what: t('sus.byMaterial') })}
            </a>
          </p>
          <table>
            <thead>
              <tr>
                <th>{t('sus.material')}</th>
                <th>{t('machine.lossKg')}</th>
                <th>{t('machine.lossCo2e')}</th>
                <th>{t('sus.costShort')}</th>
                <th>{t('sus.efficiency')}</th>
              </tr>
            </thead>
            <tbody>
              {rows(data?.byMaterial).map((r) => (
                <tr key={String(r.material)}>
                  <td>{String(r.material) || t('sus.noMaterial')}</td>
                  <td>{amount(lang, r.material_loss_kg as number | undefined, 1)}</td>
                  <td>{amount(lang, r.loss_co2e_kg as number | undefined, 1)}</td>
                  <td>
                    {amount(lang, r.loss_cost as number | undefined, 0)} {currencyOf(String(r.material)) ?? ''}
                  </td>
                  <td>{percent(lang, r.material_efficiency as number | undefined)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>{t('sus.byDestination')}</h2>
          <p class="downloads">
            <a href={csv('destination')} download>
              {t('sus.csv', { what: t('sus.byDestination') })}
            </a>
          </p>
          <table>
            <thead>
              <tr>
                <th>{t('sus.destination')}</th>
                <th>{t('sus.scrapKg')}</th>
                <th>{t('sus.share')}</th>
              </tr>
            </thead>
            <tbody>
              {DESTINATIONS.map((d) => destinations.find((r) => r.destination === d))
                .filter((r): r is RollupRowJson => r !== undefined)
                .map((r) => (
                  <tr key={String(r.destination)} data-destination={String(r.destination)}>
                    <td>{t(`dest.${String(r.destination)}` as MessageKey)}</td>
                    <td>{amount(lang, r.scrap_kg as number | undefined, 1)}</td>
                    <td>{percent(lang, destTotal > 0 ? (r.scrap_kg as number) / destTotal : undefined)}</td>
                  </tr>
                ))}
            </tbody>
          </table>
          <h2>{t('sus.crm')}</h2>
          {crm.length === 0 ? (
            <p class="muted">{t('sus.noCrm')}</p>
          ) : (
            <dl class="facts narrow">
              {crm.map((k) => (
                <>
                  <dt key={`${k}-t`}>{k.slice('crm_loss_kg_'.length)}</dt>
                  <dd key={`${k}-d`}>{amount(lang, sum(sites, k), 2)} kg</dd>
                </>
              ))}
            </dl>
          )}
        </>
      )}
      <h2>{t('sus.method')}</h2>
      <p>{t('sus.methodText', { method: library?.method ?? '' })}</p>
      <table>
        <thead>
          <tr>
            <th>{t('sus.material')}</th>
            <th>{t('sus.factor')}</th>
            <th>{t('sus.source')}</th>
            <th>{t('sus.price')}</th>
          </tr>
        </thead>
        <tbody>
          {(library?.items ?? []).map((m) => (
            <tr key={m.material}>
              <td>{m.material}</td>
              <td>{m.co2e_per_kg === null ? '–' : `${amount(lang, m.co2e_per_kg.value, 2)} kg CO₂e/kg`}</td>
              <td>{m.co2e_per_kg === null ? '' : `${m.co2e_per_kg.source} (${m.co2e_per_kg.year})`}</td>
              <td>{m.price_per_kg === null ? '–' : `${amount(lang, m.price_per_kg, 2)} ${m.currency}/kg`}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/**
 * The report of the period the page shows (`2026-12`, `2026`: the rollups' labels are the
 * reports' periods), for its opportunity: undefined while it is made, the API's sentence when it
 * cannot be (a scope over sites in different time zones).
 */
function useOpportunity(period: string | undefined): ReportJson | string | undefined {
  const [report, setReport] = useState<ReportJson | string | undefined>();
  useEffect(() => {
    setReport(undefined);
    if (period === undefined) return;
    const abort = new AbortController();
    getJson<ReportJson>(`/api/v1/reports?${new URLSearchParams({ period, scope: 'all', format: 'json' }).toString()}`, abort.signal).then(setReport, (e: Error) => {
      if (!abort.signal.aborted) setReport(e.message);
    });
    return () => abort.abort();
  }, [period]);
  return report;
}
