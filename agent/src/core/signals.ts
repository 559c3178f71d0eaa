/** Canonical numeric signals that are summed into windows (agent/src/kpi/README.md). */
export const SUMMED_SIGNALS = [
  'parts_total',
  'parts_good',
  'parts_scrap',
  'parts_rework',
  'material_in_kg',
  'good_kg',
  'scrap_kg',
] as const;
export type SummedSignal = (typeof SUMMED_SIGNALS)[number];

/** Context and state signals: strings, never summed. */
export const CONTEXT_SIGNALS = ['state', 'scrap_reason', 'material', 'product'] as const;
export type ContextSignal = (typeof CONTEXT_SIGNALS)[number];

export type SignalName = SummedSignal | ContextSignal;

/** Index of each summed signal in a window's component vector. */
export const SIGNAL_INDEX: Readonly<Record<SummedSignal, number>> = Object.fromEntries(
  SUMMED_SIGNALS.map((s, i) => [s, i]),
) as Record<SummedSignal, number>;

export function isSummedSignal(s: string): s is SummedSignal {
  return Object.prototype.hasOwnProperty.call(SIGNAL_INDEX, s);
}

/** How a numeric signal's values become increments (agent/src/kpi/README.md, "Signals"). */
export type SignalKind = 'counter' | 'delta' | 'gauge';
