/** Limits that decide whether a machine's timestamp is trusted (agent/src/kpi/README.md, "Event time"). */
export interface EventTimeLimits {
  maxFutureSkewMs: number;
  correctionHorizonMs: number;
}

export const EVENT_TIME_OK = 0;
export const EVENT_TIME_MISSING = 1;
export const EVENT_TIME_SKEWED = 2;
export const EVENT_TIME_TOO_LATE = 3;
export type EventTimeVerdict = 0 | 1 | 2 | 3;

/**
 * Classifies a machine timestamp against the agent's clock: the payload time is used unless
 * it is missing, more than `maxFutureSkewMs` ahead of `arrival`, or older than
 * `correctionHorizonMs`; in those cases the arrival time is the event time.
 */
export function classifyEventTime(ts: number | undefined, arrival: number, limits: EventTimeLimits): EventTimeVerdict {
  // NaN is no time at all; the engine rejects it before asking, this keeps the function total.
  if (ts === undefined || Number.isNaN(ts)) return EVENT_TIME_MISSING;
  if (ts > arrival + limits.maxFutureSkewMs) return EVENT_TIME_SKEWED;
  if (ts < arrival - limits.correctionHorizonMs) return EVENT_TIME_TOO_LATE;
  return EVENT_TIME_OK;
}
