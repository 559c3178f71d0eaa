import { z } from 'zod';
import { parseDuration } from '../duration.js';

/** Schema of a duration option: a string with a unit (`"250ms"`, `"30s"`, `"5m"`, `"24h"`, `"7d"`), parsed to milliseconds. */
export function duration(description: string) {
  return z
    .string()
    .refine((s) => parseDuration(s) !== undefined, {
      message: 'expected a duration such as "500ms", "30s", "5m", "24h" or "7d"',
    })
    .transform((s) => parseDuration(s)!)
    .meta({ description, pattern: '^\\d+(\\.\\d+)?(ms|s|m|h|d|w)$' });
}

/** A duration that must be above zero (a window, an interval, a retention). */
export function positiveDuration(description: string) {
  return duration(description).refine((ms) => ms > 0, { message: 'expected a duration above 0, such as "500ms" or "5m"' });
}
