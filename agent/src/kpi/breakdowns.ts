import type { Breakdowns, Measures } from '../core/aggregate.js';

/** An empty breakdown map: no prototype, so a key such as `constructor` is a key like any other. */
function emptyRecord<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** Adds `amount` to `measure` of `key` in `dimension`, creating what is missing; returns the (possibly new) breakdowns. */
export function addToBreakdowns(b: Breakdowns | undefined, dimension: string, key: string, measure: string, amount: number): Breakdowns {
  const out = b ?? emptyRecord<Record<string, Measures>>();
  const keys = (out[dimension] ??= emptyRecord<Measures>());
  const measures = (keys[key] ??= emptyRecord<number>());
  measures[measure] = (measures[measure] ?? 0) + amount;
  return out;
}

/** Adds `src` into `into` key by key, in place (`into` created when undefined); returns it. */
export function addBreakdownsInto(into: Breakdowns | undefined, src: Breakdowns | undefined, sign = 1): Breakdowns | undefined {
  if (src === undefined) return into;
  let out = into;
  for (const dimension in src) {
    const keys = src[dimension]!;
    for (const key in keys) {
      const measures = keys[key]!;
      for (const measure in measures) out = addToBreakdowns(out, dimension, key, measure, sign * measures[measure]!);
    }
  }
  return out;
}

/** The sum of two breakdowns, as a new value (neither argument changes); undefined when both are. */
export function mergeBreakdowns(a: Breakdowns | undefined, b: Breakdowns | undefined): Breakdowns | undefined {
  return addBreakdownsInto(addBreakdownsInto(undefined, a), b);
}

/**
 * The breakdowns in a canonical form for output: dimensions, keys and measures sorted, plain
 * objects, so that the same sums always give the same JSON whatever order they were recorded in.
 */
export function sortedBreakdowns(b: Breakdowns): Breakdowns {
  // fromEntries defines own properties, so even a key named `__proto__` stays a key.
  const sorted = <T>(r: Record<string, T>, f: (v: T) => T): Record<string, T> => Object.fromEntries(Object.keys(r).sort().map((k) => [k, f(r[k]!)]));
  return sorted(b, (keys) => sorted(keys, (measures) => sorted(measures, (v) => v)));
}
