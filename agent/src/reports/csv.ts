import { stringify } from 'csv-stringify/sync';
import type { ReportJson } from '../api/report-contract.js';
import { reportNumbers } from './rows.js';

/** The CSV's columns, in order (agent/src/reports/README.md, "CSV"). */
export const CSV_COLUMNS = ['period', 'period_start', 'period_end', 'scope', 'section', 'key', 'measure', 'value', 'unit', 'method'] as const;

/**
 * The report as tidy CSV: one row per number, with the period, scope, section (breakdown), key,
 * measure, unit and KPI method beside it; full precision, the same numbers as the JSON; times as
 * ISO 8601 in UTC beside the period's label in site time.
 */
export function reportCsv(r: ReportJson): string {
  const iso = (t: number) => new Date(t).toISOString();
  const records = reportNumbers(r).map((n) => [n.period, iso(n.period_start), iso(n.period_end), n.scope, n.section, n.key, n.measure, n.value, n.unit, r.method]);
  // Text cells that start with = + - @ would run as formulas in a spreadsheet: escaped. Numbers are not text.
  return stringify([[...CSV_COLUMNS], ...records], { record_delimiter: '\r\n', escape_formulas: true });
}
