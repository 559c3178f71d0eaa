/** Epoch ms of an OPC UA timestamp, or undefined when absent (null or the OPC UA "min date" of 1601). */
export function epochMs(d: Date | null | undefined): number | undefined {
  if (!d) return undefined;
  const t = d.getTime();
  return Number.isFinite(t) && t > 0 ? t : undefined;
}

/** A sample value from a variant value: numbers (Int64 as [high, low] too), strings, LocalizedText, booleans as 0/1. */
export function toSampleValue(v: unknown): number | string | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'number' && typeof v[1] === 'number') {
    // node-opcua's (U)Int64: [high, low] 32-bit words.
    return v[0] * 0x1_0000_0000 + (v[1] >>> 0);
  }
  if (v !== null && typeof v === 'object' && 'text' in v) {
    const text = (v as { text?: unknown }).text;
    return typeof text === 'string' ? text : undefined;
  }
  return undefined;
}
