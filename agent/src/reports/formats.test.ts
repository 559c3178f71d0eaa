import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import ExcelJS from 'exceljs';
import { afterAll, describe, expect, it } from 'vitest';
import { decodePng, inkShare } from '../../../test/helpers/png.js';
import { fixtureReport, MID_OCTOBER } from '../../../test/helpers/report-fixture.js';
import { requireBinary } from '../../../test/helpers/require-binary.js';
import { REPORT_LANGUAGES, type ReportJson, type ReportLanguage } from '../api/report-contract.js';
import { zoneOffset } from '../kpi/site-time.js';
import { reportWords, type ReportWordKey, type ReportWords } from './i18n.js';
import { PDF_MACHINE_ROWS } from './pdf.js';
import { renderReport } from './render.js';
import { reportNumbers, type ReportNumber } from './rows.js';
import { E55_ROWS, measureHeader } from './xlsx.js';

const report = fixtureReport();
const numbers = reportNumbers(report);

/** The sheets of the workbook, in order (agent/src/reports/README.md, "XLSX"). */
const SHEETS: ReportWordKey[] = ['sheet.summary', 'sheet.machines', 'sheet.materials', 'sheet.products', 'sheet.reasons', 'sheet.destinations', 'sheet.series', 'sheet.e54', 'sheet.e55', 'sheet.opportunity', 'sheet.quality', 'sheet.gaps', 'sheet.entries', 'sheet.factors'];

async function workbook(r: ReportJson, lang: ReportLanguage): Promise<ExcelJS.Workbook> {
  const { body, contentType, filename } = await renderReport(r, 'xlsx', lang);
  expect(contentType).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
  expect(filename).toBe('yieldwatch-all-2026-10.xlsx');
  const wb = new ExcelJS.Workbook();
  await wb.xlsx.load(body as unknown as ArrayBuffer);
  return wb;
}

const text = (v: ExcelJS.CellValue): string => (v === null || v === undefined ? '' : typeof v === 'object' && 'richText' in v ? v.richText.map((t) => t.text).join('') : String(v));

/** The rows of a sheet's table: row 1 is the header, the table ends at the first row whose first cell is empty. */
function tableOf(ws: ExcelJS.Worksheet): { headers: string[]; rows: ExcelJS.Row[] } {
  const headers: string[] = [];
  ws.getRow(1).eachCell({ includeEmpty: true }, (c, i) => (headers[i - 1] = text(c.value)));
  const rows: ExcelJS.Row[] = [];
  for (let i = 2; i <= ws.rowCount && text(ws.getRow(i).getCell(1).value) !== ''; i++) rows.push(ws.getRow(i));
  return { headers, rows };
}

/**
 * Checks one breakdown sheet against the report's tidy numbers of its section: every number cell
 * is the number of its row's key and its column's measure (found through the column header), no
 * measure is written as text, and every number of the section is in the sheet.
 */
function checkSheet(
  ws: ExcelJS.Worksheet,
  w: ReportWords,
  section: string,
  keyOf: (row: ExcelJS.Row) => string,
  o: { measureOf?: (key: string, header: string) => [measure: string, unit: string] | undefined; skip?: (n: ReportNumber) => boolean; scale?: Record<string, number> } = {},
): number {
  const expected = numbers.filter((n) => n.section === section && !(o.skip?.(n) ?? false));
  const byHeader = new Map<string, [string, string]>();
  for (const n of expected) byHeader.set(measureHeader(w, n.measure, n.unit), [n.measure, n.unit]);
  const want = new Map(expected.map((n) => [`${n.key}\u0000${n.measure}\u0000${n.unit}`, n.value]));
  const seen = new Set<string>();
  const { headers, rows } = tableOf(ws);
  for (const row of rows) {
    const key = keyOf(row);
    headers.forEach((header, i) => {
      const cell = row.getCell(i + 1);
      const m = o.measureOf?.(key, header) ?? byHeader.get(header);
      if (m === undefined) {
        expect(cell.type, `${ws.name} ${key} "${header}" holds a number but names no measure`).not.toBe(ExcelJS.ValueType.Number);
        return;
      }
      if (cell.value === null) return;
      expect(cell.type, `${ws.name} ${key} "${header}" is a number cell`).toBe(ExcelJS.ValueType.Number);
      const id = `${key}\u0000${m[0]}\u0000${m[1]}`;
      const v = want.get(id);
      expect(v, `${ws.name}: ${key} ${m[0]} ${m[1]} is a number of the report`).toBeDefined();
      const scale = o.scale?.[m[0]] ?? 1;
      if (scale === 1) expect(cell.value, `${ws.name} ${key} ${m[0]}`).toBe(v);
      else expect(cell.value as number).toBeCloseTo(v! / scale, 9);
      seen.add(id);
    });
  }
  expect([...want.keys()].filter((k) => !seen.has(k)).map((k) => k.split('\u0000').join(' ')), `${ws.name}: numbers of the report missing from the sheet`).toEqual([]);
  return seen.size;
}

