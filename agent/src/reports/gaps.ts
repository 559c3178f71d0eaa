/** Gaps listed per machine; more are counted, not listed. */
export const MAX_GAPS_LISTED = 20;

/**
 * The spans of [from, to) that no data span covers: where a machine sent nothing. Spans are the
 * sums read (hours, or windows), so a gap is at their resolution: an hour with one window in it
 * is not a gap, and its coverage says how much of it is missing.
 */
export function gapsOf(spans: readonly { start: number; end: number }[], from: number, to: number): { start: number; end: number }[] {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const out: { start: number; end: number }[] = [];
  let at = from;
  for (const s of sorted) {
    if (s.end <= at) continue;
    if (s.start >= to) break;
    if (s.start > at) out.push({ start: at, end: s.start });
    at = Math.max(at, s.end);
  }
  if (at < to) out.push({ start: at, end: to });
  return out;
}
