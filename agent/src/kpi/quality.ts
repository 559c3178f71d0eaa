import { QUALITY_COUNTS, type QualityCounts } from '../core/aggregate.js';

/** Index of each data-quality count (core/aggregate.ts, QUALITY_COUNTS) in a window's count vector. */
export const Q_STALE = 0;
export const Q_IMPLAUSIBLE = 1;
export const Q_REBASELINED = 2;
export const Q_TOO_LATE = 3;
export const Q_SKEWED = 4;
export const Q_DUP = 5;
export const Q_REJECTED = 6;

export function qualityToRecord(q: ArrayLike<number>): QualityCounts {
  const out = {} as QualityCounts;
  QUALITY_COUNTS.forEach((name, i) => (out[name] = q[i] ?? 0));
  return out;
}

export function emptyQuality(): QualityCounts {
  return qualityToRecord(new Float64Array(QUALITY_COUNTS.length));
}
