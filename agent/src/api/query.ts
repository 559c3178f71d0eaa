/** An ISO 8601 date-time with its offset: one without says nothing of which zone it means. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** Epoch ms (digits) or an ISO 8601 date-time with `Z` or an offset; undefined for anything else. */
export function timeOf(v: string): number | undefined {
  const t = /^-?\d+$/.test(v) ? Number(v) : ISO_DATE_TIME.test(v) ? Date.parse(v) : Number.NaN;
  return Number.isFinite(t) ? t : undefined;
}

/** A query parameter's time: epoch ms or an ISO 8601 date-time with its offset; a 400 naming the parameter otherwise. */
export function parseTime(v: string | undefined, key: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const t = timeOf(v);
  if (t === undefined) throw Object.assign(new Error(`query parameter "${key}" must be epoch milliseconds or an ISO 8601 date-time with Z or an offset (2026-11-27T10:00:00Z), got "${v}"`), { statusCode: 400 });
  return t;
}
