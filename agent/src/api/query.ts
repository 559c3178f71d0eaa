/** Epoch ms, or an ISO 8601 date-time; a 400 naming the parameter otherwise. */
export function parseTime(v: string | undefined, key: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const t = /^-?\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(t)) throw Object.assign(new Error(`query parameter "${key}" must be epoch milliseconds or an ISO 8601 date-time, got "${v}"`), { statusCode: 400 });
  return t;
}
