/**
 * The wire types of the HTTP API: what its routes send and take, in one module that the routes
 * and the dashboard both import (type-only). Windows and alerts have the JSON forms the MQTT and
 * webhook channels and replay share, defined beside their contracts in core/.
 */
import type { QualityCounts, WindowJson } from '../core/aggregate.js';
import { ROLLUP_GROUPS, ROLLUP_PERIODS, type RollupGroup, type RollupPeriod } from '../core/rollup.js';
import type { AlertChangeJson, AlertEventKind, AlertJson, AlertRuleHitJson } from '../core/alert.js';
import type { Health } from '../core/health.js';
import type { SinkErrorKind } from '../core/sink.js';
import type { EntryJson, EntryVersionJson } from '../core/entries.js';
import type { SeriesBuckets } from '../core/series.js';

export type { AlertChangeJson, AlertJson, AlertRuleHitJson, EntryJson, EntryVersionJson, QualityCounts, WindowJson };

/** A list answer: `{ items: [...] }`. */
export interface ListJson<T> {
  items: T[];
}

/** An error answer (4xx): a sentence for a person. */
export interface ErrorJson {
  error: string;
}

/** A configured machine as the API lists it. */
export interface MachineInfo {
  machine: string;
  site: string;
  area?: string | undefined;
  line: string;
  name: string;
  product?: string | undefined;
  material?: string | undefined;
  /** Each measured signal's kind (`counter`, `delta`, `gauge`): a signal the machine declares and a source maps. */
  signals: Record<string, string>;
  /**
   * Signals the machine declares (its own or from `machineDefaults`) that no source maps: they are
   * not measured, so they and the KPIs that need them are absent from its windows, never 0
   * (agent/src/kpi/README.md, "Measured signals"). Empty when every declared signal is mapped, and for a machine the central dashboard knows only from InfluxDB.
   */
  not_measured: string[];
  /** What the dashboard holds the machine against: green when met, amber within `band`, red beyond. */
  targets?: { yield?: number; scrap_rate?: number; band: number };
}

/** One item of `GET /api/v1/machines`: the machine and what the store holds of it. */
export interface MachineListItem extends MachineInfo {
  windows: number;
  last_window_start: number | null;
}

/** One audit event of `GET /api/v1/alerts/<id>`. */
export interface AlertEventJson {
  seq: number;
  event: AlertEventKind;
  at: number;
  by: string;
  /** The rule the event is about (the one that fired, joined, cleared or would have fired); null for an acknowledgement. */
  rule: string | null;
}

/** `GET /api/v1/alerts/<id>`: the incident (`rules`: every rule that fired inside it) with its audit trail. */
export type AlertDetailJson = AlertJson & { events: AlertEventJson[] };

/** One item of `GET /api/v1/alerts/history`: an audit event with the alert as it was then. */
export type AlertHistoryItemJson = AlertEventJson & { alert: AlertJson };

/** The body of `POST /api/v1/alerts/<id>/ack`; `by` is taken from the operator token when there is one. */
export interface AcknowledgeBody {
  by?: string;
  comment?: string;
}

/** One sink in `GET /api/v1/status`: snake_case, times as ISO 8601, ages in seconds. */
export interface SinkStatusJson {
  sink: string;
  type: string;
  status: Health['status'];
  reason: string | null;
  backlog_records: number;
  backlog_bytes: number;
  oldest_record_age_s: number | null;
  last_success_at: string | null;
  delivered_records: number;
  dropped_records: number;
  dropped_bytes: number;
  dead_letters: number;
  lost_records: number;
  errors: Record<SinkErrorKind, number>;
  failures_in_row: number;
  last_error: string | null;
  last_error_at: string | null;
  next_attempt_at: string | null;
}

/** `GET /api/v1/status`: the agent, its store, the health of every part and the delivery state of every sink: what an installer checks first. */
/**
 * What the agent kept out of the KPIs or flagged, per machine and reason, and the rate limit each
 * counter is held to (agent/src/kpi/README.md, "Counter to delta").
 */
export interface GuardsJson {
  /** Counts since start by machine path (`unknown`: input for a machine not configured), then by reason. */
  by_machine: Record<string, Record<string, number>>;
  rate_limits: { machine: string; signal: string; source: string; per_second: number | null; peak_per_second: number }[];
}

export interface StatusJson {
  agent: { id: string | null; version: string | null; started_at: string | null };
  /** Where the views read: the agent's store (its size on disk and windows), or InfluxDB for the central dashboard (its URL). */
  store: { kind: 'store' | 'influxdb'; size_bytes: number | null; windows: number | null; url?: string };
  parts: Record<string, Health>;
  sinks: SinkStatusJson[];
  /** The agent's guards; absent from the central dashboard, which ingests nothing. */
  guards?: GuardsJson;
}

/** The events of `GET /api/v1/stream` (server-sent events), by their `event:` name. */
export interface StreamEvents {
  /** First, on connect: the open alerts. */
  alerts: ListJson<AlertJson>;
  /** A committed window (first emission or revision). */
  window: WindowJson;
  /** A notified alert change. */
  alert: AlertChangeJson;
}

export { ROLLUP_GROUPS, ROLLUP_PERIODS };

/** The query of `GET /api/v1/kpis/rollup`. */
export interface RollupQuery {
  period: RollupPeriod;
  by: RollupGroup;
  from: number;
  to: number;
  machine?: string | undefined;
}

