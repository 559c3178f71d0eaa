import type { ReportOpportunity } from '../../../agent/src/api/report-contract.js';
import { useLocale } from '../context.js';
import { amount, list, moneys, percent } from '../format.js';

/** Critical raw materials by element as words (`26.15 kg Al, 0.82 kg Mg`); '' when there are none. */
export function crmText(lang: 'en' | 'nl', crm: Record<string, number> | undefined): string {
  return Object.entries(crm ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([el, kg]) => `${amount(lang, kg, 2)} kg ${el}`)
    .join(', ');
}

/**
 * What a period would have saved had every machine scrapped at its own best demonstrated shift
 * (or day), in one sentence, and where most of it is, with that best shift named: the first line of
 * a report, and the sustainability page's. `period` is the period as the sentence names it.
 */
export function OpportunityLead({ opportunity: o, period }: { opportunity: ReportOpportunity; period: string }) {
  const { t, lang } = useLocale();
  const basis = t(o.basis === 'shift' ? 'report.basis.shift' : 'report.basis.day');
  if (o.rows.length === 0) return <p class="opportunity-lead">{t('report.opp.none')}</p>;
  if (o.total.saved_parts === 0) return <p class="opportunity-lead">{t('report.opp.atBest', { basis })}</p>;
  // A total the model could not make (a row without scrap kg or factor) is missing, not 0.
  const crm = crmText(lang, o.total.saved_crm_kg);
  const what = [
    ...(Object.keys(o.total.saved_cost).length > 0 ? [moneys(lang, o.total.saved_cost)] : []),
    ...(o.total.saved_co2e_kg !== undefined ? [`${amount(lang, o.total.saved_co2e_kg, 1)} kg CO₂e`] : []),
    ...(crm !== '' ? [t('report.opp.crmItem', { list: crm })] : []),
  ];
  const top = o.rows[0];
  return (
    <div class="opportunity-lead">
      <p class="lead">
        {t('report.opp.lead', {
          basis,
          period,
          parts: amount(lang, o.total.saved_parts),
          kg: o.total.saved_kg !== undefined ? `${amount(lang, o.total.saved_kg, 1)} kg` : '–',
          details: what.length > 0 ? `: ${list(lang, what)}` : '',
        })}
      </p>
      {top?.best !== undefined && top.saved_parts > 0 && (
        <p>
          {t('report.opp.top', {
            machine: top.name,
            material: top.material,
            kg: top.saved_kg === undefined ? t('report.opp.partsOnly', { parts: amount(lang, top.saved_parts) }) : `${amount(lang, top.saved_kg, 1)} kg`,
            basis,
            best: top.best.period,
            bestRate: percent(lang, top.best.scrap_rate),
            rate: percent(lang, top.scrap_rate),
          })}
        </p>
      )}
    </div>
  );
}
