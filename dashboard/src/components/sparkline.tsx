/** Width and height of the drawing, in SVG units (the tile scales it to its width). */
const W = 120;
const H = 28;

/**
 * A small line of a ratio over the last hours (one point an hour, gaps where the machine made
 * nothing), with the target as a dashed line: drawn as plain SVG, no chart library, so 200 tiles
 * cost nothing. `label` says in words what it shows, for screen readers and a hover.
 */
export function Sparkline({ values, target, label }: { values: readonly (number | null)[]; target: number | undefined; label: string }) {
  const known = values.filter((v): v is number => v !== null);
  if (known.length === 0) return null;
  const lo = Math.max(0, Math.min(...known, target ?? 1) - 0.02);
  const hi = Math.min(1, Math.max(...known, target ?? 0) + 0.005);
  const span = hi - lo || 1;
  const x = (i: number) => (values.length === 1 ? W / 2 : (i / (values.length - 1)) * W);
  const y = (v: number) => H - ((v - lo) / span) * H;
  // One path, broken where an hour has no value.
  let d = '';
  values.forEach((v, i) => {
    if (v === null) return;
    d += `${i === 0 || values[i - 1] === null ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
  });
  const last = values.length - 1 - [...values].reverse().findIndex((v) => v !== null);
  return (
    <svg class="sparkline" viewBox={`0 0 ${W} ${H}`} preserveAspectRatio="none" role="img" aria-label={label}>
      <title>{label}</title>
      {target !== undefined && target >= lo && target <= hi && <line class="goal" x1="0" x2={W} y1={y(target)} y2={y(target)} />}
      <path d={d} />
      {/* The newest hour as a round dot: a zero-length line with round caps keeps its shape however the tile stretches the drawing. */}
      <path class="now" d={`M${x(last).toFixed(1)},${y(values[last]!).toFixed(1)}h0`} />
    </svg>
  );
}
