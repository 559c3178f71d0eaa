import { useMemo } from 'preact/hooks';
import type { ReportFigures, ReportJson, ReportPeriodJson, ReportRow } from '../../../agent/src/api/report-contract.js';
import { useLocale } from '../context.js';
import { amount, date, dateTime, dayMonth, duration, money, moneys, monthOf, percent, signed, signedPercent, timeOfDay } from '../format.js';
import type { MessageKey } from '../i18n.js';
import { rate } from '../targets.js';
import { TimeChart } from './chart.js';
import { crmText, OpportunityLead } from './opportunity.js';

const DAY = 86_400_000;

/** A mass with its unit, or '–' when it is missing (never 0). */
function kg(lang: 'en' | 'nl', v: number | undefined, digits = 1): string {
  return v === undefined || !Number.isFinite(v) ? '–' : `${amount(lang, v, digits)} kg`;
}

/** The period as people read it: its label, and its bounds in the site's time. */
export function periodWords(lang: 'en' | 'nl', p: ReportPeriodJson, zone: string): string {
  if (p.kind === 'day') return date(lang, p.start, zone);
  if (p.kind === 'shift') return `${p.label} (${dateTime(lang, p.start, zone)} – ${timeOfDay(lang, p.end, zone)})`;
  return `${p.label} (${date(lang, p.start, zone)} – ${date(lang, p.end - 1, zone)})`;
}

/**
 * The report of a period and scope as HTML, from the report model (`GET /api/v1/reports`, JSON):
 * the opportunity first, the headline figures against the previous period and the targets, the
 * chart, the breakdowns, ESRS E5-4 and E5-5, data quality, and the method with every factor. The
 * same sections, in the same order, as the PDF. Words in the language of the locale it is given.
 */
export function ReportPreview({ report: r }: { report: ReportJson }) {
  const { t, lang } = useLocale();
  const zone = r.time_zone;
  const scope = r.scope.spec === 'all' ? t('report.scope.everything') : r.scope.label;
  const soFar = r.data_quality.partial_period ? t('report.soFar', { period: r.period.label }) : r.period.label;
  return (
    <>
      <h2 id="h-report">{t('report.heading', { scope, period: r.period.label })}</h2>
      <p class="muted">
        {periodWords(lang, r.period, zone)} · {t('report.zone', { zone })}
      </p>
      {r.totals.windows === 0 && <p class="notice">{t('report.noData')}</p>}
      <section aria-labelledby="h-opp" class="opportunity">
        <h3 id="h-opp">{t('report.opportunity')}</h3>
        <OpportunityLead opportunity={r.opportunity} period={soFar} />
        <OpportunityTable r={r} />
      </section>
      <Headline r={r} />
      <Chart r={r} />
      <Breakdowns r={r} />
      <Esrs r={r} />
      <Quality r={r} />
      <Method r={r} />
    </>
  );
}

