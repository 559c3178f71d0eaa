import type { FastifyPluginAsync } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { REPORT_FORMATS, REPORT_LANGUAGES, type ReportFormat, type ReportLanguage } from '../report-contract.js';

/** `GET /api/v1/reports`: a material-efficiency report of a period and a scope, in JSON, CSV, XLSX or PDF. */
export const reportRoutes: FastifyPluginAsync<ApiDeps> = async (app, deps) => {
  app.get<{ Querystring: { period: string; scope?: string; format?: ReportFormat; lang?: ReportLanguage; download?: string } }>(
    '/reports',
    {
      schema: {
        summary: 'A material-efficiency report: totals, comparisons, breakdowns, ESRS E5-4 and E5-5, the opportunity, data quality, method and factors',
        tags: ['reports'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          required: ['period'],
          properties: {
            period: { type: 'string', minLength: 1, maxLength: 64, description: 'In the site\'s time: 2026-11, 2026-W45, 2026-Q4, 2026, 2026-11-03, 2026-11-03/early (a shift), 2026-11-01..2026-11-15, yesterday, last-week, last-month, …' },
            scope: { type: 'string', minLength: 1, maxLength: 256, description: 'all (default), site:SITE, area:SITE/AREA, line:SITE/LINE or line:SITE/AREA/LINE (as the machine paths have it; a unique last level alone will do), machine:PATH, material:NAME, product:NAME, joined by commas' },
            format: { type: 'string', enum: [...REPORT_FORMATS], description: 'json (default): the report model; csv: one row per number; xlsx; pdf' },
            lang: { type: 'string', enum: [...REPORT_LANGUAGES], description: 'Language of the XLSX and PDF (default en)' },
            download: { type: 'string', enum: ['0', '1'], description: '1: served as an attachment (a file to save) rather than shown' },
          },
        },
      },
    },
    async (req, reply) => {
      if (deps.reports === undefined) return reply.code(404).send({ error: 'Not Found', message: 'reports are not available here', statusCode: 404 });
      const q = req.query;
      const format = q.format ?? 'json';
      let out;
      try {
        out = await deps.reports({ period: q.period, scope: q.scope, language: q.lang ?? 'en' }, format);
      } catch (err) {
        if ((err as { code?: string }).code === 'YW_ERR_REPORT_REQUEST') throw Object.assign(new Error((err as Error).message), { statusCode: 400 });
        if ((err as { code?: string }).code === 'YW_ERR_REPORT_BUSY') return reply.code(503).header('retry-after', '10').send({ error: 'Service Unavailable', message: (err as Error).message, statusCode: 503 });
        // Rethrown as it is, so its status stays: a central InfluxDB that does not answer is the
        // reader's 503 with the reason (readers/influxdb/query.ts), as on every other view.
        throw err;
      }
      const disposition = q.download === '1' || format === 'xlsx' || format === 'csv' ? 'attachment' : 'inline';
      reply.header('content-type', out.contentType).header('content-disposition', `${disposition}; filename="${out.filename}"`).header('cache-control', 'no-store');
      return reply.send(out.body);
    },
  );
};
