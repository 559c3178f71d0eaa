import type { SummedSignal } from './signals.js';

/**
 * Scrap an operator recorded by hand (core/entries.ts), summed over the current versions of a
 * window's entries: never mixed into the machine's own counts (agent/src/kpi/README.md, "Manual scrap").
 */
export const MANUAL_COMPONENTS = ['manual_scrap_parts', 'manual_scrap_kg'] as const;
export type ManualComponent = (typeof MANUAL_COMPONENTS)[number];

/**
 * Summed window components by signal; a key is present only for signals the machine measures,
 * and the manual ones only for a window that manual entries landed in.
 */
export type Components = Partial<Record<SummedSignal | ManualComponent, number>>;

/** Sums of one key of a breakdown, by measure (`parts_scrap`, `scrap_kg`, `seconds`, …). */
export type Measures = Record<string, number>;

/**
 * A window's sums broken down by a dimension (a scrap reason, a destination, a machine state):
 * dimension → key → measures. A window has the dimensions something was recorded for, no others.
 */
export type Breakdowns = Record<string, Record<string, Measures>>;

/** KPI values of one window or rollup, by their snake_case names (the KPI method, agent/src/kpi/README.md). */
export type Kpis = Record<string, number>;

/**
 * Data-quality counts every aggregate carries, so a number can always be questioned.
 * Event-time counts (`skewed`, `too_late`) are per message; the others are per signal value.
 */
export const QUALITY_COUNTS = ['stale', 'implausible', 'rebaselined', 'too_late', 'skewed', 'dup', 'rejected'] as const;
export type QualityCount = (typeof QUALITY_COUNTS)[number];
export type QualityCounts = Record<QualityCount, number>;

/** One machine and one window, as emitted and stored (agent/ARCHITECTURE.md, "Contracts"). */
export interface Aggregate {
  machine: string;
  windowStart: number;
  windowEnd: number;
  /** 0 for the first emission; each late arrival that changes the window adds 1. */
  revision: number;
  product: string | undefined;
  material: string | undefined;
  /** Part mass the window's masses were derived with (kg), when not measured. */
  partMassKg: number | undefined;
  components: Components;
  /** Sums recorded by dimension (scrap parts by reason, …); absent when none were. What revisions and rollups add up. */
  breakdowns?: Breakdowns;
  /**
   * Derived from the sums, like the KPIs: `reason` → code → `parts_scrap`, `scrap_kg` (with
   * `unassigned`), `destination` → `scrap_kg` (agent/src/kpi/README.md). Absent when the window
   * measures no scrap.
   */
  split?: Breakdowns;
  quality: QualityCounts;
  kpis: Kpis;
  method: string;
  emittedAt: number;
}

/**
 * What sums of windows (rollups, charts) read of a stored window: its machine, bounds, material
 * and product, KPIs, data quality and scrap split; not its components, breakdowns or revision.
 */
export type AggregateKpis = Pick<Aggregate, 'machine' | 'windowStart' | 'windowEnd' | 'material' | 'product' | 'kpis' | 'quality' | 'split'>;

/** The flat JSON form of a window (replay output, the HTTP API, the MQTT sink): snake_case, KPI names at top level. */
export interface WindowJson {
  machine: string;
  window_start: number;
  window_end: number;
  revision: number;
  product?: string;
  material?: string;
  /** Scrap parts and kg by reason code, `unassigned` included: they add up to `parts_scrap` and `scrap_kg`. */
  scrap_by_reason?: Record<string, Measures>;
  /** Scrap kg by destination (ESRS E5-5 categories, `unknown` when nothing says): they add up to `scrap_kg`. */
  scrap_kg_by_destination?: Record<string, number>;
  quality: QualityCounts;
  method: string;
  /** Every KPI the window has, by its snake_case name (`yield`, `scrap_rate`, …); a KPI that is not defined is absent. */
  [kpi: string]: string | number | QualityCounts | Record<string, Measures> | Record<string, number> | undefined;
}

/** The flat JSON form used by replay output and the HTTP API: snake_case KPI names at top level. */
export function aggregateToJson(a: Aggregate): WindowJson {
  return {
    machine: a.machine,
    window_start: a.windowStart,
    window_end: a.windowEnd,
    revision: a.revision,
    ...(a.product !== undefined ? { product: a.product } : {}),
    ...(a.material !== undefined ? { material: a.material } : {}),
    ...a.kpis,
    ...(a.split?.reason !== undefined ? { scrap_by_reason: a.split.reason } : {}),
    ...(a.split?.destination !== undefined ? { scrap_kg_by_destination: Object.fromEntries(Object.entries(a.split.destination).map(([d, m]) => [d, m.scrap_kg ?? 0])) } : {}),
    quality: a.quality,
    method: a.method,
  };
}