/** Each machine and material: its scrap rate, its best shift (or day), and what running at it would have saved. */
function OpportunityTable({ r }: { r: ReportJson }) {
  const { t, lang } = useLocale();
  const o = r.opportunity;
  const basis = t(o.basis === 'shift' ? 'report.basis.shift' : 'report.basis.day');
  if (o.rows.length === 0) return null;
  return (
    <>
      <table class="opportunity-rows">
        <thead>
          <tr>
            <th scope="col">{t('alerts.machine')}</th>
            <th scope="col">{t('sus.material')}</th>
            <th scope="col">{t('report.f.scrapRate')}</th>
            <th scope="col">{t('report.opp.best', { basis })}</th>
            <th scope="col">{t('report.opp.savedParts')}</th>
            <th scope="col">{t('report.opp.savedKg')}</th>
            <th scope="col">{t('report.opp.savedMoney')}</th>
            <th scope="col">{t('report.opp.savedCo2e')}</th>
            <th scope="col">{t('report.opp.savedCrm')}</th>
          </tr>
        </thead>
        <tbody>
          {o.rows.map((x) => (
            <tr key={`${x.machine} ${x.material}`} data-machine={x.machine}>
              <th scope="row">{x.name}</th>
              <td>{x.material}</td>
              <td>{percent(lang, x.scrap_rate)}</td>
              <td class="best">{x.best === undefined ? t('report.opp.noBest', { basis, min: amount(lang, o.min_parts) }) : `${x.best.period}: ${percent(lang, x.best.scrap_rate)}`}</td>
              <td>{amount(lang, x.saved_parts)}</td>
              <td>{amount(lang, x.saved_kg, 1)}</td>
              <td>{moneys(lang, x.saved_cost)}</td>
              <td>{amount(lang, x.saved_co2e_kg, 1)}</td>
              <td>{crmText(lang, x.saved_crm_kg) || '–'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p class="note">{t('report.opp.note', { basis, min: amount(lang, o.min_parts), days: amount(lang, o.lookback_ms / DAY) })}</p>
    </>
  );
}

/** The headline figures: this period, the previous one and the change, and the targets. */
function Headline({ r }: { r: ReportJson }) {
  const { t, lang } = useLocale();
  const prev = r.previous?.figures;
  const currencies = [...new Set([...Object.keys(r.totals.loss_cost ?? {}), ...Object.keys(prev?.loss_cost ?? {})])].sort();
  type Line = { key: string; label: string; get: (f: ReportFigures) => number | undefined; show: (v: number | undefined) => string; share?: boolean; target?: 'yield' | 'scrap_rate' };
  const lines: Line[] = [
    { key: 'yield', label: t('report.f.yield'), get: (f) => f.yield, show: (v) => percent(lang, v), share: true, target: 'yield' },
    { key: 'scrap_rate', label: t('report.f.scrapRate'), get: (f) => f.scrap_rate, show: (v) => percent(lang, v), share: true, target: 'scrap_rate' },
    { key: 'material_efficiency', label: t('machine.efficiency'), get: (f) => f.material_efficiency, show: (v) => percent(lang, v), share: true },
    { key: 'parts_total', label: t('machine.parts'), get: (f) => f.parts_total, show: (v) => amount(lang, v) },
    { key: 'parts_scrap', label: t('machine.scrapParts'), get: (f) => f.parts_scrap, show: (v) => amount(lang, v) },
    { key: 'material_loss_kg', label: t('machine.lossKg'), get: (f) => f.material_loss_kg, show: (v) => kg(lang, v) },
    { key: 'loss_co2e_kg', label: t('machine.lossCo2e'), get: (f) => f.loss_co2e_kg, show: (v) => (v === undefined ? '–' : `${kg(lang, v)} CO₂e`) },
    ...currencies.map((c) => ({ key: `loss_cost_${c}`, label: t('sus.cost', { currency: c }), get: (f: ReportFigures) => f.loss_cost?.[c], show: (v: number | undefined) => money(lang, v, c) })),
    { key: 'coverage', label: t('report.f.coverage'), get: (f) => f.coverage, show: (v) => percent(lang, v), share: true },
  ];
  const change = (l: Line) => {
    const a = l.get(r.totals);
    const b = prev === undefined ? undefined : l.get(prev);
    if (a === undefined || b === undefined) return '–';
    // Shares change by percentage points; counts and masses by a share of what they were.
    if (l.share === true) return t('report.pp', { value: signed(lang, (a - b) * 100, 1) });
    return b === 0 ? '–' : signedPercent(lang, (a - b) / b);
  };
  return (
    <section aria-labelledby="h-headline">
      <h3 id="h-headline">{t('report.headline')}</h3>
      <table class="headline">
        <thead>
          <tr>
            <th scope="col">{t('report.figure')}</th>
            <th scope="col">{r.period.label}</th>
            <th scope="col">{r.previous === null ? t('report.previousNone') : t('report.previous', { period: r.previous.period.label })}</th>
            <th scope="col">{t('report.change')}</th>
            <th scope="col">{t('report.target')}</th>
            <th scope="col">{t('report.vsTarget')}</th>
          </tr>
        </thead>
        <tbody>
          {lines.map((l) => {
            const target = l.target === undefined ? undefined : r.targets[l.target];
            const higher = l.target === 'yield';
            const standing = target === undefined ? undefined : rate(target.actual, target.target, 0, higher);
            return (
              <tr key={l.key} data-figure={l.key}>
                <th scope="row">{l.label}</th>
                <td class="now">{l.show(l.get(r.totals))}</td>
                <td>{prev === undefined ? '–' : l.show(l.get(prev))}</td>
                <td>{change(l)}</td>
                <td>
                  {target === undefined ? '–' : `${higher ? '≥' : '≤'} ${percent(lang, target.target)}`}
                  {target !== undefined && target.share_of_parts < 1 - 1e-9 && <span class="muted"> ({t('report.targetShare', { share: percent(lang, target.share_of_parts) })})</span>}
                </td>
                <td class={standing ?? ''}>
                  {target === undefined || standing === undefined ? '–' : `${t(standing === 'met' ? 'report.met' : 'report.missed')} (${t('report.pp', { value: signed(lang, (target.actual - target.target) * 100, 1) })})`}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}

/** Yield and scrap rate over the period's steps, on the dashboard's chart. */
function Chart({ r }: { r: ReportJson }) {
  const { t, lang } = useLocale();
  const points = r.series.points;
  const zone = r.time_zone;
  const data = useMemo(() => {
    // Each step at its start; a step without data (before, between or after the points) is a gap in the line, and the axis spans the whole period (up to now).
    const at: number[] = [];
    const y: (number | null)[] = [];
    const s: (number | null)[] = [];
    const add = (time: number, yv: number | null, sv: number | null) => {
      at.push(time);
      y.push(yv);
      s.push(sv);
    };
    let next = r.period.start;
    for (const p of points) {
      if (p.start > next) add(next, null, null);
      add(p.start, p.figures.yield ?? null, p.figures.scrap_rate ?? null);
      next = p.end;
    }
    const end = Math.min(r.period.end, r.generated_at);
    if (end > next) add(end, null, null);
    return {
      t: at,
      series: [
        { label: t('report.f.yield'), values: y, stroke: '#1a7f37', format: (v: number) => percent(lang, v) },
        { label: t('report.f.scrapRate'), values: s, stroke: '#cf222e', format: (v: number) => percent(lang, v) },
      ],
    };
  }, [r, lang]);
  // Labels for the span the axis shows (the period up to now): times of day, days with times, days, months.
  const span = Math.min(r.period.end, r.generated_at) - r.period.start;
  const [label, space] =
    span <= 1.5 * DAY
      ? [(v: number) => timeOfDay(lang, v, zone), 50]
      : span <= 10 * DAY
        ? [(v: number) => dateTime(lang, v, zone), 100]
        : span <= 120 * DAY
          ? [(v: number) => dayMonth(lang, v, zone), 60]
          : [(v: number) => monthOf(lang, v, zone), 70];
  const title = t('report.chart', { step: t(`report.step.${r.series.step}` as MessageKey) });
  return (
    <section aria-labelledby="h-chart">
      <h3 id="h-chart">{title}</h3>
      {points.some((p) => p.figures.yield !== undefined) ? <TimeChart key={`${lang} ${space}`} t={data.t} series={data.series} timeLabel={label} label={title} height={220} xSpace={space} timeZone={zone} /> : <p class="muted">{t('report.noData')}</p>}
    </section>
  );
}

function Breakdowns({ r }: { r: ReportJson }) {
  const { t, lang } = useLocale();
  const cost = (f: ReportFigures) => moneys(lang, f.loss_cost);
  const reasonLabel = (key: string, label: { en: string; nl: string } | undefined) => (key === 'unassigned' ? t('reason.unassigned') : (label?.[lang] ?? key));
  const name = (row: ReportRow) => row.key || t('sus.noMaterial');
  return (
    <>
      <section aria-labelledby="h-by-machine">
        <h3 id="h-by-machine">{t('report.byMachine')}</h3>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('alerts.machine')}</th>
              <th scope="col">{t('machine.parts')}</th>
              <th scope="col">{t('machine.scrapParts')}</th>
              <th scope="col">{t('report.f.yield')}</th>
              <th scope="col">{t('report.f.scrapRate')}</th>
              <th scope="col">{t('report.f.lossKg')}</th>
              <th scope="col">{t('report.f.co2eKg')}</th>
              <th scope="col">{t('sus.costShort')}</th>
              <th scope="col">{t('report.f.coverage')}</th>
            </tr>
          </thead>
          <tbody>
            {r.by_machine.map((m) => (
              <tr key={m.key} data-machine={m.key}>
                <th scope="row">
                  {m.name ?? m.key} <span class="muted small">{m.key}</span>
                </th>
                <td>{amount(lang, m.figures.parts_total)}</td>
                <td>{amount(lang, m.figures.parts_scrap)}</td>
                <td class={rate(m.figures.yield, m.targets?.yield, 0, true) ?? ''}>{percent(lang, m.figures.yield)}</td>
                <td class={rate(m.figures.scrap_rate, m.targets?.scrap_rate, 0, false) ?? ''}>{percent(lang, m.figures.scrap_rate)}</td>
                <td>{amount(lang, m.figures.material_loss_kg, 1)}</td>
                <td>{amount(lang, m.figures.loss_co2e_kg, 1)}</td>
                <td>{cost(m.figures)}</td>
                <td>{percent(lang, m.figures.coverage)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section aria-labelledby="h-by-material">
        <h3 id="h-by-material">{t('sus.byMaterial')}</h3>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('sus.material')}</th>
              <th scope="col">{t('report.f.materialIn')}</th>
              <th scope="col">{t('report.f.goodKg')}</th>
              <th scope="col">{t('sus.scrapKg')}</th>
              <th scope="col">{t('report.f.lossKg')}</th>
              <th scope="col">{t('machine.efficiency')}</th>
              <th scope="col">{t('report.f.co2eKg')}</th>
              <th scope="col">{t('sus.costShort')}</th>
            </tr>
          </thead>
          <tbody>
            {r.by_material.map((m) => (
              <tr key={m.key}>
                <th scope="row">{name(m)}</th>
                <td>{amount(lang, m.figures.material_in_kg, 1)}</td>
                <td>{amount(lang, m.figures.good_kg, 1)}</td>
                <td>{amount(lang, m.figures.scrap_kg, 1)}</td>
                <td>{amount(lang, m.figures.material_loss_kg, 1)}</td>
                <td>{percent(lang, m.figures.material_efficiency)}</td>
                <td>{amount(lang, m.figures.loss_co2e_kg, 1)}</td>
                <td>{cost(m.figures)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {r.by_product.length > 0 && (
        <section aria-labelledby="h-by-product">
          <h3 id="h-by-product">{t('report.byProduct')}</h3>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('report.product')}</th>
                <th scope="col">{t('machine.parts')}</th>
                <th scope="col">{t('machine.scrapParts')}</th>
                <th scope="col">{t('report.f.yield')}</th>
                <th scope="col">{t('report.f.scrapRate')}</th>
                <th scope="col">{t('report.f.lossKg')}</th>
              </tr>
            </thead>
            <tbody>
              {r.by_product.map((p) => (
                <tr key={p.key}>
                  <th scope="row">{p.key || t('report.noProduct')}</th>
                  <td>{amount(lang, p.figures.parts_total)}</td>
                  <td>{amount(lang, p.figures.parts_scrap)}</td>
                  <td>{percent(lang, p.figures.yield)}</td>
                  <td>{percent(lang, p.figures.scrap_rate)}</td>
                  <td>{amount(lang, p.figures.material_loss_kg, 1)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
      <section aria-labelledby="h-by-reason">
        <h3 id="h-by-reason">{t('machine.pareto')}</h3>
        {r.by_reason.length === 0 ? (
          <p class="muted">{t('machine.noScrap')}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('entry.reason')}</th>
                <th scope="col">{t('report.group')}</th>
                <th scope="col">{t('machine.scrapParts')}</th>
                <th scope="col">{t('machine.manualParts')}</th>
                <th scope="col">{t('sus.scrapKg')}</th>
                <th scope="col">{t('sus.share')}</th>
              </tr>
            </thead>
            <tbody>
              {r.by_reason.map((x) => (
                <tr key={x.key} data-reason={x.key}>
                  <th scope="row">{reasonLabel(x.key, x.label)}</th>
                  <td>{x.group ?? ''}</td>
                  <td>{amount(lang, x.parts_scrap)}</td>
                  <td>{amount(lang, x.manual_scrap_parts)}</td>
                  <td>{amount(lang, x.scrap_kg, 1)}</td>
                  <td>{percent(lang, x.share_of_scrap)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="h-by-destination">
        <h3 id="h-by-destination">{t('sus.byDestination')}</h3>
        {r.by_destination.length === 0 ? (
          <p class="muted">{t('machine.noScrap')}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('sus.destination')}</th>
                <th scope="col">{t('sus.scrapKg')}</th>
                <th scope="col">{t('report.f.manualKg')}</th>
                <th scope="col">{t('sus.share')}</th>
              </tr>
            </thead>
            <tbody>
              {r.by_destination.map((d) => (
                <tr key={d.key} data-destination={d.key}>
                  <th scope="row">{t(`dest.${d.key}` as MessageKey)}</th>
                  <td>{amount(lang, d.scrap_kg, 1)}</td>
                  <td>{amount(lang, d.manual_scrap_kg, 1)}</td>
                  <td>{percent(lang, d.share_of_scrap_kg)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

/** ESRS E5-4 (inflows) and E5-5 (waste), estimates marked. */
function Esrs({ r }: { r: ReportJson }) {
  const { t, lang } = useLocale();
  const a = r.esrs.e5_4;
  const b = r.esrs.e5_5;
  const estimate = <abbr title={t('report.estimate')}>*</abbr>;
  const rows55: [MessageKey, number | undefined, 'sub' | 'total' | ''][] = [
    ['report.e55.total', b.total_kg, 'total'],
    ['report.e55.diverted', b.diverted.total_kg, ''],
    ['report.e55.reuse', b.diverted.preparation_for_reuse_kg, 'sub'],
    ['report.e55.recycling', b.diverted.recycling_kg, 'sub'],
    ['report.e55.otherRecovery', b.diverted.other_recovery_kg, 'sub'],
    ['report.e55.directed', b.directed.total_kg, ''],
    ['report.e55.incineration', b.directed.incineration_kg, 'sub'],
    ['report.e55.landfill', b.directed.landfill_kg, 'sub'],
    ['report.e55.otherDisposal', b.directed.other_disposal_kg, 'sub'],
    ['report.e55.unassigned', b.unassigned_kg, ''],
    ['report.e55.hazardous', b.hazardous_kg, ''],
    ['report.e55.nonHazardous', b.non_hazardous_kg, ''],
  ];
  return (
    <>
      <section aria-labelledby="h-e54">
        <h3 id="h-e54">{t('report.e54')}</h3>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('sus.material')}</th>
              <th scope="col">{t('report.e54.used')}</th>
              <th scope="col">{t('report.e54.recycled')}</th>
              <th scope="col">{t('report.e54.secondary')}</th>
            </tr>
          </thead>
          <tbody>
            {a.rows.map((x) => (
              <tr key={x.material} class={x.measured ? '' : 'estimate'}>
                <th scope="row">{x.material}</th>
                <td>
                  {amount(lang, x.kg, 1)}
                  {!x.measured && <> {estimate}</>}
                </td>
                <td>{x.recycled_content_share === undefined ? t('report.notStated') : percent(lang, x.recycled_content_share)}</td>
                <td>{amount(lang, x.secondary_kg, 1)}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <th scope="row">{t('report.total')}</th>
              <td>
                {amount(lang, a.total_kg, 1)}
                {a.estimate && <> {estimate}</>}
              </td>
              <td>{percent(lang, a.secondary_share)}</td>
              <td>{amount(lang, a.secondary_kg, 1)}</td>
            </tr>
          </tfoot>
        </table>
        {a.estimate && <p class="note">* {t('report.e54.estimate')}</p>}
        {a.secondary_share === undefined && a.rows.length > 0 && <p class="note">{t('report.e54.noShare')}</p>}
      </section>
      <section aria-labelledby="h-e55">
        <h3 id="h-e55">{t('report.e55')}</h3>
        <table class="e55">
          <thead>
            <tr>
              <th scope="col">{t('report.category')}</th>
              <th scope="col">kg</th>
            </tr>
          </thead>
          <tbody>
            {rows55.map(([key, v, kind]) => (
              <tr key={key} class={kind}>
                <th scope="row">{t(key)}</th>
                <td>
                  {amount(lang, v, 1)}
                  {b.estimate && kind === 'total' && <> {estimate}</>}
                </td>
              </tr>
            ))}
            <tr>
              <th scope="row">{t('report.e55.nonRecycled')}</th>
              <td>
                {amount(lang, b.non_recycled_kg, 1)} ({percent(lang, b.non_recycled_share)})
              </td>
            </tr>
          </tbody>
        </table>
        {b.estimate && <p class="note">* {t('report.e55.estimate')}</p>}
        {b.other_loss_kg !== undefined && b.other_loss_kg > 0 && <p class="note">{t('report.e55.otherLoss', { kg: amount(lang, b.other_loss_kg, 1) })}</p>}
        {b.other_loss_kg !== undefined && b.other_loss_kg < 0 && <p class="note">{t('report.e55.otherLossNegative', { kg: amount(lang, -b.other_loss_kg, 1) })}</p>}
      </section>
    </>
  );
}

/** Coverage and gaps per machine, readings set aside, manual entries, and what the figures do and do not cover. */
function Quality({ r }: { r: ReportJson }) {
  const { t, lang } = useLocale();
  const q = r.data_quality;
  const zone = r.time_zone;
  const span = (s: number, e: number) => `${dateTime(lang, s, zone)} – ${e - s < DAY && date(lang, s, zone) === date(lang, e - 1, zone) ? timeOfDay(lang, e, zone) : dateTime(lang, e, zone)}`;
  const basis = (b: string) => t(`report.mass.${b}` as MessageKey);
  return (
    <section aria-labelledby="h-quality">
      <h3 id="h-quality">{t('machine.quality')}</h3>
      {q.partial_period && <p class="notice">{t('report.q.partialPeriod', { time: dateTime(lang, r.generated_at, zone) })}</p>}
      {q.coverage !== undefined && q.coverage < 1 - 1e-9 && <p class="notice">{t('report.q.partialCoverage', { share: percent(lang, q.coverage) })}</p>}
      <p>{t('report.q.coverage', { share: percent(lang, q.coverage), resolution: duration(lang, q.resolution_ms) })}</p>
      <table>
        <thead>
          <tr>
            <th scope="col">{t('alerts.machine')}</th>
            <th scope="col">{t('report.f.windows')}</th>
            <th scope="col">{t('report.f.coverage')}</th>
            <th scope="col">{t('report.q.missing')}</th>
            <th scope="col">{t('report.q.gaps')}</th>
            <th scope="col">{t('report.q.scrapKgFrom')}</th>
            <th scope="col">{t('report.q.inputFrom')}</th>
          </tr>
        </thead>
        <tbody>
          {q.machines.map((m) => (
            <tr key={m.machine}>
              <th scope="row">{m.name}</th>
              <td>{amount(lang, m.windows)}</td>
              <td>{percent(lang, m.coverage)}</td>
              <td>{m.missing_ms > 0 ? duration(lang, m.missing_ms) : '0'}</td>
              <td>
                {m.gaps.length === 0 ? (
                  t('report.q.noGaps')
                ) : (
                  <ul class="gaps">
                    {m.gaps.map((g) => (
                      <li key={g.start}>{span(g.start, g.end)}</li>
                    ))}
                    {m.more_gaps > 0 && <li>{t('report.q.moreGaps', { count: amount(lang, m.more_gaps) })}</li>}
                  </ul>
                )}
              </td>
              <td>{basis(m.mass_basis.scrap_kg)}</td>
              <td>{basis(m.mass_basis.material_in_kg)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h4>{t('report.q.counts')}</h4>
      <dl class="facts narrow">
        {Object.entries(q.counts).map(([k, n]) => (
          <>
            <dt key={`${k}-t`}>{t(`quality.${k}` as MessageKey)}</dt>
            <dd key={`${k}-d`}>{amount(lang, n)}</dd>
          </>
        ))}
      </dl>
      <h4>{t('machine.entries')}</h4>
      {q.entries_truncated && <p class="notice">{t('report.q.entriesTruncated')}</p>}
      {!q.entries_available ? (
        <p class="muted">{t('report.q.entriesCentral')}</p>
      ) : q.entries.length === 0 ? (
        <p class="muted">{t('machine.noEntries')}</p>
      ) : (
        <table class="entries">
          <thead>
            <tr>
              <th scope="col">{t('entry.time')}</th>
              <th scope="col">{t('alerts.machine')}</th>
              <th scope="col">{t('entry.parts')}</th>
              <th scope="col">{t('entry.kg')}</th>
              <th scope="col">{t('entry.reason')}</th>
              <th scope="col">{t('entry.by')}</th>
              <th scope="col">{t('report.q.entryChange')}</th>
              <th scope="col">{t('entry.comment')}</th>
            </tr>
          </thead>
          <tbody>
            {q.entries.map((e) => (
              <tr key={e.id} class={e.deleted ? 'deleted' : ''}>
                <td>{dateTime(lang, e.time, zone)}</td>
                <td>{e.machine}</td>
                <td>{e.parts === undefined ? '' : amount(lang, e.parts)}</td>
                <td>{e.kg === undefined ? '' : amount(lang, e.kg, 2)}</td>
                <td>{e.reason === undefined ? '' : (r.by_reason.find((x) => x.key === e.reason)?.label?.[lang] ?? e.reason)}</td>
                <td>{e.by}</td>
                <td>
                  {t(`report.event.${e.event}` as MessageKey, { time: dateTime(lang, e.at, zone) })}
                  {e.why !== undefined && e.why !== '' ? `: ${e.why}` : ''}
                </td>
                <td>{e.comment ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The method version, the config hash and every factor with its source, year and boundary. */
function Method({ r }: { r: ReportJson }) {
  const { t, lang } = useLocale();
  return (
    <section aria-labelledby="h-method">
      <h3 id="h-method">{t('sus.method')}</h3>
      <dl class="facts method">
        <dt>{t('report.m.method')}</dt>
        <dd>{r.method}</dd>
        <dt>{t('report.m.hash')}</dt>
        <dd>
          <code class="hash">{r.config_hash}</code>
        </dd>
        <dt>{t('report.m.library')}</dt>
        <dd>{r.material_library_version ?? '–'}</dd>
        <dt>{t('report.m.source')}</dt>
        <dd>{t(r.source === 'influxdb' ? 'report.m.influxdb' : 'report.m.store')}</dd>
        <dt>{t('report.m.agent')}</dt>
        <dd>{r.agent ?? '–'}</dd>
        <dt>{t('report.m.generated')}</dt>
        <dd>{dateTime(lang, r.generated_at, r.time_zone)}</dd>
      </dl>
      <p>{t('sus.methodText', { method: r.method })}</p>
      <table class="factors">
        <thead>
          <tr>
            <th scope="col">{t('sus.material')}</th>
            <th scope="col">{t('sus.price')}</th>
            <th scope="col">{t('report.m.scrapValue')}</th>
            <th scope="col">{t('sus.factor')}</th>
            <th scope="col">{t('sus.source')}</th>
            <th scope="col">{t('report.m.boundary')}</th>
            <th scope="col">{t('report.m.crm')}</th>
            <th scope="col">{t('report.e54.recycled')}</th>
            <th scope="col">{t('sus.destination')}</th>
            <th scope="col">{t('report.e55.hazardous')}</th>
          </tr>
        </thead>
        <tbody>
          {r.factors.map((f) => (
            <tr key={f.material}>
              <th scope="row">{f.material}</th>
              <td>{f.price_per_kg === null ? '–' : `${amount(lang, f.price_per_kg, 2)} ${f.currency}/kg`}</td>
              <td>{`${amount(lang, f.scrap_value_per_kg, 2)} ${f.currency}/kg`}</td>
              <td>{f.co2e_per_kg === null ? '–' : `${amount(lang, f.co2e_per_kg.value, 2)} kg CO₂e/kg`}</td>
              <td>{f.co2e_per_kg === null ? '–' : `${f.co2e_per_kg.source} (${f.co2e_per_kg.year})`}</td>
              <td>{f.co2e_per_kg?.boundary ?? '–'}</td>
              <td>{Object.keys(f.crm).length === 0 ? '–' : crmShares(lang, f.crm)}</td>
              <td>{f.recycled_content_share === null ? t('report.notStated') : percent(lang, f.recycled_content_share)}</td>
              <td>{t(`dest.${f.scrap_destination}` as MessageKey)}</td>
              <td>{t(f.hazardous ? 'report.yes' : 'report.no')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** Mass fractions of critical raw materials (`Al 96.0%, Mg 3.0%`). */
function crmShares(lang: 'en' | 'nl', crm: Record<string, number>): string {
  return Object.entries(crm)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([el, f]) => `${el} ${percent(lang, f)}`)
    .join(', ');
}
