import type { PartialSums } from '../core/rollup.js';
import type { AlertQuery } from '../store/alerts.js';
import type { AlertDetailJson, AlertHistoryItemJson, AlertJson, MachineListItem, OverviewJson, RollupQuery, RollupRowJson, SeriesJson, SeriesQuery, WindowJson } from './contract.js';

/** The windows `GET /api/v1/kpis` lists. */
export interface WindowQuery {
  machine?: string | undefined;
  from?: number | undefined;
  to?: number | undefined;
  limit: number;
}

/** Every event of one machine's alerts, oldest first (`GET /api/v1/alerts/history`). */
export interface AlertHistoryQuery {
  machine: string;
  from?: number | undefined;
  to?: number | undefined;
  limit: number;
}

/**
 * What every view of the API and the dashboard reads, with two backends: the agent's own store
 * (`readers/store`) and InfluxDB, for a central dashboard over many agents (`readers/influxdb`).
 * Both sum components and derive ratios with the same KPI core, so they give the same numbers.
 */
export interface KpiReader {
  /** `store` on an agent, `influxdb` for the central dashboard (which can neither acknowledge nor take entries). */
  readonly backend: 'store' | 'influxdb';
  /** The machines the reader knows, with how many windows it holds of each. */
  machines(): Promise<MachineListItem[]>;
  windows(q: WindowQuery): Promise<WindowJson[]>;
  overview(): Promise<OverviewJson>;
  series(q: SeriesQuery): Promise<SeriesJson>;
  rollup(q: RollupQuery): Promise<RollupRowJson[]>;
  /**
   * Every machine's sums over [from, to), for reports: one per machine, material and product and
   * whole hour where from and to are whole hours and windows tile an hour, else one per window.
   * `coarse`: whole site days will do (for totals, not for gaps), where from and to are the sites' midnights.
   */
  sums(q: { from: number; to: number; coarse?: boolean }): Promise<Iterable<PartialSums>>;
  alerts(q: AlertQuery): Promise<AlertJson[]>;
  /** One alert with its audit trail; undefined when there is none with that id. */
  alert(id: string): Promise<AlertDetailJson | undefined>;
  alertHistory(q: AlertHistoryQuery): Promise<AlertHistoryItemJson[]>;
  /** What the backend holds, for the status page. */
  storage(): Promise<{ kind: 'store' | 'influxdb'; size_bytes: number | null; windows: number | null; url?: string }>;
}
