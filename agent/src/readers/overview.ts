import type { AlertJson, MachineInfo, OverviewItemJson, OverviewJson, OverviewPeriodJson, RollupQuery, RollupRowJson, WindowJson } from '../api/contract.js';
import type { Config } from '../config/schema.js';
import { siteCalendars } from '../config/site-calendars.js';
import { addPartial, emptySums, HOUR_MS, type PartialSums } from '../kpi/partials.js';
import { periodOf } from '../kpi/periods.js';
import { shiftFinder } from '../kpi/shifts.js';

/** Hours the overview's sparkline covers, the current one included. */
export const RECENT_HOURS = 12;

/** What the overview needs of a backend. */
export interface OverviewSource {
  machines(): Promise<readonly MachineInfo[]>;
  rollup(q: RollupQuery): Promise<RollupRowJson[]>;
  /** The sums of every machine over whole hours (the hours' own sums where the backend keeps them, else the windows). */
  hourSums(from: number, to: number): Promise<Iterable<PartialSums>>;
  /** The newest window of each machine. */
  lastWindows(machines: readonly string[]): Promise<Map<string, WindowJson>>;
  openAlerts(): Promise<AlertJson[]>;
}

/** A rollup row's KPIs: every number but the period's bounds and counts. */
function kpisOf(row: RollupRowJson | undefined): Pick<OverviewPeriodJson, 'kpis' | 'coverage'> {
  if (row === undefined) return {};
  const kpis: Record<string, number> = {};
  for (const [k, v] of Object.entries(row)) if (typeof v === 'number' && !['period_start', 'period_end', 'windows', 'coverage'].includes(k)) kpis[k] = v;
  return { kpis, ...(row.coverage !== undefined ? { coverage: row.coverage } : {}) };
}

/** A ratio of an hour's sums: numerator over denominator, summed over the windows that have it; null without. */
const ratio = (name: string) => (h: PartialSums | undefined): number | null => {
  const r = h?.ratios[name];
  return r !== undefined && r[1] !== 0 ? r[0] / r[1] : null;
};

/** Each machine's sums per hour from `start`, `hours` of them (undefined where it has none): components summed, as a chart's buckets. */
function hourlyOf(parts: Iterable<PartialSums>, start: number, hours: number): Map<string, (PartialSums | undefined)[]> {
  const out = new Map<string, (PartialSums | undefined)[]>();
  for (const p of parts) {
    const i = Math.floor((p.start - start) / HOUR_MS);
    if (i < 0 || i >= hours) continue;
    let row = out.get(p.machine);
    if (row === undefined) out.set(p.machine, (row = new Array<PartialSums | undefined>(hours).fill(undefined)));
    const h = (row[i] ??= emptySums(p.machine, start + i * HOUR_MS, start + (i + 1) * HOUR_MS, undefined, undefined));
    addPartial(h, p, 1);
  }
  return out;
}

function byMachine(rows: readonly RollupRowJson[]): Map<string, RollupRowJson> {
  return new Map(rows.map((r) => [String(r.machine), r]));
}

/**
 * Where every machine stands now, for the overview, from any backend: its newest window, its
 * site's current shift and day so far (summed by the rollup) and its last hours hour by hour
 * (the hours' sums), ratios always from sums; its open alerts, and whether its data stopped. One
 * rollup per site and period, so 200 machines cost a few queries.
 */
export function overviewOf(cfg: Config, source: OverviewSource, now: () => number): () => Promise<OverviewJson> {
  const finders = new Map([...siteCalendars(cfg)].flatMap(([site, cal]) => (cal.versions.length > 0 ? [[site, shiftFinder(cal)] as const] : [])));
  return async () => {
    const t = now();
    const machines = await source.machines();
    const zones = Object.fromEntries([...new Set(machines.map((m) => m.site))].map((site) => [site, cfg.sites[site]?.timeZone ?? 'UTC']));
    const hourEnd = Math.floor(t / HOUR_MS) * HOUR_MS + HOUR_MS;
    const hourStart = hourEnd - RECENT_HOURS * HOUR_MS;
    const [recent, last, open] = await Promise.all([source.hourSums(hourStart, hourEnd), source.lastWindows(machines.map((m) => m.machine)), source.openAlerts()]);
    const hourly = hourlyOf(recent, hourStart, RECENT_HOURS);
    const hourTimes = Array.from({ length: RECENT_HOURS }, (_, i) => hourStart + i * HOUR_MS);
    const empty: null[] = hourTimes.map(() => null);
    const bySite = new Map<string, { day: OverviewPeriodJson; dayRows: Map<string, RollupRowJson>; shift: OverviewPeriodJson | null; shiftRows: Map<string, RollupRowJson> }>();
    await Promise.all(
      Object.entries(zones).map(async ([site, zone]) => {
        const d = periodOf('day', zone, t)!;
        const s = finders.get(site)?.(t);
        const inSite = (rows: RollupRowJson[]) => rows.filter((r) => String(r.machine).startsWith(`${site}/`));
        const [dayRows, shiftRows] = await Promise.all([
          source.rollup({ period: 'day', by: 'machine', from: d.start, to: d.end }).then(inSite),
          s === undefined ? [] : source.rollup({ period: 'shift', by: 'machine', from: s.start, to: s.start + 1 }).then(inSite),
        ]);
        bySite.set(site, {
          day: { period: d.label, period_start: d.start, period_end: d.end },
          dayRows: byMachine(dayRows),
          shift: s === undefined ? null : { period: `${s.date} ${s.name}`, period_start: s.start, period_end: s.end },
          shiftRows: byMachine(shiftRows),
        });
      }),
    );
    const items = machines.map((m): OverviewItemJson => {
      const window = last.get(m.machine) ?? null;
      // Stale after two of the machine's own windows and the allowed lateness (the central view's agents may use other window sizes than its file says).
      const staleAfter = 2 * (window === null ? cfg.kpi.windowSize : window.window_end - window.window_start) + cfg.kpi.allowedLateness;
      const site = bySite.get(m.site)!;
      const hours = hourly.get(m.machine);
      return {
        ...m,
        window,
        stale: window === null || t - window.window_end > staleAfter,
        shift: site.shift === null ? null : { ...site.shift, ...kpisOf(site.shiftRows.get(m.machine)) },
        day: { ...site.day, ...kpisOf(site.dayRows.get(m.machine)) },
        recent: { t: hourTimes, yield: hours?.map(ratio('yield')) ?? empty, scrap_rate: hours?.map(ratio('scrap_rate')) ?? empty, parts_total: hours?.map((h) => h?.sums.parts_total ?? null) ?? empty },
        alerts: open.filter((a) => a.machine === m.machine),
      };
    });
    return { generated_at: t, time_zones: zones, items };
  };
}
