/**
 * Manual scrap entries: scrap an operator records that no counter of the machine counted
 * (agent/src/kpi/README.md, "Manual scrap"). Every change is a new version; the old ones are kept.
 */

/** What an operator says about one entry. */
export interface EntryFields {
  machine: string;
  /** When the scrap was made, epoch ms: it lands in the machine's window that holds this time. */
  ts: number;
  /** Scrapped parts; at least one of parts and kg. */
  parts: number | undefined;
  /** Scrapped mass; without it, parts × the window's part mass. */
  kg: number | undefined;
  /** A scrap reason code of the machine's site; undefined: `unassigned`. */
  reason: string | undefined;
  /** Where the scrap went; undefined: the reason's, the machine's or the material's destination, as for counted scrap. */
  destination: string | undefined;
  comment: string | undefined;
}

/** One stored version of an entry. */
export interface EntryVersion extends EntryFields {
  id: string;
  /** 1 for the entry as first recorded; each edit or delete adds 1. */
  version: number;
  kind: 'created' | 'edited' | 'deleted';
  /** Who made this version (the API token's name). */
  by: string;
  /** When this version was recorded, epoch ms. */
  at: number;
  /** Why an entry was edited or deleted; absent on creation. */
  why: string | undefined;
}

/** An entry: its current version and every version, oldest first. */
export interface Entry {
  current: EntryVersion;
  history: EntryVersion[];
}

/** The largest quantities one entry may hold: a bin of rejects, not a week's output; beyond them it is a typo. */
export const ENTRY_MAX_PARTS = 1_000_000;
export const ENTRY_MAX_KG = 100_000;

/** A field of an entry that is not acceptable, and why: a 400 that names it. */
export interface EntryProblem {
  field: keyof EntryFields | 'time' | 'why';
  message: string;
}

/** A change of an entry: the fields to change (null clears an optional one). */
export type EntryChanges = { [K in keyof EntryFields]?: EntryFields[K] | null };

/** What asking for an entry change gives: the entry as it now is, or why not. */
export type EntryOutcome = { entry: Entry } | { problem: EntryProblem } | { notFound: string } | { conflict: string };

/** Manual scrap entries as the API offers them; each change is checked, stored and applied to its windows at once. */
export interface EntryService {
  create(fields: Omit<EntryFields, 'ts'> & { ts: number | undefined }, by: string): EntryOutcome;
  edit(id: string, changes: EntryChanges, why: string, by: string): EntryOutcome;
  remove(id: string, why: string, by: string): EntryOutcome;
  get(id: string): Entry | undefined;
  list(q: { machine?: string | undefined; from?: number | undefined; to?: number | undefined; limit?: number | undefined }): Entry[];
}

/** One version of an entry as the API and the reports show it: snake_case, times in epoch ms. */
export interface EntryVersionJson {
  version: number;
  event: EntryVersion['kind'];
  by: string;
  at: number;
  why?: string;
  machine: string;
  time: number;
  parts?: number;
  kg?: number;
  reason?: string;
  destination?: string;
  comment?: string;
}

/** An entry as `GET /api/v1/entries` lists it: the current version at top level, every version under `history`. */
export type EntryJson = EntryVersionJson & { id: string; deleted: boolean; history: EntryVersionJson[] };

function versionToJson(v: EntryVersion): EntryVersionJson {
  return {
    version: v.version,
    event: v.kind,
    by: v.by,
    at: v.at,
    ...(v.why !== undefined ? { why: v.why } : {}),
    machine: v.machine,
    time: v.ts,
    ...(v.parts !== undefined ? { parts: v.parts } : {}),
    ...(v.kg !== undefined ? { kg: v.kg } : {}),
    ...(v.reason !== undefined ? { reason: v.reason } : {}),
    ...(v.destination !== undefined ? { destination: v.destination } : {}),
    ...(v.comment !== undefined ? { comment: v.comment } : {}),
  };
}

export function entryToJson(e: Entry): EntryJson {
  return { id: e.current.id, deleted: e.current.kind === 'deleted', ...versionToJson(e.current), history: e.history.map(versionToJson) };
}
