import { MAX_ENTRIES } from './read.js';
import ExcelJS from 'exceljs';
import type { ReportFigures, ReportJson, ReportLanguage } from '../api/report-contract.js';
import { zoneOffset } from '../kpi/site-time.js';
import { E5_5_CATEGORY } from './esrs.js';
import { opportunitySentence, reportWords, type ReportWordKey, type ReportWords } from './i18n.js';
import { UNITS } from './rows.js';

/**
 * The report as an Excel workbook (agent/src/reports/README.md, "XLSX"): a Summary sheet, then
 * one sheet per breakdown. Every number is a number cell with the model's full precision (the
 * same numbers as the JSON and the CSV), its unit in the column's header; shares stay 0..1
 * under a percent format; a figure that cannot be worked out is an empty cell, never 0. Times
 * are Excel dates showing the site's wall clock, with the time zone in the header.
 */
export async function reportXlsx(r: ReportJson, lang: ReportLanguage): Promise<Buffer> {
  const w = reportWords(lang, r.time_zone);
  const wb = new ExcelJS.Workbook();
  wb.creator = 'yieldwatch';
  wb.created = new Date(r.generated_at);
  wb.modified = new Date(r.generated_at);
  wb.title = `${w.t('report.title')} ${r.scope.spec} ${r.period.label}`;

  summarySheet(wb, r, w);
  const sheet = (key: ReportWordKey) => wb.addWorksheet(w.t(key));

  const none = `(${w.t('word.none')})`;
  type Row = ReportJson['by_machine'][number];
  table<Row>(
    sheet('sheet.machines'),
    r,
    w,
    [
      keyColumn(w.t('col.machine'), (row) => row.key),
      textColumn(w.t('col.name'), (row) => row.name),
      ...figureColumns(w, r.by_machine, (row) => row.figures),
      measureColumn(w, 'target_yield', 'share', (row) => row.targets?.yield),
      measureColumn(w, 'target_scrap_rate', 'share', (row) => row.targets?.scrap_rate),
    ],
    r.by_machine,
    { keys: 2 },
  );
  table<Row>(sheet('sheet.materials'), r, w, [keyColumn(w.t('col.material'), (row) => row.key || none), ...figureColumns(w, r.by_material, (row) => row.figures)], r.by_material);
  table<Row>(sheet('sheet.products'), r, w, [keyColumn(w.t('col.product'), (row) => row.key || none), ...figureColumns(w, r.by_product, (row) => row.figures)], r.by_product);

  type Reason = ReportJson['by_reason'][number];
  table<Reason>(
    sheet('sheet.reasons'),
    r,
    w,
    [
      keyColumn(w.t('col.reasonCode'), (row) => row.key),
      textColumn(w.t('col.reason'), (row) => w.reason(row.key, row.label)),
      textColumn(w.t('col.group'), (row) => row.group),
      ...(['parts_scrap', 'scrap_kg', 'manual_scrap_parts', 'manual_scrap_kg', 'share_of_scrap'] as const).map((m) => measureColumn<Reason>(w, m, UNITS[m]!, (row) => row[m])),
    ],
    r.by_reason,
  );

  type Destination = ReportJson['by_destination'][number];
  table<Destination>(
    sheet('sheet.destinations'),
    r,
    w,
    [
      keyColumn(w.t('col.destinationCode'), (row) => row.key),
      textColumn(w.t('col.destination'), (row) => w.destination(row.key)),
      textColumn(w.t('col.category'), (row) => w.t(`cat.${E5_5_CATEGORY[row.key as keyof typeof E5_5_CATEGORY] ?? 'unassigned'}`)),
      ...(['scrap_kg', 'manual_scrap_kg', 'share_of_scrap_kg'] as const).map((m) => measureColumn<Destination>(w, m, UNITS[m]!, (row) => row[m])),
    ],
    r.by_destination,
  );

  type Point = ReportJson['series']['points'][number];
  table<Point>(
    sheet('sheet.series'),
    r,
    w,
    [
      keyColumn(`${w.t('col.step')} (${w.t(`step.${r.series.step}`)})`, (p) => p.label),
      dateColumn(w.t('col.start', { zone: r.time_zone }), (p) => p.start),
      dateColumn(w.t('col.end', { zone: r.time_zone }), (p) => p.end),
      ...figureColumns(w, r.series.points, (p) => p.figures),
    ],
    r.series.points,
  );

  e54Sheet(sheet('sheet.e54'), r, w);
  e55Sheet(sheet('sheet.e55'), r, w);
  opportunitySheet(sheet('sheet.opportunity'), r, w);
  qualitySheets(wb, r, w);
  factorsSheet(sheet('sheet.factors'), r, w);

  return Buffer.from((await wb.xlsx.writeBuffer()) as ArrayBuffer);
}

