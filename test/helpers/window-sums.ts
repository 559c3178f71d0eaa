import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';

/** The parts and kilograms of one window, as a test computes them from what it published. */
export interface Sums {
  good: number;
  scrap: number;
  kg: number;
}

/** The windows in the agent's store (read-only, beside the running agent), machine@start → summed components; empty while there is no store. */
export function storedWindows(file: string): Map<string, Sums> {
  if (!existsSync(file)) return new Map();
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare('SELECT machine, window_start, components FROM aggregates').all() as { machine: string; window_start: number; components: string }[];
    return new Map(
      rows.map((r) => {
        const c = JSON.parse(r.components) as { parts_good?: number; parts_scrap?: number; material_in_kg?: number };
        return [`${r.machine}@${r.window_start}`, { good: c.parts_good ?? 0, scrap: c.parts_scrap ?? 0, kg: c.material_in_kg ?? 0 }];
      }),
    );
  } finally {
    db.close();
  }
}

export function sameSums(a: Sums | undefined, b: Sums | undefined): boolean {
  return a !== undefined && b !== undefined && a.good === b.good && a.scrap === b.scrap && a.kg === b.kg;
}
