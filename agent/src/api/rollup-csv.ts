import { stringify } from 'csv-stringify/sync';
import type { RollupQuery, RollupRowJson } from './contract.js';

/** Columns that lead every row, in this order; the KPIs follow by name, then the data-quality counts. */
const LEAD = ['period', 'period_start', 'period_end'] as const;

/**
 * Rollup rows as CSV: one row per period and group, the same numbers as the JSON (full precision,
 * never rounded), times as ISO 8601 in UTC beside the period's label in site time. Scrap by reason
 * and destination are their own rollups (`by=reason`, `by=destination`), so the nested breakdowns
 * are left out; data quality is one `dq_<count>` column each.
 */
export function rollupCsv(rows: readonly RollupRowJson[], by: RollupQuery['by']): string {
  const kpis = new Set<string>();
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && !(LEAD as readonly string[]).includes(k) && k !== 'windows' && k !== 'coverage') kpis.add(k);
  const quality = rows.some((r) => r.quality !== undefined);
  // Reason and destination rows have no windows or coverage of their own.
  const counts = (['windows', 'coverage'] as const).filter((k) => rows.some((r) => r[k] !== undefined));
  const header = [...LEAD, by, ...counts, ...[...kpis].sort(), ...(quality ? Object.keys(rows.find((r) => r.quality)!.quality!).map((q) => `dq_${q}`) : []), 'method'];
  const records = rows.map((r) => {
    const out: Record<string, string | number> = { ...Object.fromEntries(Object.entries(r).filter(([, v]) => typeof v === 'number' || typeof v === 'string')) } as Record<string, string | number>;
    out.period_start = new Date(r.period_start).toISOString();
    out.period_end = new Date(r.period_end).toISOString();
    for (const [q, n] of Object.entries(r.quality ?? {})) out[`dq_${q}`] = n;
    return header.map((h) => out[h] ?? '');
  });
  // A cell that starts with = + - @ would run as a formula in a spreadsheet (a material named by a machine's signal): escaped.
  return stringify([header, ...records], { record_delimiter: '\r\n', escape_formulas: true });
}
