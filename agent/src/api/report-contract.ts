import type { QualityCounts } from '../core/aggregate.js';
import type { EntryJson } from '../core/entries.js';
import type { MaterialJson } from './contract.js';

/**
 * The material-efficiency report as JSON: the report model every format is written from
 * (agent/src/reports/README.md). Masses in kg, parts in parts, shares 0 to 1, money in the
 * currency it is keyed by, times in epoch ms. A figure that cannot be computed is absent,
 * never 0.
 */

export const REPORT_FORMATS = ['json', 'csv', 'xlsx', 'pdf'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
export const REPORT_LANGUAGES = ['en', 'nl'] as const;
export type ReportLanguage = (typeof REPORT_LANGUAGES)[number];

/** What a report is asked for with: a period and a scope as a user writes them (`reports/period.ts`, `reports/scope.ts`). */
export interface ReportRequest {
  period: string;
  scope?: string | undefined;
  language?: ReportLanguage | undefined;
}

/** Sums of the period (or a part of it) and the ratios derived from them. */
export interface ReportFigures {
  /** Windows summed. */
  windows: number;
  /** Share of the time (up to now) × machines that windows cover; absent when there is no machine to cover. */
  coverage?: number;
  parts_total?: number;
  parts_good?: number;
  parts_scrap?: number;
  parts_rework?: number;
  /** Of `parts_scrap`: recorded by hand (manual entries). */
  manual_scrap_parts?: number;
  material_in_kg?: number;
  good_kg?: number;
  scrap_kg?: number;
  /** Of `scrap_kg`: recorded by hand. */
  manual_scrap_kg?: number;
  /** Material that went in and became neither product nor weighed scrap: `material_loss_kg − scrap_kg` where input is measured. */
  other_loss_kg?: number;
  material_loss_kg?: number;
  yield?: number;
  first_pass_yield?: number;
  scrap_rate?: number;
  rework_ratio?: number;
  material_efficiency?: number;
  /** `material_loss_kg × (price − scrap value)`, by currency (ISO 4217). */
  loss_cost?: Record<string, number>;
  loss_co2e_kg?: number;
  /** Critical raw material lost, kg per element. */
  crm_loss_kg?: Record<string, number>;
}

export interface ReportPeriodJson {
  kind: 'shift' | 'day' | 'week' | 'month' | 'quarter' | 'year' | 'custom';
  label: string;
  start: number;
  end: number;
}

/** One row of a breakdown by machine, material or product. */
export interface ReportRow {
  key: string;
  /** The machine's name (machines only). */
  name?: string;
  figures: ReportFigures;
  /** The machine's targets (machines only). */
  targets?: { yield?: number; scrap_rate?: number };
}

export interface ReportReasonRow {
  /** The reason code; `unassigned` for scrap no reason explains. */
  key: string;
  label?: { en: string; nl: string };
  group?: string;
  parts_scrap?: number;
  scrap_kg?: number;
  manual_scrap_parts?: number;
  manual_scrap_kg?: number;
  /** Of the period's scrap parts. */
  share_of_scrap?: number;
}

export interface ReportDestinationRow {
  /** An ESRS E5-5 destination (`core/reasons.ts`), or `unknown`. */
  key: string;
  scrap_kg: number;
  manual_scrap_kg?: number;
  share_of_scrap_kg?: number;
}

/** The same figures for another period, for comparison; absent when it has no data. */
export interface ReportComparison {
  /** Of a running period, `end` is as far into this period as the report's period has run. */
  period: ReportPeriodJson;
  figures: ReportFigures;
  /** True where the report's period is running and this period was cut (`end`) at as far into it as the report's period has data due: the same length of time from its start. */
  to_date: boolean;
}

/** A target of the scope, weighted by each machine's parts, against the actual. */
export interface ReportTarget {
  target: number;
  actual: number;
  /** Parts of the machines that have this target, of all the scope's parts. */
  share_of_parts: number;
}

/** ESRS E5-4, resource inflows: material used by material, with its secondary (recycled or reused) content. */
export interface EsrsE54 {
  rows: {
    material: string;
    kg: number;
    /** False: the input was not weighed and is estimated as good output + scrap. */
    measured: boolean;
    /** From the material library (`recycledContentShare`); absent when not stated. */
    recycled_content_share?: number;
    secondary_kg?: number;
  }[];
  total_kg: number;
  /** Secondary (recycled) material put in; absent when a material's recycled content is not stated. */
  secondary_kg?: number;
  /** `secondary_kg / total_kg`; absent when a material's recycled content is not stated or nothing went in. */
  secondary_share?: number;
  /** True when any row is an estimate. */
  estimate: boolean;
}

/** ESRS E5-5, resource outflows: waste from production by what happens to it. */
export interface EsrsE55 {
  total_kg: number;
  diverted: { preparation_for_reuse_kg: number; recycling_kg: number; other_recovery_kg: number; total_kg: number };
  directed: { incineration_kg: number; landfill_kg: number; other_disposal_kg: number; total_kg: number };
  /** Scrap whose destination is not known (a window without material, or stored without a destination split). */
  unassigned_kg: number;
  hazardous_kg: number;
  non_hazardous_kg: number;
  /** Everything not prepared for reuse or recycled. */
  non_recycled_kg: number;
  non_recycled_share?: number;
  /** True when some scrap kg are counted parts × part mass rather than weighed. */
  estimate: boolean;
  /** Material lost that was never weighed as scrap (`other_loss_kg`): not in the table, as its destination is not known. */
  other_loss_kg?: number;
}

/** What one machine would have saved on one material at its own best demonstrated scrap rate. */
export interface OpportunityRow {
  machine: string;
  name: string;
  material: string;
  parts_total: number;
  parts_scrap: number;
  scrap_rate: number;
  /** The machine's best shift (or day) on this material with enough parts; absent when none had enough. */
  best?: { period: string; start: number; scrap_rate: number; parts_total: number };
  saved_parts: number;
  saved_kg?: number;
  saved_cost?: Record<string, number>;
  saved_co2e_kg?: number;
  saved_crm_kg?: Record<string, number>;
}

export interface ReportOpportunity {
  /** What "best" is the best of: shifts of the site's calendar, or days where it has none. */
  basis: 'shift' | 'day';
  /** Fewest parts a shift (day) needs to count as demonstrated. */
  min_parts: number;
  /** How far back from the period's end the best is looked for, ms. */
  lookback_ms: number;
  rows: OpportunityRow[];
  /** `saved_kg` and `saved_co2e_kg` are absent when a row's is not known (no scrap kg, no CO2e factor), and a currency of `saved_cost` or an element of `saved_crm_kg` when a row of it has no kg: a sum of some rows would read as the whole. `saved_cost` is over the priced materials, as loss cost is. */
  total: { saved_parts: number; saved_kg?: number; saved_cost: Record<string, number>; saved_co2e_kg?: number; saved_crm_kg: Record<string, number> };
}

export interface ReportMachineQuality {
  machine: string;
  name: string;
  windows: number;
  coverage: number;
  /** Spans in the period (up to now) without any data, at the resolution of the sums read. */
  gaps: { start: number; end: number }[];
  /** Gaps beyond the ones listed. */
  more_gaps: number;
  /** Length of all gaps together, ms. */
  missing_ms: number;
  /** How masses were obtained: weighed (`measured`), counted parts × part mass (`estimated`) or not at all. */
  mass_basis: { scrap_kg: 'measured' | 'estimated' | 'none'; material_in_kg: 'measured' | 'none' };
}

/** A manual entry of the period: its current version (who made it, when, why it was changed), as `GET /api/v1/entries` lists it without its history. */
export type ReportEntry = Omit<EntryJson, 'history'>;

export interface ReportDataQuality {
  coverage?: number;
  /** Resolution of the gaps: whole hours (hour sums) or windows. */
  resolution_ms: number;
  machines: ReportMachineQuality[];
  counts: QualityCounts;
  entries: ReportEntry[];
  /** False where the backend keeps no entries (the central dashboard over InfluxDB). */
  entries_available: boolean;
  /** True where the scope has more entries in the period than a report lists (`MAX_ENTRIES` of agent/src/reports/read.ts, per machine): the first ones are listed. */
  entries_truncated: boolean;
  /** The period is not over yet: figures are up to `generated_at`. */
  partial_period: boolean;
}

/** A material used in the period, with every factor the report applied (`GET /api/v1/materials`' fields), its recycled content and whether its scrap is hazardous. */
export interface ReportFactor extends MaterialJson {
  recycled_content_share: number | null;
  hazardous: boolean;
}

export interface ReportJson {
  report: 'yieldwatch-material-efficiency';
  format_version: 1;
  generated_at: number;
  /** The KPI method's version, e.g. `yieldwatch-kpi/2`. */
  method: string;
  /** SHA-256 of the KPI settings of the config (machines, materials, products, sites, KPI windows), so two reports can be told to come from the same settings. */
  config_hash: string;
  material_library_version: string | null;
  source: 'store' | 'influxdb';
  agent: string | null;
  site: string | null;
  time_zone: string;
  scope: { spec: string; label: string; machines: string[] };
  period: ReportPeriodJson;
  totals: ReportFigures;
  previous: ReportComparison | null;
  year_before: ReportComparison | null;
  targets: { yield?: ReportTarget; scrap_rate?: ReportTarget };
  /** The period in steps (hours, days, weeks or months) for the charts. */
  series: { step: 'hour' | 'day' | 'week' | 'month'; points: { label: string; start: number; end: number; figures: ReportFigures }[] };
  by_machine: ReportRow[];
  by_material: ReportRow[];
  by_product: ReportRow[];
  by_reason: ReportReasonRow[];
  by_destination: ReportDestinationRow[];
  esrs: { e5_4: EsrsE54; e5_5: EsrsE55 };
  opportunity: ReportOpportunity;
  data_quality: ReportDataQuality;
  factors: ReportFactor[];
}
