import { createHash } from 'node:crypto';
import type { ReportJson, ReportRequest } from '../api/report-contract.js';
import type { Config } from '../config/schema.js';
import { siteCalendars } from '../config/site-calendars.js';
import type { Clock } from '../core/clock.js';
import { YieldwatchError } from '../core/errors.js';
import { KPI_METHOD } from '../kpi/derive.js';
import { buildReport, type ReportMachine, type ReportSettings } from './model.js';
import { parsePeriod, type PeriodContext } from './period.js';
import { readReport, type ReportSources } from './read.js';
import { levelOf, parseScope } from './scope.js';

/** A report asked for with a period or scope that does not exist: the message says what is wrong, for a 400 or exit code 2. */
export class ReportRequestError extends YieldwatchError {
  constructor(message: string) {
    super('YW_ERR_REPORT_REQUEST', message);
  }
}

export interface ReportContext extends ReportSources {
  cfg: Config;
  clock: Clock;
  materialLibraryVersion?: string | undefined;
  agentId?: string | undefined;
}

/** JSON with object keys sorted, so that the same settings always hash the same. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** SHA-256 of the settings a report's numbers depend on: KPI windows, machines, products, materials and sites (no secrets). */
export function configHash(cfg: Config): string {
  const { kpi, machines, machineDefaults, products, materials, sites } = cfg;
  return createHash('sha256').update(canonical({ kpi, machines, machineDefaults, products, materials, sites })).digest('hex');
}

/** The sites a report's machines are in, and the site time its periods are told in. */
export interface ScopeSite {
  /** The sites of the machines, sorted. */
  sites: string[];
  /** The one site, when the machines are all in one. */
  site: string | undefined;
  /** Its time zone (UTC for a site that is not configured or for no machine), and its shift calendar when it is one site that has one. */
  ctx: PeriodContext;
}

/**
 * Where the machines of a scope are, in site time; a string when they are in sites of different
 * time zones, whose periods could not be told (what to name instead). A report and a report
 * schedule both ask this, so they always agree on a period's bounds.
 */
export function scopeSite(cfg: Config, machines: readonly string[]): ScopeSite | string {
  const sites = [...new Set(machines.map((m) => levelOf('site', m)))].sort();
  const zones = [...new Set(sites.map((site) => cfg.sites[site]?.timeZone ?? 'UTC'))];
  if (zones.length > 1) return `the scope spans sites in different time zones (${sites.join(', ')}); name one site, e.g. site:${sites[0]}`;
  const site = sites.length === 1 ? sites[0] : undefined;
  const calendar = site === undefined ? undefined : siteCalendars(cfg).get(site);
  return { sites, site, ctx: { timeZone: zones[0] ?? 'UTC', calendar: calendar !== undefined && calendar.versions.length > 0 ? calendar : undefined } };
}

/**
 * Makes the report model for a period and a scope as a user writes them. Throws a
 * ReportRequestError for a period or scope that does not exist. `progress` is told each step
 * (the CLI prints them on a long report).
 */
export async function makeReport(c: ReportContext, req: ReportRequest, progress?: (step: string) => void): Promise<ReportJson> {
  const cfg = c.cfg;
  const listed = await c.reader.machines();
  const machines = new Map<string, ReportMachine>(listed.map((m) => [m.machine, { machine: m.machine, name: m.name, targets: m.targets, signals: m.signals, material: m.material, product: m.product }]));
  const scope = parseScope(req.scope, { machines: [...machines.keys()], materials: Object.keys(cfg.materials), products: Object.keys(cfg.products) });
  if (typeof scope === 'string') throw new ReportRequestError(scope);

  const where = scopeSite(cfg, scope.machines);
  if (typeof where === 'string') throw new ReportRequestError(where);
  const { sites, site, ctx } = where;
  const calendars = siteCalendars(cfg);

  const now = c.clock.now();
  const period = parsePeriod(req.period, ctx, now);
  if (typeof period === 'string') throw new ReportRequestError(period);
  if (period.start >= now) throw new ReportRequestError(`${period.label} has not started yet`);

  const basis = sites.every((s) => (calendars.get(s)?.versions.length ?? 0) > 0) ? 'shift' : 'day';
  const opportunity = { basis, minParts: cfg.reports.opportunity.minParts, lookbackMs: cfg.reports.opportunity.lookback } as const;
  const data = await readReport(c, { period, scope, ctx, now, windowSize: cfg.kpi.windowSize, allowedLateness: cfg.kpi.allowedLateness, opportunity }, progress);

  const reasons: ReportSettings['reasons'] = Object.fromEntries(
    sites.flatMap((s) => Object.entries(cfg.sites[s]?.scrapReasons ?? {}).map(([code, r]) => [code, { label: { en: r.label.en, nl: r.label.nl ?? r.label.en }, group: r.group }])),
  );
  const settings: ReportSettings = {
    method: KPI_METHOD,
    configHash: configHash(cfg),
    materialLibraryVersion: c.materialLibraryVersion,
    source: c.reader.backend,
    agent: c.agentId,
    site,
    timeZone: ctx.timeZone,
    machines,
    materials: cfg.materials,
    reasons,
    opportunity,
  };
  progress?.('build');
  return buildReport(data, settings);
}