// ---- Headers, formats and columns ----

/** The word of a measure (`crm_loss_kg_Co` → "Critical raw material lost: Co"). */
function measureName(w: ReportWords, measure: string): string {
  const crm = /^(crm_loss_kg|saved_crm_kg)_(.+)$/.exec(measure);
  if (crm !== null) return w.t(crm[1] === 'crm_loss_kg' ? 'm.crm_loss_kg' : 'm.saved_crm_kg', { element: crm[2]! });
  if (measure === 'missing_ms') return w.t('m.missing');
  return w.t(`m.${measure}` as ReportWordKey);
}

/** A unit as it stands in a header; a currency is its ISO code. Milliseconds are shown as hours. */
function unitText(w: ReportWords, unit: string): string {
  switch (unit) {
    case 'share':
      return w.t('unit.share');
    case 'parts':
      return w.t('unit.parts');
    case 'count':
      return w.t('unit.count');
    case 'ms':
      return w.t('unit.hours');
    case 'kg CO2e':
      return w.t('unit.kgco2e');
    default:
      return unit;
  }
}

/**
 * The header of the column (or the name of the row) that holds `measure` in `unit`, as the rows of
 * `reportNumbers` name them: "Scrap (kg)", "Yield (%)", "Cost of the loss (EUR)". Tests read the
 * workbook back through it.
 */
export function measureHeader(w: ReportWords, measure: string, unit: string = UNITS[measure] ?? ''): string {
  const name = measureName(w, measure);
  const u = unitText(w, unit);
  // "Parts", not "Parts (parts)".
  return name.toLowerCase() === u.toLowerCase() ? name : `${name} (${u})`;
}

const DATE_FORMAT = 'yyyy-mm-dd hh:mm';
const CURRENCY = /^[A-Z]{3}$/;

/** The number format of a unit: shares as percentages (the value stays 0..1), whole parts, masses to the gram where it matters. */
function numberFormat(measure: string, unit: string): string {
  if (unit === 'share') return '0.0%';
  if (unit === 'parts') return measure === 'saved_parts' ? '#,##0.0' : '#,##0';
  if (unit === 'count') return '#,##0';
  if (CURRENCY.test(unit)) return '#,##0.00';
  if (measure.includes('crm')) return '#,##0.000';
  return '#,##0.0';
}

/** What a cell holds: a number, a text, a time (epoch ms, shown in site time), or nothing. */
type Value = number | string | { time: number } | undefined;

interface Column<R> {
  header: string;
  value(row: R): Value;
  format?: string | undefined;
  /** The key columns: frozen with the header, never numbers. */
  key?: boolean;
  /** Indent (levels) of a text: rows within a group. */
  indent?(row: R): number;
}

function keyColumn<R>(header: string, value: (row: R) => string): Column<R> {
  return { header, value, key: true };
}

function textColumn<R>(header: string, value: (row: R) => string | undefined): Column<R> {
  return { header, value };
}

function measureColumn<R>(w: ReportWords, measure: string, unit: string, value: (row: R) => number | undefined, header = measureHeader(w, measure, unit)): Column<R> {
  return { header, value, format: numberFormat(measure, unit) };
}

function dateColumn<R>(header: string, value: (row: R) => number | undefined): Column<R> {
  return {
    header,
    value: (row) => {
      const t = value(row);
      return t === undefined ? undefined : { time: t };
    },
    format: DATE_FORMAT,
  };
}

/** Keys of a record over all rows, sorted: the currencies or elements that get a column each. */
function keysOf<R>(rows: readonly R[], get: (row: R) => Record<string, number> | undefined): string[] {
  return [...new Set(rows.flatMap((row) => Object.keys(get(row) ?? {})))].sort();
}

const FIGURES_BEFORE_COST = ['parts_total', 'parts_good', 'parts_scrap', 'parts_rework', 'manual_scrap_parts', 'yield', 'first_pass_yield', 'scrap_rate', 'rework_ratio', 'material_in_kg', 'good_kg', 'scrap_kg', 'manual_scrap_kg', 'other_loss_kg', 'material_loss_kg', 'material_efficiency'] as const;

