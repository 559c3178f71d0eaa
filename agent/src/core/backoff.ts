/** Capped exponential delay before retry number `failures` (1-based): `first`, doubling per failure in a row, at most `max`. */
export function exponentialDelay(failures: number, first: number, max: number): number {
  return Math.min(max, first * 2 ** Math.min(Math.max(failures, 1) - 1, 30));
}

/** Failures in a row and the delay each one earns; reset by the first success. */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly first: number,
    private readonly max: number,
  ) {}

  /** Failures since the last success. */
  get failuresInRow(): number {
    return this.failures;
  }

  /** Counts a failure and returns how long to wait before the next attempt. */
  fail(): number {
    this.failures++;
    return exponentialDelay(this.failures, this.first, this.max);
  }

  reset(): void {
    this.failures = 0;
  }
}
