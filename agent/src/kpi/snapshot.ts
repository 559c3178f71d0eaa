import type { Breakdowns } from '../core/aggregate.js';
import type { SignalKind } from '../core/signals.js';

/**
 * Version of the checkpoint format. A change of what a snapshot holds (a new field of a window,
 * say) is a new version, with `decodeSnapshot` reading the older ones.
 * 1: counters, sequence numbers and open windows. 2: a window may carry `breakdowns`.
 * 3: a machine may carry the scrap reason in force and the counters of its scrap reasons.
 * 4: a counter may carry its learned rate (`rate`).
 */
export const SNAPSHOT_VERSION = 4;

/** Saved state of one counter or delta signal. */
export interface SignalSnapshot {
  kind: SignalKind;
  has: boolean;
  last: number;
  lastTs: number;
  streak: number;
  /** The counter's learned peak rate (counts/s), the measuring spans with production it saw and when the first began (version 4). */
  rate?: { peak: number; spans: number; from: number };
  seq?: { max: number; ring: number[]; next: number; size: number };
}

/** Serializable engine state: saved with every emission, restored at start. */
export interface EngineSnapshot {
  version: typeof SNAPSHOT_VERSION;
  machines: Record<
    string,
    {
      product: string | undefined;
      material: string | undefined;
      partMassKg: number | undefined;
      signals: Record<string, SignalSnapshot>;
      /** The scrap reason in force (version 3). */
      reason?: string;
      /** Counters of the scrap reasons that come as their own counter or events, by code (version 3). */
      reasonCounters?: Record<string, SignalSnapshot>;
    }
  >;
  /** Window size the snapshot was written with; windows of another size keep their own end. */
  windowMs?: number;
  windows: {
    machine: string;
    start: number;
    end?: number;
    sums: number[];
    breakdowns?: Breakdowns;
    quality: number[];
    accepted: number;
    product?: string | undefined;
    material?: string | undefined;
    partMassKg?: number | undefined;
  }[];
}

/** The snapshot as the store keeps it: opaque text to everything but this module. */
export function encodeSnapshot(snapshot: EngineSnapshot): string {
  return JSON.stringify(snapshot);
}

/** Versions `decodeSnapshot` reads: each older one is what the current one is without its later fields. */
const READABLE_VERSIONS: readonly unknown[] = [1, 2, 3, SNAPSHOT_VERSION];

/**
 * A stored checkpoint read back, in the current format, or undefined when it was written in a
 * format this version does not know (a newer agent's): the engine then starts from no state, as
 * on a first start.
 */
export function decodeSnapshot(text: string): EngineSnapshot | undefined {
  const data = JSON.parse(text) as { version?: unknown; machines?: unknown; windows?: unknown } | null;
  if (data === null || typeof data !== 'object' || !READABLE_VERSIONS.includes(data.version)) return undefined;
  if (typeof data.machines !== 'object' || data.machines === null || !Array.isArray(data.windows)) return undefined;
  // Version 1 is version 2 without breakdowns, version 2 is version 3 without scrap reasons, and version 3 is version 4 without learned rates.
  return { ...(data as EngineSnapshot), version: SNAPSHOT_VERSION };
}

/**
 * The checkpoint as the store keeps it: a header and one part per machine (its counters and
 * its open windows). A commit rewrites only the parts that changed, so a machine that sent
 * nothing since the last commit costs no write (an SD card counts them).
 */
export interface CheckpointText {
  header: string;
  /** Machine path → that machine's part. */
  parts: Map<string, string>;
}

type MachineSnapshot = EngineSnapshot['machines'][string];
type WindowSnapshot = EngineSnapshot['windows'][number];

/** What a header of the cut layout says; a header without `layout` is a whole snapshot (the layout before). */
interface CheckpointHeader {
  layout: 'parts';
  version: number;
  windowMs?: number;
}

export function encodeCheckpoint(snapshot: EngineSnapshot): CheckpointText {
  const header: CheckpointHeader = { layout: 'parts', version: snapshot.version, ...(snapshot.windowMs !== undefined ? { windowMs: snapshot.windowMs } : {}) };
  const windows = new Map<string, WindowSnapshot[]>();
  for (const w of snapshot.windows) {
    const list = windows.get(w.machine);
    if (list === undefined) windows.set(w.machine, [w]);
    else list.push(w);
  }
  const parts = new Map<string, string>();
  for (const [path, state] of Object.entries(snapshot.machines)) parts.set(path, JSON.stringify({ state, windows: windows.get(path) ?? [] }));
  return { header: JSON.stringify(header), parts };
}

/**
 * A stored checkpoint read back (either layout), in the current format, or undefined when it was
 * written in a format this version does not know (see `decodeSnapshot`).
 */
export function decodeCheckpoint(header: string, parts: ReadonlyMap<string, string>): EngineSnapshot | undefined {
  const h = JSON.parse(header) as Partial<CheckpointHeader> | null;
  if (h === null || typeof h !== 'object' || h.layout !== 'parts') return decodeSnapshot(header);
  const machines: Record<string, MachineSnapshot> = {};
  const windows: WindowSnapshot[] = [];
  for (const [path, text] of parts) {
    const part = JSON.parse(text) as { state?: MachineSnapshot; windows?: WindowSnapshot[] };
    if (part.state !== undefined) machines[path] = part.state;
    if (Array.isArray(part.windows)) windows.push(...part.windows);
  }
  return decodeSnapshot(JSON.stringify({ version: h.version, ...(h.windowMs !== undefined ? { windowMs: h.windowMs } : {}), machines, windows }));
}
