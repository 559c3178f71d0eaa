import { z } from 'zod';

const UNITS: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3 };
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|kB|MB|GB|KiB|MiB|GiB)$/;

/** Bytes of a size such as `"256MiB"` or `"10 MB"`, or undefined when it is not one. */
export function parseSize(s: string): number | undefined {
  const m = SIZE_RE.exec(s.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

/** Schema of a size option: a string with a unit, parsed to bytes. */
export function byteSize(description: string) {
  return z
    .string()
    .refine((s) => parseSize(s) !== undefined, { message: 'expected a size such as "512KiB", "256MiB" or "1GB"' })
    .transform((s) => parseSize(s)!)
    .refine((b) => b > 0, { message: 'expected a size above 0' })
    .meta({ description, pattern: '^\\d+(\\.\\d+)?\\s*(B|kB|MB|GB|KiB|MiB|GiB)$' });
}