describe('the XLSX report', () => {
  it.each(REPORT_LANGUAGES)('has the documented sheets, in %s, with frozen headers', async (lang) => {
    const w = reportWords(lang, report.time_zone);
    const wb = await workbook(report, lang);
    expect(wb.worksheets.map((ws) => ws.name)).toEqual(SHEETS.map((k) => w.t(k)));
    for (const ws of wb.worksheets) {
      expect(ws.name.length).toBeLessThanOrEqual(31);
      if (ws.name === w.t('sheet.summary')) continue;
      expect(ws.views[0], ws.name).toMatchObject({ state: 'frozen', ySplit: 1 });
      expect(ws.getColumn(1).width, ws.name).toBeGreaterThanOrEqual(8);
    }
    if (lang === 'nl') expect(wb.getWorksheet('Samenvatting')).toBeDefined();
  });

  it.each(REPORT_LANGUAGES)('every number of the breakdown sheets is the JSON model’s (and the CSV’s), as a number cell, in %s', async (lang) => {
    const w = reportWords(lang, report.time_zone);
    const wb = await workbook(report, lang);
    const sheet = (k: ReportWordKey) => wb.getWorksheet(w.t(k))!;
    const none = `(${w.t('word.none')})`;
    const key = (row: ExcelJS.Row) => {
      const k = text(row.getCell(1).value);
      return k === none ? '' : k;
    };
    const counted: Record<string, number> = {};
    counted.machine = checkSheet(sheet('sheet.machines'), w, 'machine', key);
    counted.material = checkSheet(sheet('sheet.materials'), w, 'material', key);
    counted.product = checkSheet(sheet('sheet.products'), w, 'product', key);
    counted.reason = checkSheet(sheet('sheet.reasons'), w, 'reason', key);
    counted.destination = checkSheet(sheet('sheet.destinations'), w, 'destination', key);
    counted.series = checkSheet(sheet('sheet.series'), w, `series_${report.series.step}`, key);

    // E5-4: a row per material, then the total, whose columns hold the totals.
    const totalWord = w.t('word.total');
    const totals: Record<string, [string, string]> = { [measureHeader(w, 'kg', 'kg')]: ['total_kg', 'kg'], [measureHeader(w, 'recycled_content_share', 'share')]: ['secondary_share', 'share'], [measureHeader(w, 'secondary_kg', 'kg')]: ['secondary_kg', 'kg'] };
    counted.e54 = checkSheet(sheet('sheet.e54'), w, 'esrs_e5_4', (row) => (key(row) === totalWord ? 'total' : key(row)), {
      measureOf: (k, header) => (k === 'total' ? totals[header] : undefined),
      skip: (n) => n.measure === 'measured',
    });

    // E5-5: a row per measure, named in words; the non-recycled share beside its kg.
    const e55 = sheet('sheet.e55');
    const rowMeasure = new Map(E55_ROWS.filter(([m]) => m !== undefined).map(([m, word]) => [w.t(word), m!]));
    rowMeasure.set(w.t('e55.other_loss_kg'), 'other_loss_kg');
    const e55Numbers = numbers.filter((n) => n.section === 'esrs_e5_5');
    const e55Seen = new Set<string>();
    for (let i = 2; i <= e55.rowCount; i++) {
      const row = e55.getRow(i);
      const m = rowMeasure.get(text(row.getCell(1).value));
      if (m === undefined) continue;
      for (const [col, measure] of [
        [2, m],
        [3, m === 'non_recycled_kg' ? 'non_recycled_share' : undefined],
      ] as const) {
        const cell = row.getCell(col);
        if (measure === undefined) {
          expect(cell.value).toBeNull();
          continue;
        }
        const n = e55Numbers.find((x) => x.measure === measure)!;
        expect(cell.type, measure).toBe(ExcelJS.ValueType.Number);
        expect(cell.value, measure).toBe(n.value);
        e55Seen.add(measure);
      }
    }
    expect(e55Numbers.map((n) => n.measure).filter((m) => !e55Seen.has(m))).toEqual([]);

    // The opportunity: machine and material make the key; the total row holds the totals.
    const opp = sheet('sheet.opportunity');
    counted.opportunity = checkSheet(opp, w, 'opportunity', (row) => (key(row) === totalWord ? 'total' : `${key(row)}|${text(row.getCell(3).value)}`));

    // Data quality per machine (time without data in hours, the CSV's in ms), then the counts below.
    const dq = sheet('sheet.quality');
    counted.quality = checkSheet(dq, w, 'data_quality', key, { skip: (n) => n.key === 'total', scale: { missing_ms: 3_600_000 } });
    const counts = numbers.filter((n) => n.section === 'data_quality' && n.key === 'total');
    for (const n of counts) {
      const label = w.t(`m.${n.measure}` as ReportWordKey);
      let found = false;
      dq.eachRow((row) => {
        if (text(row.getCell(1).value) !== label) return;
        expect(row.getCell(2).type, label).toBe(ExcelJS.ValueType.Number);
        expect(row.getCell(2).value, label).toBe(n.value);
        found = true;
      });
      expect(found, label).toBe(true);
    }
    expect(Object.values(counted).every((c) => c > 0), JSON.stringify(counted)).toBe(true);
  });

  it.each(REPORT_LANGUAGES)('the summary sheet’s figures are the report’s totals, comparisons, targets and opportunity, in %s', async (lang) => {
    const w = reportWords(lang, report.time_zone);
    const wb = await workbook(report, lang);
    const ws = wb.getWorksheet(w.t('sheet.summary'))!;
    expect(text(ws.getCell(2, 1).value)).toContain(w.kg(report.opportunity.total.saved_kg));
    let head = 0;
    ws.eachRow((row, i) => {
      if (head === 0 && text(row.getCell(1).value) === w.t('col.figure')) head = i;
    });
    expect(head).toBeGreaterThan(0);
    const sections = ['totals', 'previous', 'year_before'];
    let checked = 0;
    for (let i = head + 1; text(ws.getRow(i).getCell(1).value) !== ''; i++) {
      const row = ws.getRow(i);
      const label = text(row.getCell(1).value);
      const n = (section: string, key = '') => numbers.find((x) => x.section === section && x.key === key && measureHeader(w, x.measure, x.unit) === label);
      for (let col = 2; col <= 7; col++) {
        const cell = row.getCell(col);
        if (cell.value === null) continue;
        expect(cell.type, `${label} column ${col}`).toBe(ExcelJS.ValueType.Number);
        let want: ReportNumber | undefined;
        if (col <= 4) want = n(sections[col - 2]!) ?? (col === 2 ? n('opportunity', 'total') : undefined);
        else {
          const target = label === measureHeader(w, 'yield', 'share') ? 'yield' : 'scrap_rate';
          want = numbers.find((x) => x.section === 'targets' && x.key === target && x.measure === ['target', 'actual', 'share_of_parts'][col - 5]);
        }
        expect(want, `${label} column ${col}`).toBeDefined();
        expect(cell.value, `${label} column ${col}`).toBe(want!.value);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(30);
  });

  it('writes shares under a percent format with the value kept 0..1, and absent figures as empty cells', async () => {
    const w = reportWords('en', report.time_zone);
    const wb = await workbook(report, 'en');
    const ws = wb.getWorksheet(w.t('sheet.materials'))!;
    const { headers, rows } = tableOf(ws);
    const col = (m: string, unit?: string) => headers.indexOf(measureHeader(w, m, unit)) + 1;
    const pa6 = rows.find((r) => text(r.getCell(1).value) === 'PA6-GF30')!;
    const yieldCell = pa6.getCell(col('yield'));
    expect(yieldCell.numFmt).toBe('0.0%');
    expect(yieldCell.value).toBe(report.by_material.find((m) => m.key === 'PA6-GF30')!.figures.yield);
    expect(yieldCell.value as number).toBeLessThan(1);
    // The moulding machine does not weigh its input: no material in, no material efficiency; never 0.
    expect(report.by_material.find((m) => m.key === 'PA6-GF30')!.figures.material_in_kg).toBeUndefined();
    expect(pa6.getCell(col('material_in_kg')).value).toBeNull();
    expect(pa6.getCell(col('material_efficiency')).value).toBeNull();
    expect(headers).toContain('Scrap (kg)');
    expect(headers).toContain('Yield (%)');
    expect(headers).toContain('Cost of the loss (EUR)');
  });

  it('lists gaps and manual entries in site time, with who changed an entry and why', async () => {
    const w = reportWords('nl', report.time_zone);
    const wb = await workbook(report, 'nl');
    const gaps = tableOf(wb.getWorksheet(w.t('sheet.gaps'))!);
    expect(gaps.headers[2]).toBe('Begin (Europe/Amsterdam)');
    const p2 = gaps.rows.find((r) => text(r.getCell(1).value) === 'plant/press/p2')!;
    // Excel dates have no zone: the cell shows the wall clock in Amsterdam.
    expect((p2.getCell(3).value as Date).getTime()).toBe(Date.UTC(2026, 9, 10, 8));
    expect((p2.getCell(4).value as Date).getTime()).toBe(Date.UTC(2026, 9, 12, 14));
    expect(p2.getCell(5).value).toBe(54);

    const entries = tableOf(wb.getWorksheet(w.t('sheet.entries'))!);
    expect(entries.rows).toHaveLength(report.data_quality.entries.length);
    const edited = entries.rows.find((r) => text(r.getCell(8).value) === 'teamleader.bakker' && text(r.getCell(11).value) === 'gewijzigd')!;
    expect(text(edited.getCell(12).value)).toBe('counted twice: 20 parts were already in the machine count');
    expect(edited.getCell(3).value).toBe(60);
    const e = report.data_quality.entries.find((x) => x.id === 'e2')!;
    expect((edited.getCell(1).value as Date).getTime()).toBe(e.time + zoneOffset(report.time_zone, e.time));
    expect((edited.getCell(9).value as Date).getTime()).toBe(e.at + zoneOffset(report.time_zone, e.at));
  });

  it('names every factor with its source, year and boundary', async () => {
    const w = reportWords('en', report.time_zone);
    const wb = await workbook(report, 'en');
    const { headers, rows } = tableOf(wb.getWorksheet(w.t('sheet.factors'))!);
    const at = (h: string) => headers.indexOf(h) + 1;
    const al = rows.find((r) => text(r.getCell(1).value) === 'AlMg3')!;
    expect(text(al.getCell(at('Source')).value)).toBe('European Aluminium, Environmental Profile Report');
    expect(al.getCell(at('Year')).value).toBe(2024);
    expect(text(al.getCell(at('System boundary')).value)).toContain('cradle-to-gate');
    expect(al.getCell(at('Emission factor (kg CO2e/kg)')).value).toBe(8.6);
    expect(al.getCell(at('Critical raw material Mg (kg/kg)')).value).toBe(0.03);
  });
});

// ---- PDF ----

/** Renders a PDF with poppler: its pages as PNG at 50 dpi, and its text. */
function poppler(pdf: Buffer): { pages: Buffer[]; text: string } {
  const dir = mkdtempSync(join(tmpdir(), 'yieldwatch-pdf-'));
  try {
    const file = join(dir, 'report.pdf');
    writeFileSync(file, pdf);
    execFileSync('pdftoppm', ['-r', '50', '-png', file, join(dir, 'page')], { timeout: 60_000 });
    const pages = readdirSync(dir)
      .filter((f) => f.startsWith('page') && f.endsWith('.png'))
      .sort()
      .map((f) => readFileSync(join(dir, f)));
    const text = execFileSync('pdftotext', ['-enc', 'UTF-8', file, '-'], { timeout: 60_000 }).toString('utf8');
    return { pages, text };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Text as pdftotext gives it, with every run of white space (line ends, no-break spaces) as one space. */
const flat = (s: string) => s.replace(/\s+/g, ' ');

const havePoppler = requireBinary('pdftoppm') && requireBinary('pdftotext');

describe('the PDF report', () => {
  const rendered = new Map<string, Buffer>();
  const pdf = async (r: ReportJson, lang: ReportLanguage, name: string) => {
    const key = `${name} ${lang}`;
    if (!rendered.has(key)) rendered.set(key, (await renderReport(r, 'pdf', lang)).body);
    return rendered.get(key)!;
  };
  afterAll(() => rendered.clear());

  it('is a PDF with the same bytes for the same report, dated when the report was made', async () => {
    const a = await renderReport(report, 'pdf', 'en');
    const b = await renderReport(report, 'pdf', 'en');
    expect(a.contentType).toBe('application/pdf');
    expect(a.filename).toBe('yieldwatch-all-2026-10.pdf');
    expect(a.body.subarray(0, 5).toString('latin1')).toBe('%PDF-');
    expect(a.body.equals(b.body)).toBe(true);
    // pdfkit writes the info dictionary's dates uncompressed, as D:YYYYMMDDHHmmSSZ: generated_at, not the time of writing.
    const stamp = new Date(report.generated_at).toISOString().replace(/[-:T]/g, '').slice(0, 14);
    expect(a.body.toString('latin1')).toContain(`(D:${stamp}Z)`);
    const pages = (a.body.toString('latin1').match(/\/Type \/Page\b/g) ?? []).length;
    expect(pages).toBeGreaterThanOrEqual(2);
    expect(pages).toBeLessThanOrEqual(4);
  });

  it.skipIf(!havePoppler).each(REPORT_LANGUAGES)('renders 2 to 4 pages, none of them blank, in %s', async (lang) => {
    const { pages } = poppler(await pdf(report, lang, 'month'));
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages.length).toBeLessThanOrEqual(4);
    for (const [i, page] of pages.entries()) {
      const png = decodePng(page);
      // A4 at 50 dpi.
      expect(png.width).toBeGreaterThan(150);
      expect(png.height).toBeGreaterThan(png.width);
      const ink = inkShare(png);
      expect(ink.colours, `page ${i + 1}`).toBeGreaterThan(2);
      expect(ink.share, `page ${i + 1}`).toBeGreaterThan(0.01);
    }
    // Page 1 carries two charts and eight figures: much more ink than a page of text alone.
    expect(inkShare(decodePng(pages[0]!)).colours).toBeGreaterThan(20);
  });

  it.skipIf(!havePoppler).each(REPORT_LANGUAGES)('has the site, period, headline figures, ESRS headings and the gap sentence as text, in %s', async (lang) => {
    const w = reportWords(lang, report.time_zone);
    const { text: raw, pages } = poppler(await pdf(report, lang, 'month'));
    const text = flat(raw);
    const t = report.totals;
    expect(report.data_quality.coverage).toBeLessThan(1);
    for (const s of [
      'plant',
      report.period.label,
      w.dateTime(report.period.start),
      w.t('report.title'),
      w.share(t.yield),
      w.share(t.scrap_rate),
      w.share(t.material_efficiency),
      w.kg(t.material_loss_kg),
      w.money(t.loss_cost!.EUR, 'EUR'),
      w.kg(report.opportunity.total.saved_kg),
      'ESRS E5-4',
      'ESRS E5-5',
      w.t('title.e54'),
      w.t('title.e55'),
      w.t('word.estimate'),
      w.t('quality.coverage', { coverage: w.share(report.data_quality.coverage) }),
      w.dateTime(report.data_quality.machines.find((m) => m.machine === 'plant/press/p2')!.gaps[0]!.start),
      'operator.jansen',
      'wrong machine',
      // A table cell that wraps: only its first line is one run of text.
      'European Aluminium',
      report.config_hash,
      report.method,
      'CO2e',
      w.t('footer.page', { page: 1, pages: pages.length }),
    ]) {
      expect(text, s).toContain(flat(s));
    }
    if (lang === 'nl') {
      // Dutch characters and the euro sign from the standard fonts.
      expect(text).toContain('Rapport materiaalefficiëntie');
      expect(text).toContain('geïnjecteerd');
      expect(text).toContain('€');
    }
  });

  it.skipIf(!havePoppler)('a month of 50 machines stays within 4 pages, showing the 20 largest losses and how many more there are', async () => {
    const big = fixtureReport({ machines: 50 });
    const w = reportWords('en', big.time_zone);
    const { pages, text } = poppler(await pdf(big, 'en', '50 machines'));
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(pages.length).toBeLessThanOrEqual(4);
    expect(flat(text)).toContain(flat(w.t('machines.more', { shown: PDF_MACHINE_ROWS, count: 50 - PDF_MACHINE_ROWS })));
    // The table's header comes again on the page it breaks onto, if it breaks.
    for (const page of pages) expect(inkShare(decodePng(page)).share).toBeGreaterThan(0.01);
  });

  it('a period without any data still gives both formats: empty cells, no chart, no opportunity figure, never zeros', async () => {
    const empty = fixtureReport({ noData: true });
    expect(empty.totals.yield).toBeUndefined();
    const w = reportWords('en', empty.time_zone);
    const wb = await workbook(empty, 'en');
    const { headers, rows } = tableOf(wb.getWorksheet(w.t('sheet.machines'))!);
    expect(rows).toHaveLength(3);
    for (const row of rows) {
      expect(row.getCell(headers.indexOf(measureHeader(w, 'yield')) + 1).value).toBeNull();
      expect(row.getCell(headers.indexOf(measureHeader(w, 'parts_total')) + 1).value).toBeNull();
      expect(row.getCell(headers.indexOf(measureHeader(w, 'coverage')) + 1).value).toBe(0);
    }
    const body = (await renderReport(empty, 'pdf', 'en')).body;
    expect((body.toString('latin1').match(/\/Type \/Page\b/g) ?? []).length).toBeLessThanOrEqual(4);
    if (!havePoppler) return;
    const { pages, text } = poppler(body);
    expect(pages.length).toBeGreaterThanOrEqual(2);
    expect(flat(text)).toContain(w.t('chart.noData'));
    expect(flat(text)).toContain(flat(w.t('opp.none', { basis: w.t('opp.basis.shift'), min: '500', days: '28' })));
  });

  it.skipIf(!havePoppler)('says when the period is not over yet', async () => {
    const partial = fixtureReport({ now: MID_OCTOBER });
    const w = reportWords('nl', partial.time_zone);
    const { text } = poppler(await pdf(partial, 'nl', 'partial'));
    expect(partial.data_quality.partial_period).toBe(true);
    expect(flat(text)).toContain(flat(w.t('quality.partial', { time: w.dateTime(partial.generated_at) })));
  });
});

describe('the PNG reader the PDF tests look at pages with', () => {
  it('undoes every row filter', () => {
    // A 7×5 RGB picture, each row written with another filter (0 none … 4 Paeth).
    const width = 7;
    const height = 5;
    const px = (x: number, y: number, c: number) => (x * 37 + y * 91 + c * 53 + x * y * 7) & 0xff;
    const raw: number[] = [];
    const at = (x: number, y: number, c: number) => (x < 0 || y < 0 ? 0 : px(x, y, c));
    for (let y = 0; y < height; y++) {
      const filter = y % 5;
      raw.push(filter);
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < 3; c++) {
          const v = px(x, y, c);
          const a = at(x - 1, y, c);
          const b = at(x, y - 1, c);
          const d = at(x - 1, y - 1, c);
          const p = a + b - d;
          const pred = [0, a, b, (a + b) >> 1, Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - d) ? a : Math.abs(p - b) <= Math.abs(p - d) ? b : d][filter]!;
          raw.push((v - pred) & 0xff);
        }
      }
    }
    const chunk = (type: string, body: Buffer) => {
      const head = Buffer.alloc(8);
      head.writeUInt32BE(body.length, 0);
      head.write(type, 4, 'latin1');
      return Buffer.concat([head, body, Buffer.alloc(4)]);
    };
    const ihdr = Buffer.alloc(13);
    ihdr.writeUInt32BE(width, 0);
    ihdr.writeUInt32BE(height, 4);
    ihdr[8] = 8;
    ihdr[9] = 2;
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.from(raw))), chunk('IEND', Buffer.alloc(0))]);
    const out = decodePng(png);
    expect([out.width, out.height, out.channels]).toEqual([width, height, 3]);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < 3; c++) expect(out.pixels[(y * width + x) * 3 + c]).toBe(px(x, y, c));
    expect(inkShare(out).colours).toBeGreaterThan(1);
  });
});
