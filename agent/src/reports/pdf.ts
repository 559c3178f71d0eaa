import { MAX_ENTRIES } from './read.js';
import PDFDocument from 'pdfkit';
import type { ReportJson, ReportLanguage } from '../api/report-contract.js';
import { periodOf } from '../kpi/periods.js';
import { opportunitySentence, reportWords, type ReportWordKey, type ReportWords } from './i18n.js';

/**
 * The report as a PDF of two to four A4 pages (agent/src/reports/README.md, "PDF"), drawn with
 * pdfkit in the standard Helvetica fonts: page 1 is the opportunity, the headline figures, the
 * yield and scrap-rate chart and the scrap Pareto; then the machines, the ESRS E5-4 and E5-5
 * tables, data quality, and the method with its factors. The same report gives the same bytes:
 * the document's dates are the report's `generated_at`.
 */
export async function reportPdf(r: ReportJson, lang: ReportLanguage): Promise<Buffer> {
  const w = reportWords(lang, r.time_zone);
  const doc = new PDFDocument({
    size: 'A4',
    margins: { top: MARGIN_TOP, bottom: MARGIN_BOTTOM, left: MARGIN_X, right: MARGIN_X },
    bufferPages: true,
    compress: true,
    lang: w.locale,
    displayTitle: true,
    info: {
      Title: pdfText(`${w.t('report.title')} ${r.site ?? ''} ${r.period.label}`.replace(/\s+/g, ' ')),
      Author: 'yieldwatch',
      Creator: 'yieldwatch',
      Producer: 'yieldwatch',
      Subject: pdfText(`${r.scope.spec} ${r.period.label}`),
      CreationDate: new Date(r.generated_at),
      ModDate: new Date(r.generated_at),
    },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<void>((resolve, reject) => {
    doc.on('end', resolve);
    doc.on('error', reject);
  });
  const p = new Writer(doc, r, w);
  p.firstPage();
  p.machines();
  p.esrs();
  p.quality();
  p.method();
  p.pageFurniture();
  doc.end();
  await done;
  return Buffer.concat(chunks);
}

// ---- Layout ----

const MARGIN_X = 42;
const MARGIN_TOP = 48;
const MARGIN_BOTTOM = 56;
const FONT = 'Helvetica';
const BOLD = 'Helvetica-Bold';
const INK = '#1f2933';
const MUTED = '#5f6b7a';
const RULE = '#c9d1d9';
const HEADER_FILL = '#e8ecef';
const STRIPE = '#f6f8fa';
const YIELD = '#1c64b0';
const SCRAP = '#c8412f';
const BAR = '#d9826f';
const GOOD = '#2e7d32';
const BAD = '#c62828';
const NOTE = '#8a5a00';
/** Rows of the machine table on paper; the rest are in the XLSX and the CSV. */
export const PDF_MACHINE_ROWS = 20;
const PDF_GAP_ROWS = 12;
const PDF_ENTRY_ROWS = 12;
const PDF_QUALITY_ROWS = 15;
const PARETO_BARS = 8;

/**
 * Text the standard fonts can show (WinAnsi): a minus, narrow and thin spaces, ≤ ≥ and a
 * subscript 2 become what those fonts have; anything else they lack becomes `?`.
 */
export function pdfText(s: string): string {
  return s.replace(/[^\u0020-\u007e\u00a0-\u00ff]/g, (c) => WIN_ANSI_EXTRA.has(c) ? c : (REPLACE[c] ?? '?'));
}
const WIN_ANSI_EXTRA = new Set('€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ');
const REPLACE: Record<string, string> = { '\u2212': '-', '\u202f': '\u00a0', '\u2009': '\u00a0', '\u2007': '\u00a0', '\u2011': '-', '≤': '<=', '≥': '>=', '→': '->', '₂': '2', '\n': '\n', '\r': '', '\t': ' ' };

interface Cell {
  text: string;
  color?: string;
}
interface Column {
  header: string;
  width: number;
  align?: 'left' | 'right';
}
interface Row {
  cells: (string | Cell)[];
  bold?: boolean;
  /** Indent of the first cell, in levels. */
  indent?: number;
}

class Writer {
  private readonly left = MARGIN_X;
  private readonly width: number;
  private readonly bottom: number;

  constructor(
    private readonly doc: PDFKit.PDFDocument,
    private readonly r: ReportJson,
    private readonly w: ReportWords,
  ) {
    this.width = doc.page.width - 2 * MARGIN_X;
    this.bottom = doc.page.height - MARGIN_BOTTOM;
  }

  // ---- Primitives ----

  private font(bold: boolean, size: number, color = INK): void {
    this.doc.font(bold ? BOLD : FONT).fontSize(size).fillColor(color);
  }

  /**
   * One line of text that fits `width`: first in smaller type (down to `min` pt), then cut with an
   * ellipsis. Sets the font it chose.
   */
  private fit(text: string, width: number, bold: boolean, size: number, min: number, color = INK): string {
    let s = size;
    this.font(bold, s, color);
    const t = pdfText(text);
    while (s > min && this.doc.widthOfString(t) > width) this.font(bold, (s -= 0.25), color);
    if (this.doc.widthOfString(t) <= width) return t;
    let n = t.length;
    while (n > 1 && this.doc.widthOfString(`${t.slice(0, n).trimEnd()}…`) > width) n--;
    return `${t.slice(0, n).trimEnd()}…`;
  }

  /** Starts a new page when fewer than `h` points are left on this one. */
  private ensure(h: number): void {
    // On a page that is still empty, a new one would not have more room.
    if (this.doc.y + h > this.bottom && this.doc.y > MARGIN_TOP + 1) this.newPage();
  }

  private newPage(): void {
    this.doc.addPage();
    this.doc.x = this.left;
    this.doc.y = MARGIN_TOP;
  }

  /** A title waiting for what comes under it: it goes on the page where that starts, never alone at a page's foot. */
  private pending: { text: string; size: number; before: number; after: number }[] = [];

  private heading(key: ReportWordKey, vars?: Record<string, string | number>, suffix = ''): void {
    this.pending.push({ text: pdfText(this.w.t(key, vars) + suffix), size: 13, before: 9, after: 4 });
  }

  private subheading(text: string): void {
    this.pending.push({ text: pdfText(text), size: 10.5, before: 6, after: 3 });
  }

  /** Makes room for the titles waiting and `h` points under them (on a new page if need be), then writes the titles. */
  private place(h: number): void {
    const width = { width: this.width };
    const titles = this.pending.reduce((a, p) => {
      this.font(true, p.size);
      return a + p.before + this.doc.heightOfString(p.text, width) + p.after;
    }, 0);
    this.ensure(titles + h);
    for (const p of this.pending) {
      // No space above a title at the top of a page.
      if (this.doc.y > MARGIN_TOP + 1) this.doc.y += p.before;
      this.font(true, p.size);
      this.doc.text(p.text, this.left, this.doc.y, width);
      this.doc.y += p.after;
    }
    this.pending = [];
  }

  private para(text: string, o: { size?: number; color?: string; bold?: boolean } = {}): void {
    this.font(o.bold ?? false, o.size ?? 9, o.color ?? INK);
    const t = pdfText(text);
    const h = this.doc.heightOfString(t, { width: this.width }) + 2;
    this.place(h);
    this.font(o.bold ?? false, o.size ?? 9, o.color ?? INK);
    this.doc.text(t, this.left, this.doc.y, { width: this.width });
    this.doc.moveDown(0.25);
  }

  /**
   * A table that breaks across pages with its header repeated; cells wrap within their column.
   * Column widths are shares of the page's width.
   */
  private table(cols: readonly Column[], rows: readonly Row[], size = 8): void {
    const doc = this.doc;
    const pad = 3.5;
    const total = cols.reduce((a, c) => a + c.width, 0);
    const widths = cols.map((c) => (c.width / total) * this.width);
    const xs = widths.map((_, i) => this.left + widths.slice(0, i).reduce((a, b) => a + b, 0));
    const textOf = (c: string | Cell) => pdfText(typeof c === 'string' ? c : c.text);
    const heightOf = (cells: readonly (string | Cell)[], bold: boolean, indent = 0, fontSize = size) => {
      this.font(bold, fontSize);
      return Math.max(...cells.map((c, i) => doc.heightOfString(textOf(c) || ' ', { width: widths[i]! - 2 * pad - (i === 0 ? indent * 10 : 0) }))) + 2 * pad;
    };
    // Headers wrap between words, never inside one: their type is as small as the longest word needs (not below 6 pt).
    let headerSize = size;
    for (const [i, c] of cols.entries()) {
      for (const word of pdfText(c.header).split(/\s+/)) {
        this.font(true, headerSize);
        while (headerSize > 6 && doc.widthOfString(word) > widths[i]! - 2 * pad) this.font(true, (headerSize -= 0.25));
      }
    }
    const headerHeight = heightOf(
      cols.map((c) => c.header),
      true,
      0,
      headerSize,
    );
    const header = () => {
      const y = doc.y;
      doc.rect(this.left, y, this.width, headerHeight).fill(HEADER_FILL);
      this.font(true, headerSize);
      cols.forEach((c, i) => doc.text(pdfText(c.header), xs[i]! + pad, y + pad, { width: widths[i]! - 2 * pad, align: c.align ?? 'left' }));
      doc.moveTo(this.left, y + headerHeight).lineTo(this.left + this.width, y + headerHeight).lineWidth(0.6).strokeColor(RULE).stroke();
      doc.y = y + headerHeight;
    };
    const heights = rows.map((row) => heightOf(row.cells, row.bold === true, row.indent));
    const all = headerHeight + heights.reduce((a, b) => a + b, 0);
    // A short table stays on one page; a long one starts with its header and at least one row.
    this.place(all < (this.bottom - MARGIN_TOP) / 3 ? all + 4 : headerHeight + (heights[0] ?? 0) + 4);
    header();
    rows.forEach((row, n) => {
      const h = heights[n]!;
      if (doc.y + h > this.bottom) {
        this.newPage();
        header();
      }
      const y = doc.y;
      if (n % 2 === 1) doc.rect(this.left, y, this.width, h).fill(STRIPE);
      row.cells.forEach((c, i) => {
        const indent = i === 0 ? (row.indent ?? 0) * 10 : 0;
        this.font(row.bold === true, size, typeof c === 'string' ? INK : (c.color ?? INK));
        doc.text(textOf(c), xs[i]! + pad + indent, y + pad, { width: widths[i]! - 2 * pad - indent, align: cols[i]!.align ?? 'left' });
      });
      if (row.bold === true) doc.moveTo(this.left, y).lineTo(this.left + this.width, y).lineWidth(0.6).strokeColor(RULE).stroke();
      doc.y = y + h;
    });
    doc.x = this.left;
    doc.moveDown(0.4);
  }

  // ---- Page 1 ----

  firstPage(): void {
    const { doc, r, w } = this;
    this.font(true, 20);
    doc.text(pdfText(w.t('report.title')), this.left, MARGIN_TOP, { width: this.width });
    doc.moveDown(0.15);
    this.font(true, 11.5);
    const scope = r.scope.spec === 'all' ? w.t('meta.scopeAll') : r.scope.label;
    doc.text(pdfText([r.site ?? undefined, `${scope} (${w.t('meta.machines', { count: r.scope.machines.length })})`, r.period.label].filter((x) => x !== undefined).join('  ·  ')), { width: this.width });
    this.font(false, 9.5, MUTED);
    doc.text(pdfText(w.t('meta.span', { from: w.dateTime(r.period.start), to: w.dateTime(r.period.end), zone: r.time_zone })), { width: this.width });
    doc.moveDown(0.5);

    const dq = r.data_quality;
    if (dq.partial_period) this.para(w.t('quality.partial', { time: w.dateTime(r.generated_at) }), { color: NOTE, bold: true });
    if (dq.coverage !== undefined && dq.coverage < 1) this.para(w.t('quality.coverage', { coverage: w.share(dq.coverage) }), { color: NOTE });

    // The opportunity first: what the period would have saved.
    const sentence = pdfText(opportunitySentence(r, w));
    this.font(true, 11.5);
    const h = doc.heightOfString(sentence, { width: this.width - 24 }) + 16;
    const y = doc.y + 2;
    doc.rect(this.left, y, this.width, h).fill('#eaf4ee');
    doc.rect(this.left, y, 4, h).fill(GOOD);
    this.font(true, 11.5, '#17462a');
    doc.text(sentence, this.left + 14, y + 8, { width: this.width - 24 });
    doc.y = y + h + 10;

    this.headline();
    this.chart();
    this.pareto();
  }

  /** The headline figures in large type, each with its change against the previous period and a year earlier, and its target. */
  private headline(): void {
    const { doc, r, w } = this;
    const t = r.totals;
    const prev = r.previous?.figures;
    const year = r.year_before?.figures;
    type Better = 'up' | 'down' | undefined;
    type Tile = { label: string; value: string; lines: Cell[] };
    const shareChange = (now: number | undefined, before: number | undefined, better: Better, key: 'headline.vsPrevious' | 'headline.vsYear'): Cell | undefined =>
      now === undefined || before === undefined ? undefined : { text: w.t(key, { change: w.points(now - before) }), color: colorOf(now - before, better, 0.0005) };
    const relChange = (now: number | undefined, before: number | undefined, better: Better, key: 'headline.vsPrevious' | 'headline.vsYear'): Cell | undefined =>
      now === undefined || before === undefined || before === 0 ? undefined : { text: w.t(key, { change: w.change(now / before - 1) }), color: colorOf(now / before - 1, better, 0.0005) };
    const target = (actual: number | undefined, tg: ReportJson['targets']['yield'], better: Better): Cell | undefined => {
      if (tg === undefined) return undefined;
      const met = better === 'up' ? tg.actual >= tg.target : tg.actual <= tg.target;
      const text = tg.share_of_parts < 0.999 ? w.t('headline.targetPart', { value: w.share(tg.target), share: w.share(tg.share_of_parts, 0) }) : w.t('headline.target', { value: w.share(tg.target) });
      return { text, color: actual === undefined ? MUTED : met ? GOOD : BAD };
    };
    const cells = (...c: (Cell | undefined)[]) => c.filter((x): x is Cell => x !== undefined);
    const share = (m: 'yield' | 'scrap_rate' | 'material_efficiency', better: Better, tg?: ReportJson['targets']['yield']): Tile => ({
      label: `${w.t(`m.${m}`)}`,
      value: w.share(t[m]),
      lines: cells(shareChange(t[m], prev?.[m], better, 'headline.vsPrevious'), shareChange(t[m], year?.[m], better, 'headline.vsYear'), target(t[m], tg, better)),
    });
    const amount = (m: 'parts_total' | 'material_loss_kg' | 'loss_co2e_kg', unit: string, better: Better): Tile => ({
      label: unit === '' ? w.t(`m.${m}`) : `${w.t(`m.${m}`)} (${unit})`,
      value: m === 'parts_total' ? w.number(t[m]) : w.kg(t[m]),
      lines: cells(relChange(t[m], prev?.[m], better, 'headline.vsPrevious'), relChange(t[m], year?.[m], better, 'headline.vsYear')),
    });
    const currencies = Object.keys(t.loss_cost ?? {});
    const cur = currencies[0];
    const cost: Tile = {
      label: w.t('m.loss_cost'),
      value: currencies.length === 0 ? '–' : currencies.map((c) => w.money(t.loss_cost![c], c)).join(' + '),
      lines:
        currencies.length === 1 && cur !== undefined
          ? cells(relChange(t.loss_cost?.[cur], prev?.loss_cost?.[cur], 'down', 'headline.vsPrevious'), relChange(t.loss_cost?.[cur], year?.loss_cost?.[cur], 'down', 'headline.vsYear'))
          : [],
    };
    const crm = Object.entries(t.crm_loss_kg ?? {});
    // No critical raw material lost is "none" only where a loss was worked out at all.
    const crmTile: Tile = {
      label: `${w.t('title.crm')} (kg)`,
      value: crm.length > 0 ? crm.map(([el, v]) => `${el} ${w.kg(v)}`).join('  ') : t.material_loss_kg === undefined ? '–' : w.t('word.none'),
      lines:
        crm.length === 0
          ? t.material_loss_kg === undefined
            ? []
            : [{ text: w.t('headline.crmNone'), color: MUTED }]
          : crm.length === 1
            ? cells(relChange(crm[0]![1], prev?.crm_loss_kg?.[crm[0]![0]], 'down', 'headline.vsPrevious'), relChange(crm[0]![1], year?.crm_loss_kg?.[crm[0]![0]], 'down', 'headline.vsYear'))
            : [],
    };
    const tiles: Tile[] = [
      amount('parts_total', '', undefined),
      share('yield', 'up', r.targets.yield),
      share('scrap_rate', 'down', r.targets.scrap_rate),
      share('material_efficiency', 'up'),
      amount('material_loss_kg', 'kg', 'down'),
      cost,
      amount('loss_co2e_kg', 'kg CO2e', 'down'),
      crmTile,
    ];
    const gap = 8;
    const perRow = 4;
    const tw = (this.width - gap * (perRow - 1)) / perRow;
    const th = 74;
    this.ensure(2 * th + gap + 20);
    this.font(true, 10.5);
    doc.text(pdfText(w.t('title.headline')), this.left, doc.y, { width: this.width });
    doc.moveDown(0.3);
    const y0 = doc.y;
    tiles.forEach((tile, i) => {
      const x = this.left + (i % perRow) * (tw + gap);
      const y = y0 + Math.floor(i / perRow) * (th + gap);
      doc.roundedRect(x, y, tw, th, 3).lineWidth(0.6).strokeColor(RULE).stroke();
      doc.text(this.fit(tile.label, tw - 12, false, 7.5, 6.5, MUTED), x + 6, y + 7, { lineBreak: false });
      // The value as large as fits.
      doc.text(this.fit(tile.value, tw - 12, true, 17, 9), x + 6, y + 22, { lineBreak: false });
      tile.lines.slice(0, 3).forEach((c, k) => {
        doc.text(this.fit(c.text, tw - 12, false, 6.8, 5.8, c.color ?? MUTED), x + 6, y + 44 + k * 9, { lineBreak: false });
      });
    });
    doc.x = this.left;
    doc.y = y0 + 2 * th + gap + 8;
  }

  /** Yield and scrap rate over the period's steps, each in its own panel; a step without data breaks the line. */
  private chart(): void {
    const { doc, r, w } = this;
    const step = r.series.step;
    const panelH = 62;
    const axisW = 40;
    const height = 2 * panelH + 44;
    this.ensure(height + 24);
    this.font(true, 10.5);
    const titleY = doc.y;
    doc.text(pdfText(w.t('title.chart', { step: w.t(`step.${step}`) })), this.left, titleY, { width: this.width });
    doc.y = titleY + 18;
    const points = r.series.points;
    if (points.length === 0) {
      this.para(w.t('chart.noData'), { color: MUTED });
      return;
    }
    // The legend, right-aligned on the title's line.
    this.legend(titleY + 2);
    doc.y = titleY + 18;
    const x0 = this.left + axisW;
    const cw = this.width - axisW - 4;
    const span = r.period.end - r.period.start;
    const xOf = (t: number) => x0 + ((t - r.period.start) / span) * cw;
    const top = doc.y;
    let broken = false;
    const panels: { key: 'yield' | 'scrap_rate'; color: string; target?: number | undefined }[] = [
      { key: 'yield', color: YIELD, target: r.targets.yield?.target },
      { key: 'scrap_rate', color: SCRAP, target: r.targets.scrap_rate?.target },
    ];
    panels.forEach((panel, k) => {
      const y0 = top + k * (panelH + 10);
      const values = points.map((p) => p.figures[panel.key]).filter((v): v is number => v !== undefined);
      const [lo, hi, ticks] = niceRange([...values, ...(panel.target !== undefined ? [panel.target] : [])], panel.key === 'yield');
      const yOf = (v: number) => y0 + panelH - ((v - lo) / (hi - lo)) * panelH;
      // Grid and axis labels.
      doc.lineWidth(0.4).strokeColor('#e3e7eb');
      for (const tv of ticks) {
        doc.moveTo(x0, yOf(tv)).lineTo(x0 + cw, yOf(tv)).stroke();
        this.font(false, 6.5, MUTED);
        doc.text(pdfText(w.share(tv, tickDigits(ticks))), this.left, yOf(tv) - 3, { width: axisW - 4, align: 'right', lineBreak: false });
      }
      doc.rect(x0, y0, cw, panelH).lineWidth(0.5).strokeColor(RULE).stroke();
      this.font(true, 7, panel.color);
      doc.text(pdfText(w.t(`m.${panel.key}`)), x0 + 4, y0 + 3, { lineBreak: false });
      if (panel.target !== undefined) {
        doc.save().dash(3, { space: 2 }).lineWidth(0.8).strokeColor(MUTED);
        doc.moveTo(x0, yOf(panel.target)).lineTo(x0 + cw, yOf(panel.target)).stroke();
        doc.undash().restore();
      }
      // The line, broken where a step has no data (a gap is not a zero).
      doc.lineWidth(1.3).strokeColor(panel.color).fillColor(panel.color);
      let run: [number, number][] = [];
      const flush = () => {
        if (run.length === 1) doc.circle(run[0]![0], run[0]![1], 1.4).fill(panel.color);
        else if (run.length > 1) {
          doc.moveTo(run[0]![0], run[0]![1]);
          for (const [x, y] of run.slice(1)) doc.lineTo(x, y);
          doc.stroke();
        }
        run = [];
      };
      points.forEach((p, i) => {
        const v = p.figures[panel.key];
        const prevEnd = i === 0 ? r.period.start : points[i - 1]!.end;
        if (v === undefined || p.start > prevEnd) {
          if (i > 0 || p.start > r.period.start) broken = true;
          flush();
        }
        if (v !== undefined) run.push([xOf((Math.max(p.start, r.period.start) + Math.min(p.end, r.period.end)) / 2), yOf(v)]);
      });
      flush();
    });
    // Data that stops before the period (or, in a running period, now) does is a gap at the end.
    if (points.at(-1)!.end < Math.min(r.period.end, r.generated_at)) broken = true;
    // The time axis under the lower panel.
    const axisY = top + 2 * panelH + 10 + 3;
    this.font(false, 6.5, MUTED);
    const ticks = timeTicks(r, w);
    const every = Math.max(1, Math.ceil(ticks.length / 10));
    ticks.forEach((tk, i) => {
      if (i % every !== 0) return;
      const x = xOf(tk.t);
      doc.moveTo(x, axisY - 3).lineTo(x, axisY - 1).lineWidth(0.4).strokeColor(MUTED).stroke();
      doc.text(pdfText(tk.label), x - 30, axisY, { width: 60, align: 'center', lineBreak: false });
    });
    doc.x = this.left;
    doc.y = axisY + 12;
    if (broken) this.para(w.t('chart.gaps', { step: w.t(`step.${step}`) }), { size: 7.5, color: MUTED });
  }

  private legend(y: number): void {
    const { doc, w } = this;
    const items: [string, string, boolean][] = [
      [w.t('m.yield'), YIELD, false],
      [w.t('m.scrap_rate'), SCRAP, false],
      [w.t('col.target'), MUTED, true],
    ];
    this.font(false, 7.5, MUTED);
    let x = this.left + this.width;
    for (const [label, color, dashed] of [...items].reverse()) {
      const tw = doc.widthOfString(pdfText(label));
      x -= tw;
      doc.fillColor(INK).text(pdfText(label), x, y, { lineBreak: false });
      x -= 18;
      doc.save();
      if (dashed) doc.dash(3, { space: 2 });
      doc.moveTo(x, y + 4).lineTo(x + 14, y + 4).lineWidth(1.3).strokeColor(color).stroke();
      doc.undash().restore();
      x -= 12;
    }
  }

  /** Scrap by reason, largest first, as horizontal bars with each reason's share and the cumulative share (a Pareto). */
  private pareto(): void {
    const { doc, r, w } = this;
    const reasons = r.by_reason;
    const byParts = reasons.some((x) => (x.parts_scrap ?? 0) > 0);
    const valueOf = (x: (typeof reasons)[number]) => (byParts ? (x.parts_scrap ?? 0) : (x.scrap_kg ?? 0));
    const sorted = [...reasons].filter((x) => valueOf(x) > 0).sort((a, b) => valueOf(b) - valueOf(a));
    const total = sorted.reduce((a, x) => a + valueOf(x), 0);
    const bars: { label: string; value: number }[] = sorted.slice(0, PARETO_BARS).map((x) => ({ label: w.reason(x.key, x.label), value: valueOf(x) }));
    const rest = sorted.slice(PARETO_BARS).reduce((a, x) => a + valueOf(x), 0);
    if (rest > 0) bars.push({ label: `${w.t('word.other')} (${sorted.length - PARETO_BARS})`, value: rest });
    const barH = 11;
    const rowH = 15;
    this.ensure(24 + Math.max(1, bars.length) * rowH);
    this.font(true, 10.5);
    doc.text(pdfText(total === 0 ? w.t('title.pareto') : `${w.t('title.pareto')} (${byParts ? w.t('unit.parts') : 'kg'})`), this.left, doc.y, { width: this.width });
    doc.moveDown(0.3);
    if (total === 0) {
      this.para(w.t('pareto.none'), { color: MUTED });
      return;
    }
    const labelW = 150;
    const valueW = 150;
    const barX = this.left + labelW + 6;
    const barW = this.width - labelW - valueW - 12;
    const max = bars[0]!.value;
    let cumulative = 0;
    const y0 = doc.y;
    bars.forEach((b, i) => {
      const y = y0 + i * rowH;
      cumulative += b.value;
      doc.text(this.fit(b.label, labelW, false, 8, 7), this.left, y + 1.5, { lineBreak: false });
      doc.rect(barX, y, Math.max(1, (b.value / max) * barW), barH).fill(BAR);
      this.font(false, 8);
      const text = `${byParts ? w.number(b.value) : w.kg(b.value)}  (${w.share(b.value / total)})`;
      doc.text(pdfText(text), barX + barW + 6, y + 1.5, { width: 80, lineBreak: false });
      this.font(false, 7, MUTED);
      doc.text(pdfText(w.t('pareto.cumulative', { value: w.share(cumulative / total) })), barX + barW + 86, y + 2, { width: valueW - 80, lineBreak: false });
    });
    doc.x = this.left;
    doc.y = y0 + bars.length * rowH + 4;
  }

  // ---- The machines ----

  machines(): void {
    const { r, w } = this;
    this.newPage();
    this.heading('title.machines');
    const loss = (row: ReportJson['by_machine'][number]) => row.figures.material_loss_kg ?? row.figures.scrap_kg ?? -1;
    const sorted = [...r.by_machine].sort((a, b) => loss(b) - loss(a) || (b.figures.parts_scrap ?? 0) - (a.figures.parts_scrap ?? 0) || (a.key < b.key ? -1 : 1));
    const shown = sorted.length > PDF_MACHINE_ROWS ? sorted.slice(0, PDF_MACHINE_ROWS) : sorted;
    const names = new Map<string, number>();
    for (const m of r.by_machine) names.set(m.name ?? m.key, (names.get(m.name ?? m.key) ?? 0) + 1);
    const nameOf = (m: ReportJson['by_machine'][number]) => ((names.get(m.name ?? m.key) ?? 0) > 1 ? m.key : (m.name ?? m.key));
    const currencies = [...new Set(r.by_machine.flatMap((m) => Object.keys(m.figures.loss_cost ?? {})))].sort();
    const cols: Column[] = [
      { header: w.t('col.machine'), width: 2.2 },
      { header: w.t('m.parts_total'), width: 1.1, align: 'right' },
      { header: `${w.t('m.yield')} (%)`, width: 1.2, align: 'right' },
      { header: `${w.t('short.scrap_rate')} (%)`, width: 1, align: 'right' },
      { header: `${w.t('m.scrap_kg')} (kg)`, width: 1.1, align: 'right' },
      { header: `${w.t('m.material_loss_kg')} (kg)`, width: 1.5, align: 'right' },
      ...currencies.map((c): Column => ({ header: `${w.t('m.loss_cost')} (${c})`, width: 1.3, align: 'right' })),
      { header: `${w.t('short.co2e')} (kg)`, width: 1.2, align: 'right' },
      { header: `${w.t('m.coverage')} (%)`, width: 1.1, align: 'right' },
    ];
    const targetCell = (v: number | undefined, tg: number | undefined, better: 'up' | 'down'): Cell => ({
      text: w.share(v),
      color: v === undefined || tg === undefined ? INK : (better === 'up' ? v >= tg : v <= tg) ? INK : BAD,
    });
    const rows: Row[] = shown.map((m) => {
      const f = m.figures;
      return {
        cells: [
          nameOf(m),
          w.number(f.parts_total),
          targetCell(f.yield, m.targets?.yield, 'up'),
          targetCell(f.scrap_rate, m.targets?.scrap_rate, 'down'),
          w.kg(f.scrap_kg),
          w.kg(f.material_loss_kg),
          ...currencies.map((c) => w.number(f.loss_cost?.[c])),
          w.kg(f.loss_co2e_kg),
          { text: w.share(f.coverage), color: f.coverage !== undefined && f.coverage < 1 ? NOTE : INK },
        ],
      };
    });
    const t = r.totals;
    rows.push({
      bold: true,
      cells: [w.t('word.total'), w.number(t.parts_total), w.share(t.yield), w.share(t.scrap_rate), w.kg(t.scrap_kg), w.kg(t.material_loss_kg), ...currencies.map((c) => w.number(t.loss_cost?.[c])), w.kg(t.loss_co2e_kg), w.share(t.coverage)],
    });
    this.table(cols, rows);
    if (sorted.length > shown.length) this.para(w.t('machines.more', { shown: shown.length, count: sorted.length - shown.length }), { color: MUTED });
  }

  // ---- ESRS E5 ----

  esrs(): void {
    const { r, w } = this;
    const e4 = r.esrs.e5_4;
    const estimate = ` (${w.t('word.estimate')})`;
    const none = `(${w.t('word.none')})`;
    this.heading('title.e54', undefined, e4.estimate ? estimate : '');
    this.table(
      [
        { header: w.t('col.material'), width: 2.4 },
        { header: w.t('col.basis'), width: 1.3 },
        { header: `${w.t('m.kg')} (kg)`, width: 1.4, align: 'right' },
        { header: `${w.t('m.recycled_content_share')} (%)`, width: 1.4, align: 'right' },
        { header: `${w.t('m.secondary_kg')} (kg)`, width: 1.8, align: 'right' },
      ],
      [
        ...e4.rows.map((row) => ({
          cells: [row.material || none, row.measured ? w.t('word.weighed') : { text: w.t('word.estimate'), color: NOTE }, w.kg(row.kg), w.share(row.recycled_content_share), w.kg(row.secondary_kg)],
        })),
        { bold: true, cells: [w.t('word.total'), e4.estimate ? { text: w.t('word.estimate'), color: NOTE } : w.t('word.weighed'), w.kg(e4.total_kg), w.share(e4.secondary_share), w.kg(e4.secondary_kg)] },
      ],
    );
    if (e4.estimate) this.para(w.t('e54.estimate'), { size: 8, color: NOTE });
    const missing = e4.rows.filter((row) => row.recycled_content_share === undefined && row.kg > 0).map((row) => row.material || none);
    if (missing.length > 0) this.para(w.t('e54.noShare', { materials: w.list(missing) }), { size: 8, color: MUTED });

    const e5 = r.esrs.e5_5;
    this.heading('title.e55', undefined, e5.estimate ? estimate : '');
    const kg = (v: number | undefined) => w.kg(v);
    const rows: Row[] = [
      { bold: true, cells: [w.t('e55.total_kg'), kg(e5.total_kg), ''] },
      { cells: [w.t('e55.diverted'), '', ''] },
      { indent: 1, cells: [w.t('e55.preparation_for_reuse_kg'), kg(e5.diverted.preparation_for_reuse_kg), ''] },
      { indent: 1, cells: [w.t('e55.recycling_kg'), kg(e5.diverted.recycling_kg), ''] },
      { indent: 1, cells: [w.t('e55.other_recovery_kg'), kg(e5.diverted.other_recovery_kg), ''] },
      { indent: 1, bold: true, cells: [w.t('e55.diverted_kg'), kg(e5.diverted.total_kg), ''] },
      { cells: [w.t('e55.directed'), '', ''] },
      { indent: 1, cells: [w.t('e55.incineration_kg'), kg(e5.directed.incineration_kg), ''] },
      { indent: 1, cells: [w.t('e55.landfill_kg'), kg(e5.directed.landfill_kg), ''] },
      { indent: 1, cells: [w.t('e55.other_disposal_kg'), kg(e5.directed.other_disposal_kg), ''] },
      { indent: 1, bold: true, cells: [w.t('e55.directed_kg'), kg(e5.directed.total_kg), ''] },
      { cells: [w.t('e55.unassigned_kg'), kg(e5.unassigned_kg), ''] },
      { cells: [w.t('e55.hazardous_kg'), kg(e5.hazardous_kg), ''] },
      { cells: [w.t('e55.non_hazardous_kg'), kg(e5.non_hazardous_kg), ''] },
      { cells: [w.t('e55.non_recycled_kg'), kg(e5.non_recycled_kg), w.share(e5.non_recycled_share)] },
    ];
    this.table(
      [
        { header: w.t('col.item'), width: 4 },
        { header: `${w.t('e55.total_kg')} (kg)${e5.estimate ? estimate : ''}`, width: 1.6, align: 'right' },
        { header: `${w.t('e55.non_recycled_share')} (%)`, width: 1.6, align: 'right' },
      ],
      rows,
    );
    if (e5.estimate) this.para(w.t('e55.estimate'), { size: 8, color: NOTE });
    if (e5.other_loss_kg !== undefined && e5.other_loss_kg !== 0) this.para(`${w.t('e55.other_loss_kg')}: ${w.kg(e5.other_loss_kg)} kg`, { size: 8, color: MUTED });
  }

  // ---- Data quality ----

  quality(): void {
    const { r, w } = this;
    const dq = r.data_quality;
    const zone = r.time_zone;
    this.heading('title.quality');
    if (dq.partial_period) this.para(w.t('quality.partial', { time: w.dateTime(r.generated_at) }), { bold: true, color: NOTE });
    if (dq.coverage !== undefined) this.para(dq.coverage < 1 ? w.t('quality.coverage', { coverage: w.share(dq.coverage) }) : w.t('quality.full'), dq.coverage < 1 ? { color: NOTE } : {});
    this.para(w.t('quality.resolution', { resolution: w.duration(dq.resolution_ms) }), { size: 8, color: MUTED });

    const mass = (m: 'measured' | 'estimated' | 'none') => w.t(`mass.${m}`);
    const short = [...dq.machines].filter((m) => m.coverage < 1).sort((a, b) => a.coverage - b.coverage || (a.machine < b.machine ? -1 : 1));
    this.subheading(w.t('title.coverage'));
    if (short.length === 0) this.para(w.t('quality.allCovered'));
    else {
      this.table(
        [
          { header: w.t('col.machine'), width: 2.4 },
          { header: `${w.t('m.coverage')} (%)`, width: 1, align: 'right' },
          { header: w.t('m.missing'), width: 1.3, align: 'right' },
          { header: w.t('m.gaps'), width: 0.8, align: 'right' },
          { header: w.t('col.scrapMass'), width: 1.5 },
          { header: w.t('col.inputMass'), width: 1.3 },
        ],
        short.slice(0, PDF_QUALITY_ROWS).map((m) => ({ cells: [m.name, w.share(m.coverage), w.duration(m.missing_ms), w.number(m.gaps.length + m.more_gaps), mass(m.mass_basis.scrap_kg), mass(m.mass_basis.material_in_kg)] })),
      );
      if (short.length > PDF_QUALITY_ROWS) this.para(w.t('quality.moreMachines', { count: short.length - PDF_QUALITY_ROWS }), { size: 8, color: MUTED });
    }

    const gaps = dq.machines.flatMap((m) => m.gaps.map((g) => ({ m, g }))).sort((a, b) => a.g.start - b.g.start || (a.m.machine < b.m.machine ? -1 : 1));
    const unlisted = dq.machines.reduce((a, m) => a + m.more_gaps, 0);
    this.subheading(w.t('title.gaps', { zone }));
    if (gaps.length === 0) this.para(w.t('quality.noGaps'));
    else {
      this.table(
        [
          { header: w.t('col.machine'), width: 2.4 },
          { header: w.t('col.start', { zone }), width: 1.8 },
          { header: w.t('col.end', { zone }), width: 1.8 },
          { header: w.t('m.missing'), width: 1.2, align: 'right' },
        ],
        gaps.slice(0, PDF_GAP_ROWS).map(({ m, g }) => ({ cells: [m.name, w.dateTime(g.start), w.dateTime(g.end), w.duration(g.end - g.start)] })),
      );
      const more = gaps.length - Math.min(gaps.length, PDF_GAP_ROWS);
      if (more > 0) this.para(w.t('quality.moreGaps', { count: more }), { size: 8, color: MUTED });
      if (unlisted > 0) this.para(w.t('quality.notListed', { count: unlisted }), { size: 8, color: MUTED });
    }

    this.subheading(w.t('title.counts'));
    const counts = Object.entries(dq.counts);
    if (counts.every(([, v]) => v === 0)) this.para(w.t('quality.noCounts'));
    else {
      const half = Math.ceil(counts.length / 2);
      const rows: Row[] = [];
      for (let i = 0; i < half; i++) {
        const a = counts[i]!;
        const b = counts[i + half];
        rows.push({ cells: [w.t(`m.${a[0]}` as ReportWordKey), w.number(a[1]), b === undefined ? '' : w.t(`m.${b[0]}` as ReportWordKey), b === undefined ? '' : w.number(b[1])] });
      }
      this.table(
        [
          { header: w.t('col.item'), width: 2.5 },
          { header: w.t('col.count'), width: 0.8, align: 'right' },
          { header: w.t('col.item'), width: 2.5 },
          { header: w.t('col.count'), width: 0.8, align: 'right' },
        ],
        rows,
      );
    }

    this.subheading(w.t('title.entries'));
    if (dq.entries_truncated) this.para(w.t('quality.entriesTruncated', { count: w.number(MAX_ENTRIES) }), { color: NOTE });
    if (!dq.entries_available) this.para(w.t('quality.entriesUnavailable'));
    else if (dq.entries.length === 0) this.para(w.t('quality.noEntries'));
    else {
      const nameOf = new Map(dq.machines.map((m) => [m.machine, m.name]));
      const labels = new Map(r.by_reason.map((x) => [x.key, x.label]));
      this.table(
        [
          { header: w.t('col.time', { zone }), width: 1.6 },
          { header: w.t('col.machine'), width: 1.6 },
          { header: w.t('col.parts'), width: 0.7, align: 'right' },
          { header: 'kg', width: 0.7, align: 'right' },
          { header: w.t('col.reason'), width: 1.5 },
          { header: w.t('col.by'), width: 1.5 },
          { header: w.t('col.event'), width: 2.6 },
        ],
        dq.entries.slice(0, PDF_ENTRY_ROWS).map((e) => ({
          cells: [
            w.dateTime(e.time),
            nameOf.get(e.machine) ?? e.machine,
            e.parts === undefined ? '' : w.number(e.parts),
            e.kg === undefined ? '' : w.kg(e.kg),
            e.reason === undefined ? '' : w.reason(e.reason, labels.get(e.reason)),
            `${e.by}\n${w.dateTime(e.at)}`,
            { text: [w.t(`event.${e.event}`), e.why, e.comment].filter((x) => x !== undefined && x !== '').join(': '), color: e.deleted ? MUTED : INK },
          ],
        })),
      );
      if (dq.entries.length > PDF_ENTRY_ROWS) this.para(w.t('quality.moreEntries', { count: dq.entries.length - PDF_ENTRY_ROWS }), { size: 8, color: MUTED });
    }
  }

  // ---- Method and factors ----

  method(): void {
    const { r, w } = this;
    this.heading('title.method');
    this.para(w.t('method.text', { method: r.method }));
    const o = r.opportunity;
    const basis = w.t(o.basis === 'shift' ? 'opp.basis.shift' : 'opp.basis.day');
    this.para(w.t('opp.explain', { basis, min: w.number(o.min_parts), days: w.number(o.lookback_ms / 86_400_000) }));
    this.table(
      [
        { header: w.t('title.metadata'), width: 2 },
        { header: '', width: 5 },
      ],
      [
        [w.t('meta.method'), r.method],
        [w.t('meta.configHash'), r.config_hash],
        [w.t('meta.library'), r.material_library_version ?? w.t('meta.notStated')],
        [w.t('meta.source'), w.t(r.source === 'store' ? 'source.store' : 'source.influxdb')],
        [w.t('meta.agent'), r.agent ?? w.t('meta.notStated')],
        [w.t('meta.generated'), `${w.dateTime(r.generated_at)} (${r.time_zone})`],
      ].map((cells) => ({ cells })),
    );
    this.para(w.t('method.hash'), { size: 8, color: MUTED });

    this.subheading(w.t('title.factors'));
    if (r.factors.length === 0) {
      this.para(w.t('word.none'));
      return;
    }
    this.table(
      [
        { header: w.t('col.material'), width: 1.3 },
        { header: `${w.t('col.price')} / ${w.t('col.scrapValue')} (${w.t('unit.perKg', { currency: w.t('col.currency') })})`, width: 1.4, align: 'right' },
        { header: `${w.t('col.co2eFactor')} (${w.t('unit.co2ePerKg')})`, width: 1.2, align: 'right' },
        { header: `${w.t('col.source')} (${w.t('col.year')}); ${w.t('col.boundary')}`, width: 3 },
        { header: `${w.t('col.crmContent')} (${w.t('unit.kgPerKg')})`, width: 1.2 },
        { header: `${w.t('col.recycled')} (%)`, width: 1, align: 'right' },
        { header: w.t('col.scrapDestination'), width: 1.6 },
      ],
      r.factors.map((f) => ({
        cells: [
          f.material,
          `${f.price_per_kg === null ? '–' : w.money(f.price_per_kg, f.currency)} / ${w.money(f.scrap_value_per_kg, f.currency)}`,
          f.co2e_per_kg === null ? { text: w.t('word.noFactor'), color: BAD } : w.number(f.co2e_per_kg.value, 3),
          f.co2e_per_kg === null ? '' : `${f.co2e_per_kg.source} (${f.co2e_per_kg.year})${f.co2e_per_kg.boundary !== null ? `; ${f.co2e_per_kg.boundary}` : ''}`,
          Object.keys(f.crm).length === 0 ? w.t('word.none') : Object.entries(f.crm).map(([el, v]) => `${el} ${w.number(v, 4)}`).join(', '),
          w.share(f.recycled_content_share ?? undefined),
          `${w.destination(f.scrap_destination)}${f.hazardous ? `; ${w.t('col.hazardous').toLowerCase()}` : ''}`,
        ],
      })),
      7.5,
    );
  }

  // ---- Header and footer of every page ----

  pageFurniture(): void {
    const { doc, r, w } = this;
    const range = doc.bufferedPageRange();
    const left = pdfText(w.t('footer.left', { time: w.dateTime(r.generated_at), zone: r.time_zone, method: r.method }));
    const running = pdfText([w.t('report.title'), r.site ?? undefined, r.period.label].filter((x) => x !== undefined).join('  ·  '));
    for (let i = range.start; i < range.start + range.count; i++) {
      doc.switchToPage(i);
      // Writing in the margins must not start a new page.
      const margins = doc.page.margins;
      doc.page.margins = { ...margins, top: 0, bottom: 0 };
      const y = doc.page.height - MARGIN_BOTTOM + 22;
      doc.moveTo(this.left, y - 6).lineTo(this.left + this.width, y - 6).lineWidth(0.5).strokeColor(RULE).stroke();
      this.font(false, 7.5, MUTED);
      doc.text(left, this.left, y, { width: this.width * 0.75, lineBreak: false });
      doc.text(pdfText(w.t('footer.page', { page: i - range.start + 1, pages: range.count })), this.left + this.width * 0.75, y, { width: this.width * 0.25, align: 'right', lineBreak: false });
      if (i > range.start) doc.text(running, this.left, MARGIN_TOP - 24, { width: this.width, lineBreak: false });
      doc.page.margins = margins;
    }
  }
}

/** Green when a change goes the better way, red when the worse, grey when neither is better or it rounds to nothing as shown. */
function colorOf(delta: number, better: 'up' | 'down' | undefined, shown: number): string {
  if (better === undefined || Math.abs(delta) < shown) return MUTED;
  return (delta > 0) === (better === 'up') ? GOOD : BAD;
}

/** A range for shares with round ticks: at least 1 percentage point high, within 0..1. */
export function niceRange(values: readonly number[], fromTop: boolean): [lo: number, hi: number, ticks: number[]] {
  if (values.length === 0) return [0, 1, [0, 0.5, 1]];
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  const span = Math.max(hi - lo, 0.01);
  lo = Math.max(0, lo - span * 0.1);
  hi = Math.min(1, hi + span * 0.1);
  if (!fromTop) lo = 0;
  const raw = (hi - lo) / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  lo = Math.floor(lo / step + 1e-9) * step;
  hi = Math.ceil(hi / step - 1e-9) * step;
  if (hi - lo < 1e-9) hi = lo + step;
  const ticks: number[] = [];
  for (let v = lo; v <= hi + step / 2; v += step) ticks.push(Math.round(v * 1e9) / 1e9);
  return [lo, hi, ticks];
}

/** Decimals the tick labels need (0.5 % steps need one). */
function tickDigits(ticks: readonly number[]): number {
  const step = ticks.length > 1 ? ticks[1]! - ticks[0]! : 1;
  const pct = step * 100;
  return Math.abs(pct - Math.round(pct)) < 1e-6 ? 0 : 1;
}

/** The starts of the chart's steps over the whole period, labelled for the axis (days: "3 Oct"; hours: "06:00"). */
function timeTicks(r: ReportJson, w: ReportWords): { t: number; label: string }[] {
  const step = r.series.step;
  const out: { t: number; label: string }[] = [];
  const fmt =
    step === 'hour'
      ? new Intl.DateTimeFormat(w.locale, { timeZone: r.time_zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })
      : step === 'month'
        ? new Intl.DateTimeFormat(w.locale, { timeZone: r.time_zone, month: 'short' })
        : new Intl.DateTimeFormat(w.locale, { timeZone: r.time_zone, day: 'numeric', month: 'short' });
  for (let t = r.period.start, n = 0; t < r.period.end && n < 400; n++) {
    const span = periodOf(step, r.time_zone, t);
    if (span === undefined) break;
    out.push({ t: Math.max(span.start, r.period.start), label: step === 'week' ? span.label.slice(5) : fmt.format(Math.max(span.start, r.period.start)) });
    t = span.end;
  }
  return out;
}
