import type { Components, Kpis } from '../kpi/derive.js';
import type { QualityCounts } from '../kpi/quality.js';

/** One machine and one window, as emitted and stored (DESIGN.md, "Contracts"). */
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
  quality: QualityCounts;
  kpis: Kpis;
  method: string;
  emittedAt: number;
}

/** The flat JSON form used by replay output and the HTTP API: snake_case KPI names at top level. */
export function aggregateToJson(a: Aggregate): Record<string, unknown> {
  return {
    machine: a.machine,
    window_start: a.windowStart,
    window_end: a.windowEnd,
    revision: a.revision,
    ...(a.product !== undefined ? { product: a.product } : {}),
    ...(a.material !== undefined ? { material: a.material } : {}),
    ...a.kpis,
    quality: a.quality,
    method: a.method,
  };
}
