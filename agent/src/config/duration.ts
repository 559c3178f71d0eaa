import { z } from 'zod';
import { parseDuration } from '../core/duration.js';

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
