import { SUMMED_SIGNALS, type SummedSignal } from '../core/signals.js';
import { QUALITY_COUNTS, type Breakdowns, type Components, type QualityCounts } from '../core/aggregate.js';
import { qualityToRecord } from './quality.js';

/** Start of the tumbling window (aligned to the UTC epoch) that holds event time `t`. */
export function windowStart(t: number, sizeMs: number): number {
  return t - (((t % sizeMs) + sizeMs) % sizeMs);
}

/**
 * An open window of one machine: sums of the summed signals and data-quality counts.
 * For a window already emitted, it holds only what arrived since (a revision's increment).
 */
export interface WindowAcc {
  machine: string;
  start: number;
  /** Exclusive end; a window restored from a checkpoint written with another window size keeps its own. */
  end: number;
  sums: Float64Array;
  /** Sums by dimension (agent/src/kpi/README.md, "Dimensions"); undefined until something is recorded by one. */
  breakdowns: Breakdowns | undefined;
  quality: Float64Array;
  /** Samples accepted into this window; a window with none is never emitted on its own. */
  accepted: number;
  product: string | undefined;
  material: string | undefined;
  partMassKg: number | undefined;
}

export function newWindow(
  machine: string,
  start: number,
  end: number,
  ctx: { product: string | undefined; material: string | undefined; partMassKg: number | undefined },
): WindowAcc {
  return {
    machine,
    start,
    end,
    sums: new Float64Array(SUMMED_SIGNALS.length),
    breakdowns: undefined,
    quality: new Float64Array(QUALITY_COUNTS.length),
    accepted: 0,
    product: ctx.product,
    material: ctx.material,
    partMassKg: ctx.partMassKg,
  };
}

/** The window's sums as components, keeping only the signals the machine measures. */
export function componentsOf(w: WindowAcc, measured: readonly number[]): Components {
  const c: Components = {};
  for (const i of measured) c[SUMMED_SIGNALS[i] as SummedSignal] = w.sums[i]!;
  return c;
}

export function qualityOf(w: WindowAcc): QualityCounts {
  return qualityToRecord(w.quality);
}
