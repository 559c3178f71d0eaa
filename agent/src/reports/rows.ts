import type { ReportFigures, ReportJson, ReportPeriodJson } from '../api/report-contract.js';

/**
 * One number of a report, tidy: the period and scope it is of, the section (breakdown) and key
 * of the row it belongs to, the measure and its unit. The CSV is these rows; every number of
 * the JSON model is one of them (agent/src/reports/README.md, "CSV").
 */
export interface ReportNumber {
  period: string;
  period_start: number;
  period_end: number;
  scope: string;
  section: string;
  key: string;
  measure: string;
  value: number;
  unit: string;
}

/** The unit of each measure; currencies and per-element measures are named where they are made. */
export const UNITS: Readonly<Record<string, string>> = {
  windows: 'count',
  coverage: 'share',
  parts_total: 'parts',
  parts_good: 'parts',
  parts_scrap: 'parts',
  parts_rework: 'parts',
  manual_scrap_parts: 'parts',
  material_in_kg: 'kg',
  good_kg: 'kg',
  scrap_kg: 'kg',
  manual_scrap_kg: 'kg',
  other_loss_kg: 'kg',
  material_loss_kg: 'kg',
  yield: 'share',
  first_pass_yield: 'share',
  scrap_rate: 'share',
  rework_ratio: 'share',
  material_efficiency: 'share',
  loss_co2e_kg: 'kg CO2e',
  share_of_scrap: 'share',
  share_of_scrap_kg: 'share',
  target: 'share',
  actual: 'share',
  share_of_parts: 'share',
  kg: 'kg',
  recycled_content_share: 'share',
  secondary_kg: 'kg',
  total_kg: 'kg',
  secondary_share: 'share',
  preparation_for_reuse_kg: 'kg',
  recycling_kg: 'kg',
  other_recovery_kg: 'kg',
  diverted_kg: 'kg',
  incineration_kg: 'kg',
  landfill_kg: 'kg',
  other_disposal_kg: 'kg',
  directed_kg: 'kg',
  unassigned_kg: 'kg',
  hazardous_kg: 'kg',
  non_hazardous_kg: 'kg',
  non_recycled_kg: 'kg',
  non_recycled_share: 'share',
  best_scrap_rate: 'share',
  best_parts_total: 'parts',
  saved_parts: 'parts',
  saved_kg: 'kg',
  saved_co2e_kg: 'kg CO2e',
  gaps: 'count',
  missing_ms: 'ms',
  measured: 'boolean',
  stale: 'count',
  implausible: 'count',
  rebaselined: 'count',
  too_late: 'count',
  skewed: 'count',
  dup: 'count',
  rejected: 'count',
  entries: 'count',
};

/** The measures of figures as rows: the loss cost once per currency, critical raw materials once per element. */
export function figureMeasures(f: ReportFigures): [measure: string, value: number, unit: string][] {
  const out: [string, number, string][] = [];
  for (const [k, v] of Object.entries(f)) {
    if (typeof v === 'number') out.push([k, v, UNITS[k] ?? '']);
  }
  for (const [cur, v] of Object.entries(f.loss_cost ?? {})) out.push(['loss_cost', v, cur]);
  for (const [el, v] of Object.entries(f.crm_loss_kg ?? {})) out.push([`crm_loss_kg_${el}`, v, 'kg']);
  return out;
}

