/** How a value stands against its target: met (green), within the band (amber), beyond it (red); undefined without a target or a value. */
export type Rating = 'met' | 'near' | 'missed';

/** Yield: at or above the target is met; `band` below it is near. Scrap rate (`higherIsBetter` false): at or below, `band` above. */
export function rate(value: number | undefined, target: number | undefined, band: number, higherIsBetter: boolean): Rating | undefined {
  if (value === undefined || target === undefined || !Number.isFinite(value)) return undefined;
  const short = higherIsBetter ? target - value : value - target;
  // A hair's breadth of floating point is not a miss: 0.95 is 95 %, however it was summed.
  if (short <= 1e-9) return 'met';
  return short <= band + 1e-9 ? 'near' : 'missed';
}
