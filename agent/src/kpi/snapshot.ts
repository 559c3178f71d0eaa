import type { Breakdowns } from '../core/aggregate.js';
import type { SignalKind } from '../core/signals.js';

/**
 * Version of the checkpoint format. A change of what a snapshot holds (a new field of a window,
 * say) is a new version, with `decodeSnapshot` reading the older ones.
 * 1: counters, sequence numbers and open windows. 2: a window may carry `breakdowns`.
 * 3: a machine may carry the scrap reason in force and the counters of its scrap reasons.
 */
export const SNAPSHOT_VERSION = 3;

/** Saved state of one counter or delta signal. */
export interface SignalSnapshot {
  kind: SignalKind;
  has: boolean;
  last: number;
  lastTs: number;
  streak: number;
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
const READABLE_VERSIONS: readonly unknown[] = [1, 2, SNAPSHOT_VERSION];

/**
 * A stored checkpoint read back, in the current format, or undefined when it was written in a
 * format this version does not know (a newer agent's): the engine then starts from no state, as
 * on a first start.
 */
export function decodeSnapshot(text: string): EngineSnapshot | undefined {
  const data = JSON.parse(text) as { version?: unknown; machines?: unknown; windows?: unknown } | null;
  if (data === null || typeof data !== 'object' || !READABLE_VERSIONS.includes(data.version)) return undefined;
  if (typeof data.machines !== 'object' || data.machines === null || !Array.isArray(data.windows)) return undefined;
  // Version 1 is version 2 without breakdowns, and version 2 is version 3 without scrap reasons.
  return { ...(data as EngineSnapshot), version: SNAPSHOT_VERSION };
}
