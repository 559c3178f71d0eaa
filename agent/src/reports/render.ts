import type { ReportFormat, ReportJson, ReportLanguage } from '../api/report-contract.js';

/** A report written in one format, ready to save, send or serve. */
export interface RenderedReport {
  body: Buffer;
  contentType: string;
  /** `yieldwatch-<scope>-<period>.<ext>`, safe as a file name on every system. */
  filename: string;
}

const CONTENT_TYPES: Record<ReportFormat, string> = {
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pdf: 'application/pdf',
};

/** A file name part with anything a file system or a header could choke on replaced. */
export const filePart = (s: string): string => s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+|_+$/g, '');

/** The file name of a report: scope and period. */
export function reportFilename(r: ReportJson, format: ReportFormat): string {
  return `yieldwatch-${filePart(r.scope.spec)}-${filePart(r.period.label)}.${format}`;
}

/**
 * Writes a report in a format. CSV, XLSX and PDF load their libraries on first use, so an
 * agent that never writes one never pays for them.
 */
export async function renderReport(r: ReportJson, format: ReportFormat, language: ReportLanguage): Promise<RenderedReport> {
  let body: Buffer;
  switch (format) {
    case 'json':
      body = Buffer.from(`${JSON.stringify(r, null, 2)}\n`);
      break;
    case 'csv': {
      const { reportCsv } = await import('./csv.js');
      body = Buffer.from(reportCsv(r));
      break;
    }
    case 'xlsx': {
      const { reportXlsx } = await import('./xlsx.js');
      body = await reportXlsx(r, language);
      break;
    }
    case 'pdf': {
      const { reportPdf } = await import('./pdf.js');
      body = await reportPdf(r, language);
      break;
    }
  }
  return { body, contentType: CONTENT_TYPES[format], filename: reportFilename(r, format) };
}