/** One column per figure, in the order a reader goes through them; the loss cost once per currency, critical raw materials once per element. */
function figureColumns<R>(w: ReportWords, rows: readonly R[], get: (row: R) => ReportFigures): Column<R>[] {
  const cols: Column<R>[] = FIGURES_BEFORE_COST.map((m) => measureColumn(w, m, UNITS[m]!, (row: R) => get(row)[m]));
  for (const cur of keysOf(rows, (row) => get(row).loss_cost)) cols.push(measureColumn(w, 'loss_cost', cur, (row: R) => get(row).loss_cost?.[cur]));
  cols.push(measureColumn(w, 'loss_co2e_kg', UNITS.loss_co2e_kg!, (row: R) => get(row).loss_co2e_kg));
  for (const el of keysOf(rows, (row) => get(row).crm_loss_kg)) cols.push(measureColumn(w, `crm_loss_kg_${el}`, 'kg', (row: R) => get(row).crm_loss_kg?.[el]));
  cols.push(measureColumn(w, 'coverage', 'share', (row: R) => get(row).coverage));
  cols.push(measureColumn(w, 'windows', 'count', (row: R) => get(row).windows));
  return cols;
}

// ---- Writing ----

const HEADER_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFE8ECEF' } };

/** An Excel date that shows `t` on the site's wall clock (Excel dates have no time zone). */
function siteDate(zone: string, t: number): Date {
  return new Date(t + zoneOffset(zone, t));
}

