import type { RollupQuery, RollupRowJson } from '../../api/contract.js';
import type { Config } from '../../config/schema.js';
import { siteCalendars } from '../../config/site-calendars.js';
import { decodeSums, onWholeHours, type PartialSums } from '../../kpi/partials.js';
import { windowSums } from '../../kpi/rollup.js';
import type { RollupLevel, Store } from '../../store/store.js';
import { readEnd, rollupJson, sumLevelsFor } from '../rollup.js';

function* storedSums(store: Store, level: RollupLevel, q: RollupQuery): Generator<PartialSums> {
  for (const s of store.iterateRollupSums(level, q.from, q.to, q.machine)) yield decodeSums(s);
}

/**
 * The store's rollup reader: the query summed in each site's time zone and shift calendar, from the
 * stored site shifts, days or hours when they give the same answer (31 days of 200 machines are
 * 6,200 days, about 13,000 shifts or 148,800 hours instead of 8.9 million windows) and the store
 * kept them since the query's start, else from the stored windows.
 */
export function rollupReader(store: Store, cfg: Config): (q: RollupQuery) => RollupRowJson[] {
  const calendars = siteCalendars(cfg);
  const machines = cfg.machines.map((m) => m.path);
  const sites = [...new Set(machines.map((m) => m.split('/')[0]!))];
  return (q) => {
    const levels = sumLevelsFor(q, cfg, calendars, sites);
    const level = (['day', 'shift', 'hour'] as const).find((l) => levels.has(l) && q.from >= store.rollupSumsFrom(l));
    const to = readEnd(q, calendars);
    const parts = level !== undefined ? storedSums(store, level, level === 'shift' ? q : { ...q, to }) : windowSums(store.iterateAggregateKpis({ machine: q.machine, from: q.from, to }));
    return rollupJson(parts, q, calendars, machines);
  };
}

/**
 * Every machine's sums over [from, to): the stored hour sums where they cover it exactly, and the
 * windows of the time before the store kept them (a store older than them).
 */
export function hourSumsOf(store: Store, cfg: Config): (from: number, to: number) => Iterable<PartialSums> {
  return (from, to) => {
    if (!onWholeHours(from, to, cfg.kpi.windowSize)) return windowSums(store.iterateAggregateKpis({ from, to }));
    // Kept from an hour's start on (a migration starts them at the next whole hour).
    const hoursFrom = Math.min(Math.max(from, store.rollupSumsFrom('hour')), to);
    return (function* () {
      if (from < hoursFrom) yield* windowSums(store.iterateAggregateKpis({ from, to: hoursFrom }));
      if (hoursFrom < to) yield* storedSums(store, 'hour', { period: 'hour', by: 'machine', from: hoursFrom, to });
    })();
  };
}

/** Every machine's sums over [from, to) in whole site days where that gives the same sums (from and to the sites' midnights, days kept since from), else as `hourSumsOf`. */
export function daySumsOf(store: Store, cfg: Config): (from: number, to: number) => Iterable<PartialSums> {
  const calendars = siteCalendars(cfg);
  const sites = [...new Set(cfg.machines.map((m) => m.path.split('/')[0]!))];
  const hours = hourSumsOf(store, cfg);
  return (from, to) => {
    const days = sumLevelsFor({ period: 'day', by: 'machine', from, to }, cfg, calendars, sites).has('day') && from >= store.rollupSumsFrom('day');
    return days ? storedSums(store, 'day', { period: 'day', by: 'machine', from, to }) : hours(from, to);
  };
}