/** Every number of the report as tidy rows, in the order of the report. */
export function reportNumbers(r: ReportJson): ReportNumber[] {
  const out: ReportNumber[] = [];
  const push = (p: ReportPeriodJson | { label: string; start: number; end: number }, section: string, key: string, measure: string, value: number, unit = UNITS[measure] ?? '') => {
    out.push({ period: p.label, period_start: p.start, period_end: p.end, scope: r.scope.spec, section, key, measure, value, unit });
  };
  const figures = (p: ReportPeriodJson | { label: string; start: number; end: number }, section: string, key: string, f: ReportFigures) => {
    for (const [m, v, u] of figureMeasures(f)) push(p, section, key, m, v, u);
  };
  const P = r.period;
  figures(P, 'totals', '', r.totals);
  if (r.previous !== null) figures(r.previous.period, 'previous', '', r.previous.figures);
  if (r.year_before !== null) figures(r.year_before.period, 'year_before', '', r.year_before.figures);
  for (const [name, t] of Object.entries(r.targets)) for (const [m, v] of Object.entries(t)) push(P, 'targets', name, m, v as number);
  for (const pt of r.series.points) figures(pt, `series_${r.series.step}`, pt.label, pt.figures);
  for (const row of r.by_machine) {
    figures(P, 'machine', row.key, row.figures);
    if (row.targets?.yield !== undefined) push(P, 'machine', row.key, 'target_yield', row.targets.yield, 'share');
    if (row.targets?.scrap_rate !== undefined) push(P, 'machine', row.key, 'target_scrap_rate', row.targets.scrap_rate, 'share');
  }
  for (const row of r.by_material) figures(P, 'material', row.key, row.figures);
  for (const row of r.by_product) figures(P, 'product', row.key, row.figures);
  for (const row of r.by_reason) for (const m of ['parts_scrap', 'scrap_kg', 'manual_scrap_parts', 'manual_scrap_kg', 'share_of_scrap'] as const) if (row[m] !== undefined) push(P, 'reason', row.key, m, row[m]);
  for (const row of r.by_destination) for (const m of ['scrap_kg', 'manual_scrap_kg', 'share_of_scrap_kg'] as const) if (row[m] !== undefined) push(P, 'destination', row.key, m, row[m]);

  const e4 = r.esrs.e5_4;
  for (const row of e4.rows) {
    push(P, 'esrs_e5_4', row.material, 'kg', row.kg);
    push(P, 'esrs_e5_4', row.material, 'measured', row.measured ? 1 : 0);
    if (row.recycled_content_share !== undefined) push(P, 'esrs_e5_4', row.material, 'recycled_content_share', row.recycled_content_share);
    if (row.secondary_kg !== undefined) push(P, 'esrs_e5_4', row.material, 'secondary_kg', row.secondary_kg);
  }
  push(P, 'esrs_e5_4', 'total', 'total_kg', e4.total_kg);
  if (e4.secondary_kg !== undefined) push(P, 'esrs_e5_4', 'total', 'secondary_kg', e4.secondary_kg);
  if (e4.secondary_share !== undefined) push(P, 'esrs_e5_4', 'total', 'secondary_share', e4.secondary_share);

  const e5 = r.esrs.e5_5;
  const e5rows: [string, number | undefined][] = [
    ['total_kg', e5.total_kg],
    ['preparation_for_reuse_kg', e5.diverted.preparation_for_reuse_kg],
    ['recycling_kg', e5.diverted.recycling_kg],
    ['other_recovery_kg', e5.diverted.other_recovery_kg],
    ['diverted_kg', e5.diverted.total_kg],
    ['incineration_kg', e5.directed.incineration_kg],
    ['landfill_kg', e5.directed.landfill_kg],
    ['other_disposal_kg', e5.directed.other_disposal_kg],
    ['directed_kg', e5.directed.total_kg],
    ['unassigned_kg', e5.unassigned_kg],
    ['hazardous_kg', e5.hazardous_kg],
    ['non_hazardous_kg', e5.non_hazardous_kg],
    ['non_recycled_kg', e5.non_recycled_kg],
    ['non_recycled_share', e5.non_recycled_share],
    ['other_loss_kg', e5.other_loss_kg],
  ];
  for (const [m, v] of e5rows) if (v !== undefined) push(P, 'esrs_e5_5', 'waste', m, v);

  const opp = r.opportunity;
  for (const row of opp.rows) {
    const key = `${row.machine}|${row.material}`;
    push(P, 'opportunity', key, 'parts_total', row.parts_total);
    push(P, 'opportunity', key, 'parts_scrap', row.parts_scrap);
    push(P, 'opportunity', key, 'scrap_rate', row.scrap_rate);
    if (row.best !== undefined) {
      push(P, 'opportunity', key, 'best_scrap_rate', row.best.scrap_rate);
      push(P, 'opportunity', key, 'best_parts_total', row.best.parts_total);
    }
    push(P, 'opportunity', key, 'saved_parts', row.saved_parts);
    if (row.saved_kg !== undefined) push(P, 'opportunity', key, 'saved_kg', row.saved_kg);
    for (const [cur, v] of Object.entries(row.saved_cost ?? {})) push(P, 'opportunity', key, 'saved_cost', v, cur);
    if (row.saved_co2e_kg !== undefined) push(P, 'opportunity', key, 'saved_co2e_kg', row.saved_co2e_kg);
    for (const [el, v] of Object.entries(row.saved_crm_kg ?? {})) push(P, 'opportunity', key, `saved_crm_kg_${el}`, v, 'kg');
  }
  push(P, 'opportunity', 'total', 'saved_parts', opp.total.saved_parts);
  if (opp.total.saved_kg !== undefined) push(P, 'opportunity', 'total', 'saved_kg', opp.total.saved_kg);
  for (const [cur, v] of Object.entries(opp.total.saved_cost)) push(P, 'opportunity', 'total', 'saved_cost', v, cur);
  if (opp.total.saved_co2e_kg !== undefined) push(P, 'opportunity', 'total', 'saved_co2e_kg', opp.total.saved_co2e_kg);
  for (const [el, v] of Object.entries(opp.total.saved_crm_kg)) push(P, 'opportunity', 'total', `saved_crm_kg_${el}`, v, 'kg');

  const dq = r.data_quality;
  for (const m of dq.machines) {
    push(P, 'data_quality', m.machine, 'coverage', m.coverage);
    push(P, 'data_quality', m.machine, 'windows', m.windows);
    push(P, 'data_quality', m.machine, 'gaps', m.gaps.length + m.more_gaps);
    push(P, 'data_quality', m.machine, 'missing_ms', m.missing_ms);
  }
  for (const [k, v] of Object.entries(dq.counts)) push(P, 'data_quality', 'total', k, v);
  push(P, 'data_quality', 'total', 'entries', dq.entries.length);
  return out;
}