/** The width a value needs, roughly, in characters. */
function widthOf(v: Value, format: string | undefined): number {
  if (v === undefined) return 0;
  if (typeof v === 'string') return v.length;
  if (typeof v === 'object') return 16;
  const digits = Math.abs(v) >= 1 ? Math.floor(Math.log10(Math.abs(v))) + 1 : 1;
  const decimals = format === undefined ? 2 : (format.split('.')[1]?.replace(/[^0#]/g, '').length ?? 0);
  return digits + Math.floor((digits - 1) / 3) + decimals + 2;
}

/** Tracks what each column of a sheet needs, and sets the widths at the end. */
class Widths {
  private readonly need = new Map<number, number>();
  fit(col: number, chars: number): void {
    this.need.set(col, Math.max(this.need.get(col) ?? 0, chars));
  }
  apply(ws: ExcelJS.Worksheet, min = 8, max = 48): void {
    for (const [col, chars] of this.need) ws.getColumn(col).width = Math.min(max, Math.max(min, chars + 2));
  }
}

function setCell(ws: ExcelJS.Worksheet, zone: string, row: number, col: number, v: Value, format?: string): void {
  if (v === undefined || (typeof v === 'number' && !Number.isFinite(v))) return;
  const cell = ws.getCell(row, col);
  if (typeof v === 'object') {
    cell.value = siteDate(zone, v.time);
    cell.numFmt = DATE_FORMAT;
    return;
  }
  cell.value = v;
  if (typeof v === 'number' && format !== undefined) cell.numFmt = format;
}

function headerRow(ws: ExcelJS.Worksheet, row: number, headers: readonly string[], widths: Widths): void {
  const r = ws.getRow(row);
  headers.forEach((h, i) => {
    const cell = r.getCell(i + 1);
    cell.value = h;
    cell.font = { bold: true };
    cell.fill = HEADER_FILL;
    cell.alignment = { wrapText: true, vertical: 'top' };
    cell.border = { bottom: { style: 'thin' } };
    // A header may wrap: it asks for a width up to about two lines' worth of its words.
    widths.fit(i + 1, Math.min(h.length, Math.max(12, Math.ceil(h.length / 2))));
  });
}

/**
 * A table from row 1: the header (frozen, with the key columns), one row per item, an optional
 * total row in bold, then notes below an empty row. Returns the next free row.
 */
function table<R>(ws: ExcelJS.Worksheet, r: ReportJson, w: ReportWords, cols: readonly Column<R>[], rows: readonly R[], o: { keys?: number; total?: R | undefined; notes?: readonly string[] } = {}): number {
  const widths = new Widths();
  headerRow(
    ws,
    1,
    cols.map((c) => c.header),
    widths,
  );
  let at = 2;
  const all = o.total === undefined ? rows : [...rows, o.total];
  for (const row of all) {
    cols.forEach((c, i) => {
      const v = c.value(row);
      setCell(ws, r.time_zone, at, i + 1, v, c.format);
      widths.fit(i + 1, widthOf(v, c.format));
      const indent = c.indent?.(row) ?? 0;
      if (indent > 0) ws.getCell(at, i + 1).alignment = { indent };
    });
    if (row === o.total) ws.getRow(at).font = { bold: true };
    at++;
  }
  const keys = o.keys ?? cols.filter((c) => c.key === true).length;
  ws.views = [{ state: 'frozen', xSplit: keys, ySplit: 1 }];
  if (rows.length > 0) ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: cols.length } };
  widths.apply(ws);
  at = notes(ws, at, [w.t('xlsx.note', { zone: r.time_zone }), ...(o.notes ?? [])]);
  return at;
}

/** Sentences below a table, after an empty row, in italics; each in the first column, running on to the right. */
function notes(ws: ExcelJS.Worksheet, at: number, lines: readonly string[]): number {
  at++;
  for (const line of lines) {
    const cell = ws.getCell(at++, 1);
    cell.value = line;
    cell.font = { italic: true };
  }
  return at;
}

// ---- The sheets ----

function summarySheet(wb: ExcelJS.Workbook, r: ReportJson, w: ReportWords): void {
  const ws = wb.addWorksheet(w.t('sheet.summary'));
  const widths = new Widths();
  const zone = r.time_zone;
  ws.getCell(1, 1).value = w.t('report.title');
  ws.getCell(1, 1).font = { bold: true, size: 14 };
  ws.getCell(2, 1).value = opportunitySentence(r, w);
  ws.getCell(2, 1).font = { bold: true };

  const meta: [string, Value, string?][] = [
    [w.t('meta.site'), r.site ?? w.t('meta.notStated')],
    [w.t('meta.scope'), `${r.scope.spec === 'all' ? w.t('meta.scopeAll') : r.scope.label} (${w.t('meta.machines', { count: r.scope.machines.length })})`],
    [w.t('meta.period'), r.period.label],
    [`${w.t('meta.from')} (${zone})`, { time: r.period.start }],
    [`${w.t('meta.to')} (${zone})`, { time: r.period.end }],
    [w.t('meta.timeZone'), zone],
    [`${w.t('meta.generated')} (${zone})`, { time: r.generated_at }],
    [w.t('meta.method'), r.method],
    [w.t('meta.configHash'), r.config_hash],
    [w.t('meta.library'), r.material_library_version ?? w.t('meta.notStated')],
    [w.t('meta.source'), w.t(r.source === 'store' ? 'source.store' : 'source.influxdb')],
    [w.t('meta.agent'), r.agent ?? w.t('meta.notStated')],
  ];
  let at = 4;
  for (const [label, v] of meta) {
    ws.getCell(at, 1).value = label;
    ws.getCell(at, 1).font = { bold: true };
    setCell(ws, zone, at, 2, v);
    widths.fit(1, label.length);
    at++;
  }
  if (r.data_quality.partial_period) ws.getCell(at++, 1).value = w.t('quality.partial', { time: w.dateTime(r.generated_at) });
  if (r.data_quality.coverage !== undefined && r.data_quality.coverage < 1) ws.getCell(at++, 1).value = w.t('quality.coverage', { coverage: w.share(r.data_quality.coverage) });
  at++;

  // The headline figures: this period, the periods to compare with, the targets.
  const head = at;
  const prev = r.previous;
  const year = r.year_before;
  headerRow(
    ws,
    head,
    [
      w.t('col.figure'),
      w.t('col.thisPeriod') + ` (${r.period.label})`,
      w.t('col.previous') + (prev !== null ? ` (${prev.period.label})` : ''),
      w.t('col.yearBefore') + (year !== null ? ` (${year.period.label})` : ''),
      measureHeader(w, 'target', 'share'),
      measureHeader(w, 'actual', 'share'),
      measureHeader(w, 'share_of_parts', 'share'),
    ],
    widths,
  );
  at++;
  const line = (measure: string, unit: string, now: number | undefined, before?: number | undefined, yearAgo?: number | undefined, target?: ReportJson['targets']['yield']) => {
    const label = measureHeader(w, measure, unit);
    const format = numberFormat(measure, unit);
    ws.getCell(at, 1).value = label;
    widths.fit(1, label.length);
    const values: (number | undefined)[] = [now, before, yearAgo, target?.target, target?.actual, target?.share_of_parts];
    values.forEach((v, i) => {
      setCell(ws, zone, at, i + 2, v, i >= 3 ? '0.0%' : format);
      widths.fit(i + 2, widthOf(v, format));
    });
    at++;
  };
  const opp = r.opportunity.total;
  line('saved_kg', 'kg', opp.saved_kg);
  for (const [cur, v] of Object.entries(opp.saved_cost)) line('saved_cost', cur, v);
  line('saved_co2e_kg', 'kg CO2e', opp.saved_co2e_kg);
  line('saved_parts', 'parts', opp.saved_parts);
  for (const [el, v] of Object.entries(opp.saved_crm_kg)) line(`saved_crm_kg_${el}`, 'kg', v);
  const t = r.totals;
  const p = prev?.figures;
  const y = year?.figures;
  for (const m of ['parts_total', 'parts_scrap', 'yield', 'scrap_rate', 'material_efficiency', 'material_loss_kg', 'scrap_kg'] as const) {
    line(m, UNITS[m]!, t[m], p?.[m], y?.[m], m === 'yield' ? r.targets.yield : m === 'scrap_rate' ? r.targets.scrap_rate : undefined);
  }
  for (const cur of keysOf([t, p, y], (f) => f?.loss_cost)) line('loss_cost', cur, t.loss_cost?.[cur], p?.loss_cost?.[cur], y?.loss_cost?.[cur]);
  line('loss_co2e_kg', 'kg CO2e', t.loss_co2e_kg, p?.loss_co2e_kg, y?.loss_co2e_kg);
  for (const el of keysOf([t, p, y], (f) => f?.crm_loss_kg)) line(`crm_loss_kg_${el}`, 'kg', t.crm_loss_kg?.[el], p?.crm_loss_kg?.[el], y?.crm_loss_kg?.[el]);
  line('coverage', 'share', t.coverage, p?.coverage, y?.coverage);
  widths.fit(2, 18);
  widths.apply(ws, 10, 60);
  notes(ws, at, [w.t('xlsx.note', { zone })]);
}

function e54Sheet(ws: ExcelJS.Worksheet, r: ReportJson, w: ReportWords): void {
  const e = r.esrs.e5_4;
  type Row = { material: string; kg: number; basis?: string; share?: number | undefined; secondary?: number | undefined };
  const rows: Row[] = e.rows.map((row) => ({ material: row.material || `(${w.t('word.none')})`, kg: row.kg, basis: w.t(row.measured ? 'word.weighed' : 'word.estimate'), share: row.recycled_content_share, secondary: row.secondary_kg }));
  const total: Row = { material: w.t('word.total'), kg: e.total_kg, share: e.secondary_share, secondary: e.secondary_kg, ...(e.estimate ? { basis: w.t('word.estimate') } : {}) };
  const missing = e.rows.filter((row) => row.recycled_content_share === undefined && row.kg > 0).map((row) => row.material || `(${w.t('word.none')})`);
  table(
    ws,
    r,
    w,
    [
      keyColumn(w.t('col.material'), (row: Row) => row.material),
      measureColumn(w, 'kg', 'kg', (row: Row) => row.kg),
      textColumn(w.t('col.basis'), (row: Row) => row.basis),
      measureColumn(w, 'recycled_content_share', 'share', (row: Row) => row.share),
      measureColumn(w, 'secondary_kg', 'kg', (row: Row) => row.secondary),
    ],
    rows,
    { total, notes: [w.t('title.e54'), ...(e.estimate ? [w.t('e54.estimate')] : []), ...(missing.length > 0 ? [w.t('e54.noShare', { materials: w.list(missing) })] : [])] },
  );
}

/** The rows of the E5-5 table, in the order ESRS lists them: [measure, level] (0 a total, 1 within its group); group titles have no measure. */
export const E55_ROWS: readonly (readonly [measure: string | undefined, word: ReportWordKey, level: number])[] = [
  ['total_kg', 'e55.total_kg', 0],
  [undefined, 'e55.diverted', 0],
  ['preparation_for_reuse_kg', 'e55.preparation_for_reuse_kg', 1],
  ['recycling_kg', 'e55.recycling_kg', 1],
  ['other_recovery_kg', 'e55.other_recovery_kg', 1],
  ['diverted_kg', 'e55.diverted_kg', 1],
  [undefined, 'e55.directed', 0],
  ['incineration_kg', 'e55.incineration_kg', 1],
  ['landfill_kg', 'e55.landfill_kg', 1],
  ['other_disposal_kg', 'e55.other_disposal_kg', 1],
  ['directed_kg', 'e55.directed_kg', 1],
  ['unassigned_kg', 'e55.unassigned_kg', 0],
  ['hazardous_kg', 'e55.hazardous_kg', 0],
  ['non_hazardous_kg', 'e55.non_hazardous_kg', 0],
  ['non_recycled_kg', 'e55.non_recycled_kg', 0],
];

/** The kg of an E5-5 row by its measure (as `reportNumbers` names it). */
export function e55Value(e: ReportJson['esrs']['e5_5'], measure: string): number | undefined {
  const all: Record<string, number | undefined> = {
    total_kg: e.total_kg,
    preparation_for_reuse_kg: e.diverted.preparation_for_reuse_kg,
    recycling_kg: e.diverted.recycling_kg,
    other_recovery_kg: e.diverted.other_recovery_kg,
    diverted_kg: e.diverted.total_kg,
    incineration_kg: e.directed.incineration_kg,
    landfill_kg: e.directed.landfill_kg,
    other_disposal_kg: e.directed.other_disposal_kg,
    directed_kg: e.directed.total_kg,
    unassigned_kg: e.unassigned_kg,
    hazardous_kg: e.hazardous_kg,
    non_hazardous_kg: e.non_hazardous_kg,
    non_recycled_kg: e.non_recycled_kg,
    non_recycled_share: e.non_recycled_share,
    other_loss_kg: e.other_loss_kg,
  };
  return all[measure];
}

function e55Sheet(ws: ExcelJS.Worksheet, r: ReportJson, w: ReportWords): void {
  const e = r.esrs.e5_5;
  type Row = { label: string; kg: number | undefined; share?: number | undefined; level: number; bold: boolean };
  const rows: Row[] = E55_ROWS.map(([m, word, level]) => ({
    label: w.t(word),
    kg: m === undefined ? undefined : e55Value(e, m),
    ...(m === 'non_recycled_kg' ? { share: e.non_recycled_share } : {}),
    level,
    bold: m === undefined || m === 'total_kg',
  }));
  const noteLines = [w.t('title.e55'), ...(e.estimate ? [w.t('e55.estimate')] : [])];
  let at = table(
    ws,
    r,
    w,
    [
      { header: w.t('col.item'), value: (row: Row) => row.label, key: true, indent: (row: Row) => row.level },
      measureColumn(w, 'total_kg', 'kg', (row: Row) => row.kg, `${w.t('e55.total_kg')} (kg)`),
      measureColumn(w, 'non_recycled_share', 'share', (row: Row) => row.share, `${w.t('e55.non_recycled_share')} (%)`),
    ],
    rows,
    { notes: noteLines },
  );
  rows.forEach((row, i) => {
    if (row.bold) ws.getCell(i + 2, 1).font = { bold: true };
  });
  if (e.other_loss_kg !== undefined) {
    ws.getCell(at, 1).value = w.t('e55.other_loss_kg');
    setCell(ws, r.time_zone, at, 2, e.other_loss_kg, '#,##0.0');
    at++;
  }
}

function opportunitySheet(ws: ExcelJS.Worksheet, r: ReportJson, w: ReportWords): void {
  const o = r.opportunity;
  type Row = ReportJson['opportunity']['rows'][number] | { total: true };
  const T = o.total;
  const isTotal = (row: Row): row is { total: true } => 'total' in row;
  const num = (get: (row: Exclude<Row, { total: true }>) => number | undefined, total?: number) => (row: Row) => (isTotal(row) ? total : get(row));
  const currencies = keysOf<Row>([...o.rows, { total: true }], (row) => (isTotal(row) ? T.saved_cost : row.saved_cost));
  const elements = keysOf<Row>([...o.rows, { total: true }], (row) => (isTotal(row) ? T.saved_crm_kg : row.saved_crm_kg));
  const basis = w.t(o.basis === 'shift' ? 'opp.basis.shift' : 'opp.basis.day');
  table(
    ws,
    r,
    w,
    [
      keyColumn(w.t('col.machine'), (row: Row) => (isTotal(row) ? w.t('word.total') : row.machine)),
      textColumn(w.t('col.name'), (row: Row) => (isTotal(row) ? undefined : row.name)),
      textColumn(w.t('col.material'), (row: Row) => (isTotal(row) ? undefined : row.material)),
      measureColumn(w, 'parts_total', 'parts', num((row) => row.parts_total)),
      measureColumn(w, 'parts_scrap', 'parts', num((row) => row.parts_scrap)),
      measureColumn(w, 'scrap_rate', 'share', num((row) => row.scrap_rate)),
      textColumn(w.t('col.bestPeriod'), (row: Row) => (isTotal(row) ? undefined : row.best?.period)),
      dateColumn(w.t('col.bestStart', { zone: r.time_zone }), (row: Row) => (isTotal(row) ? undefined : row.best?.start)),
      measureColumn(w, 'best_scrap_rate', 'share', num((row) => row.best?.scrap_rate)),
      measureColumn(w, 'best_parts_total', 'parts', num((row) => row.best?.parts_total)),
      measureColumn(w, 'saved_parts', 'parts', num((row) => row.saved_parts, T.saved_parts)),
      measureColumn(w, 'saved_kg', 'kg', num((row) => row.saved_kg, T.saved_kg)),
      ...currencies.map((cur) => measureColumn(w, 'saved_cost', cur, num((row) => row.saved_cost?.[cur], T.saved_cost[cur]))),
      measureColumn(w, 'saved_co2e_kg', 'kg CO2e', num((row) => row.saved_co2e_kg, T.saved_co2e_kg)),
      ...elements.map((el) => measureColumn(w, `saved_crm_kg_${el}`, 'kg', num((row) => row.saved_crm_kg?.[el], T.saved_crm_kg[el]))),
    ],
    o.rows,
    {
      keys: 3,
      total: { total: true },
      notes: [
        opportunitySentence(r, w),
        w.t('opp.explain', { basis, min: w.number(o.min_parts), days: w.number(o.lookback_ms / 86_400_000) }),
        `${w.t('opp.basisRow')}: ${basis}`,
        `${w.t('opp.minPartsRow')}: ${w.number(o.min_parts)}`,
        `${w.t('opp.lookbackRow')}: ${w.number(o.lookback_ms / 86_400_000, 1)}`,
      ],
    },
  );
}

function qualitySheets(wb: ExcelJS.Workbook, r: ReportJson, w: ReportWords): void {
  const dq = r.data_quality;
  const zone = r.time_zone;
  const massWord = (m: 'measured' | 'estimated' | 'none') => w.t(`mass.${m}`);

  // Per machine, then the counts of the period below.
  const ws = wb.addWorksheet(w.t('sheet.quality'));
  type M = (typeof dq.machines)[number];
  const sentences = [
    ...(dq.partial_period ? [w.t('quality.partial', { time: w.dateTime(r.generated_at) })] : []),
    ...(dq.coverage !== undefined ? [dq.coverage < 1 ? w.t('quality.coverage', { coverage: w.share(dq.coverage) }) : w.t('quality.full')] : []),
    w.t('quality.resolution', { resolution: w.duration(dq.resolution_ms) }),
  ];
  let at = table(
    ws,
    r,
    w,
    [
      keyColumn(w.t('col.machine'), (m: M) => m.machine),
      textColumn(w.t('col.name'), (m: M) => m.name),
      measureColumn(w, 'coverage', 'share', (m: M) => m.coverage),
      measureColumn(w, 'windows', 'count', (m: M) => m.windows),
      measureColumn(w, 'gaps', 'count', (m: M) => m.gaps.length + m.more_gaps),
      measureColumn(w, 'missing_ms', 'ms', (m: M) => m.missing_ms / 3_600_000),
      textColumn(w.t('col.scrapMass'), (m: M) => massWord(m.mass_basis.scrap_kg)),
      textColumn(w.t('col.inputMass'), (m: M) => massWord(m.mass_basis.material_in_kg)),
    ],
    dq.machines,
    { keys: 2, notes: sentences },
  );
  at++;
  const widths = new Widths();
  headerRow(ws, at, [w.t('title.counts'), w.t('col.count')], widths);
  at++;
  for (const [k, v] of Object.entries(dq.counts)) {
    ws.getCell(at, 1).value = w.t(`m.${k}` as ReportWordKey);
    setCell(ws, zone, at++, 2, v, '#,##0');
  }
  ws.getCell(at, 1).value = w.t('m.entries');
  setCell(ws, zone, at++, 2, dq.entries.length, '#,##0');

  // Every gap listed, in site time.
  type G = { machine: string; name: string; start?: number; end?: number; note?: string };
  const gaps: G[] = dq.machines.flatMap((m) => [
    ...m.gaps.map((g) => ({ machine: m.machine, name: m.name, start: g.start, end: g.end })),
    ...(m.more_gaps > 0 ? [{ machine: m.machine, name: m.name, note: w.t('quality.notListed', { count: m.more_gaps }) }] : []),
  ]);
  table(
    wb.addWorksheet(w.t('sheet.gaps')),
    r,
    w,
    [
      keyColumn(w.t('col.machine'), (g: G) => g.machine),
      textColumn(w.t('col.name'), (g: G) => g.name),
      dateColumn(w.t('col.start', { zone }), (g: G) => g.start),
      dateColumn(w.t('col.end', { zone }), (g: G) => g.end),
      measureColumn(w, 'missing_ms', 'ms', (g: G) => (g.start === undefined || g.end === undefined ? undefined : (g.end - g.start) / 3_600_000)),
      textColumn(w.t('col.comment'), (g: G) => g.note),
    ],
    gaps,
    { keys: 2, notes: gaps.length === 0 ? [w.t('quality.noGaps')] : [] },
  );

  // Manual entries with who, when and why.
  type E = (typeof dq.entries)[number];
  table(
    wb.addWorksheet(w.t('sheet.entries')),
    r,
    w,
    [
      dateColumn(w.t('col.time', { zone }), (e: E) => e.time),
      keyColumn(w.t('col.machine'), (e: E) => e.machine),
      measureColumn(w, 'parts_scrap', 'parts', (e: E) => e.parts, `${w.t('col.parts')} (${w.t('unit.parts')})`),
      measureColumn(w, 'scrap_kg', 'kg', (e: E) => e.kg, `${w.t('col.kg')} (kg)`),
      textColumn(w.t('col.reason'), (e: E) => (e.reason === undefined ? undefined : w.reason(e.reason, r.by_reason.find((x) => x.key === e.reason)?.label))),
      textColumn(w.t('col.destination'), (e: E) => (e.destination === undefined ? undefined : w.destination(e.destination))),
      textColumn(w.t('col.comment'), (e: E) => e.comment),
      textColumn(w.t('col.by'), (e: E) => e.by),
      dateColumn(w.t('col.at', { zone }), (e: E) => e.at),
      measureColumn(w, 'version', 'count', (e: E) => e.version, w.t('col.version')),
      textColumn(w.t('col.event'), (e: E) => w.t(`event.${e.event}`)),
      textColumn(w.t('col.why'), (e: E) => e.why),
      textColumn(w.t('col.deleted'), (e: E) => w.t(e.deleted ? 'word.yes' : 'word.no')),
    ],
    dq.entries,
    { keys: 2, notes: !dq.entries_available ? [w.t('quality.entriesUnavailable')] : dq.entries.length === 0 ? [w.t('quality.noEntries')] : dq.entries_truncated ? [w.t('quality.entriesTruncated', { count: w.number(MAX_ENTRIES) })] : [] },
  );
}

function factorsSheet(ws: ExcelJS.Worksheet, r: ReportJson, w: ReportWords): void {
  type F = ReportJson['factors'][number];
  const elements = keysOf(r.factors, (f) => f.crm);
  table(
    ws,
    r,
    w,
    [
      keyColumn(w.t('col.material'), (f: F) => f.material),
      { header: `${w.t('col.price')} (${w.t('unit.perKg', { currency: w.t('col.currency') })})`, value: (f: F) => f.price_per_kg ?? undefined, format: '#,##0.00' },
      { header: `${w.t('col.scrapValue')} (${w.t('unit.perKg', { currency: w.t('col.currency') })})`, value: (f: F) => f.scrap_value_per_kg, format: '#,##0.00' },
      textColumn(w.t('col.currency'), (f: F) => f.currency),
      { header: `${w.t('col.co2eFactor')} (${w.t('unit.co2ePerKg')})`, value: (f: F) => f.co2e_per_kg?.value, format: '#,##0.000' },
      textColumn(w.t('col.source'), (f: F) => f.co2e_per_kg?.source),
      { header: w.t('col.year'), value: (f: F) => f.co2e_per_kg?.year, format: '0' },
      textColumn(w.t('col.boundary'), (f: F) => f.co2e_per_kg?.boundary ?? undefined),
      ...elements.map((el): Column<F> => ({ header: `${w.t('col.crm', { element: el })} (${w.t('unit.kgPerKg')})`, value: (f: F) => f.crm[el], format: '0.0000' })),
      { header: `${w.t('col.recycled')} (%)`, value: (f: F) => f.recycled_content_share ?? undefined, format: '0.0%' },
      textColumn(w.t('col.scrapDestination'), (f: F) => w.destination(f.scrap_destination)),
      textColumn(w.t('col.hazardous'), (f: F) => w.t(f.hazardous ? 'word.yes' : 'word.no')),
    ],
    r.factors,
    { notes: [w.t('method.text', { method: r.method }), `${w.t('meta.configHash')}: ${r.config_hash}`] },
  );
}