/** One row of `GET /api/v1/kpis/rollup`: a period and a group with its sums, ratios, data quality and coverage. */
export interface RollupRowJson {
  period: string;
  period_start: number;
  period_end: number;
  /** Windows summed into the row; absent for reason and destination rows. */
  windows?: number;
  /** Share of the period the windows cover (per machine of the group); absent for reason and destination rows. */
  coverage?: number;
  quality?: QualityCounts;
  scrap_by_reason?: Record<string, Record<string, number>>;
  scrap_kg_by_destination?: Record<string, number>;
  method: string;
  /** The group under its own name (`machine`, `line`, `reason`, …) and every sum and ratio by its snake_case name. */
  [key: string]: string | number | QualityCounts | Record<string, Record<string, number>> | Record<string, number> | undefined;
}

/** The body of `POST /api/v1/entries`: a manual scrap entry. `time` defaults to now; `by` is taken from the operator token when there is one. */
export interface EntryBody {
  machine: string;
  /** When the scrap was made: epoch ms or ISO 8601. */
  time?: number | string;
  parts?: number | null;
  kg?: number | null;
  reason?: string | null;
  destination?: string | null;
  comment?: string | null;
  by?: string;
}

/** The body of `PATCH /api/v1/entries/<id>`: the fields to change (null clears one) and why. */
export type EntryChangeBody = Partial<Omit<EntryBody, 'by' | 'time'>> & { time?: number | string; why: string; by?: string };

/** The body of `DELETE /api/v1/entries/<id>`: why. */
export interface EntryDeleteBody {
  why: string;
  by?: string;
}

/** A machine's period so far (its current shift, its day) in `GET /api/v1/overview`: sums and ratios from the sums. */
export interface OverviewPeriodJson {
  /** `2026-12-03` for a day, `2026-12-03 early` for a shift. */
  period: string;
  period_start: number;
  period_end: number;
  /** The KPIs of the sums (`parts_total`, `yield`, `scrap_rate`, …); absent when the machine has no window in the period yet. */
  kpis?: Record<string, number>;
  coverage?: number;
}

/** One machine of `GET /api/v1/overview`: where it stands now. */
export interface OverviewItemJson extends MachineInfo {
  /** The newest stored window; null before the first. */
  window: WindowJson | null;
  /** True when the newest window ended longer ago than two windows and the allowed lateness: its data stopped (never shown as zero). */
  stale: boolean;
  /** The current shift of the machine's site (null outside shifts, or without a calendar) and its day, in the site's time. */
  shift: OverviewPeriodJson | null;
  day: OverviewPeriodJson;
  /** The last hours, hour by hour (the current one so far), for a sparkline: sums and ratios from the sums, null for an hour without windows. */
  recent: { t: number[]; yield: (number | null)[]; scrap_rate: (number | null)[]; parts_total: (number | null)[] };
  /** The machine's open alerts (firing or acknowledged), newest first. */
  alerts: AlertJson[];
}

/** `GET /api/v1/overview`: every configured machine, in config order, with the site time zones they are shown in. */
export interface OverviewJson {
  generated_at: number;
  time_zones: Record<string, string>;
  items: OverviewItemJson[];
}

/**
 * `GET /api/v1/session` and the answer of `POST /api/v1/login`: who the caller is. `login: none`
 * when the API needs no login (no users, no tokens: kept on loopback); `csrf` is the token a
 * browser's session sends in `x-csrf-token` with every state change.
 */
export interface SessionJson {
  login: 'none' | 'session' | 'token';
  name: string | null;
  role: 'viewer' | 'operator' | 'admin';
  csrf: string | null;
  /** True on the central dashboard over InfluxDB: it only reads (alerts are acknowledged and scrap recorded on the agents) and has no live stream. */
  central: boolean;
}

/** The query of `GET /api/v1/kpis/series`. */
export interface SeriesQuery {
  machine: string;
  from: number;
  to: number;
  /** At most this many buckets (default 1000, at most 5000). */
  points: number;
}

/**
 * `GET /api/v1/kpis/series`: a machine's windows bucketed for a chart, column by column (`t` and
 * one array per sum and ratio, null where a bucket has no window): each bucket's components summed
 * and its ratios derived from the sums; `yield_min`/`yield_max` the spread of the windows' yields.
 * `totals`: the whole span summed, with data quality and scrap by reason and destination.
 */
export interface SeriesJson extends SeriesBuckets {
  machine: string;
  totals: {
    windows: number;
    kpis: Record<string, number>;
    quality: QualityCounts;
    scrap_by_reason?: Record<string, Record<string, number>>;
    scrap_kg_by_destination?: Record<string, number>;
  };
}

/** One scrap reason of a site as `GET /api/v1/sites` lists it. */
export interface ScrapReasonJson {
  label: { en: string; nl: string };
  group?: string;
  destination?: string;
}

/** `GET /api/v1/sites`: each site's time zone and scrap reason codes with their labels in English and Dutch. */
export interface SiteJson {
  site: string;
  time_zone: string;
  scrap_reasons: Record<string, ScrapReasonJson>;
}

/** One shift of a site as `GET /api/v1/shifts` lists it: in the site's calendar, bounds in epoch ms (end exclusive). */
export interface ShiftJson {
  site: string;
  name: string;
  /** The site date the shift starts on (`YYYY-MM-DD`): a night shift belongs to the day it starts. */
  date: string;
  start: number;
  end: number;
}

/** One material of `GET /api/v1/materials`: the factors the KPIs of its loss were computed with, each with its source. */
export interface MaterialJson {
  material: string;
  price_per_kg: number | null;
  scrap_value_per_kg: number;
  currency: string;
  co2e_per_kg: { value: number; source: string; year: number; boundary: string | null } | null;
  /** Mass fraction of each critical raw material element (EU 2024/1252). */
  crm: Record<string, number>;
  scrap_destination: string;
}
