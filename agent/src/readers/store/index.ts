import type { AlertDetailJson, MachineInfo, WindowJson } from '../../api/contract.js';
import type { KpiReader } from '../../api/reader.js';
import type { Config } from '../../config/schema.js';
import { aggregateToJson } from '../../core/aggregate.js';
import { alertToJson } from '../../core/alert.js';
import type { Clock } from '../../core/clock.js';
import { windowSums } from '../../kpi/rollup.js';
import type { Store } from '../../store/store.js';
import { overviewOf } from '../overview.js';
import { seriesJson } from '../series-json.js';
import { daySumsOf, hourSumsOf, rollupReader } from './rollups.js';

/** The agent's own store as the API's reader (api/reader.ts): synchronous SQLite reads behind the one interface. */
export function storeReader(store: Store, cfg: Config, machines: readonly MachineInfo[], clock: Clock): KpiReader {
  const rollup = rollupReader(store, cfg);
  const hourSums = hourSumsOf(store, cfg);
  const daySums = daySumsOf(store, cfg);
  const openAlerts = async () => store.alerts.query({ state: 'open' }).map(alertToJson);
  const overview = overviewOf(
    cfg,
    {
      machines: async () => machines,
      rollup: async (q) => rollup(q),
      hourSums: async (from, to) => hourSums(from, to),
      lastWindows: async (list) => {
        const out = new Map<string, WindowJson>();
        for (const m of list) {
          const a = store.recentAggregates(m, 1)[0];
          if (a !== undefined) out.set(m, aggregateToJson(a));
        }
        return out;
      },
      openAlerts,
    },
    () => clock.now(),
  );
  return {
    backend: 'store',
    async machines() {
      const stored = new Map(store.machineSummary().map((m) => [m.machine, m]));
      return machines.map((m) => ({ ...m, windows: stored.get(m.machine)?.windows ?? 0, last_window_start: stored.get(m.machine)?.lastWindowStart ?? null }));
    },
    async windows(q) {
      return store.queryAggregates(q).map(aggregateToJson);
    },
    overview,
    async series(q) {
      return seriesJson(q, windowSums(store.iterateAggregateKpis({ machine: q.machine, from: q.from, to: q.to })), cfg.kpi.windowSize);
    },
    async rollup(q) {
      return rollup(q);
    },
    async sums(q) {
      return q.coarse === true ? daySums(q.from, q.to) : hourSums(q.from, q.to);
    },
    async alerts(q) {
      return store.alerts.query(q).map(alertToJson);
    },
    async alert(id) {
      const a = store.alerts.get(id);
      if (a === undefined) return undefined;
      const detail: AlertDetailJson = { ...alertToJson(a), events: store.alerts.events({ alertId: a.id }).map((e) => ({ seq: e.seq, event: e.kind, at: e.at, by: e.by, rule: e.rule ?? null })) };
      return detail;
    },
    async alertHistory(q) {
      return store.alerts.events(q).map((e) => ({ seq: e.seq, event: e.kind, at: e.at, by: e.by, rule: e.rule ?? null, alert: alertToJson(e.alert) }));
    },
    async storage() {
      return { kind: 'store', size_bytes: store.sizeBytes(), windows: store.machineSummary().reduce((n, m) => n + m.windows, 0) };
    },
  };
}
