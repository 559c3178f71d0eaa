/**
 * Data-quality counts every aggregate carries, so a number can always be questioned
 * (DESIGN.md, "Windows"). Event-time counts (`skewed`, `too_late`) are per message;
 * the others are per signal value.
 */
export const QUALITY_COUNTS = ['stale', 'implausible', 'rebaselined', 'too_late', 'skewed', 'dup', 'rejected'] as const;
export type QualityCount = (typeof QUALITY_COUNTS)[number];
export type QualityCounts = Record<QualityCount, number>;

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
