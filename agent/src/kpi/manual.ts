import type { Breakdowns, Components } from '../core/aggregate.js';
import { ENTRY_MAX_KG, ENTRY_MAX_PARTS, type EntryFields, type EntryProblem } from '../core/entries.js';
import { isReasonCode, UNASSIGNED_REASON } from '../core/reasons.js';
import { addToBreakdowns } from './breakdowns.js';
import { MANUAL_DESTINATION_DIMENSION, MANUAL_REASON_DIMENSION, UNKNOWN_DESTINATION, type DestinationOf } from './derive.js';

/** What a window's manual entries add: the manual components and their split by reason and destination. */
export interface ManualSums {
  components: Components;
  breakdowns: Breakdowns;
}

/**
 * Sums the current versions of the manual entries of one window (agent/src/kpi/README.md,
 * "Manual scrap"). An entry without kg weighs its parts × the window's part mass; without either,
 * its mass is unknown and only its parts count. Undefined when the window has no entries. Pure.
 */
export function manualSums(entries: readonly Pick<EntryFields, 'parts' | 'kg' | 'reason' | 'destination'>[], partMassKg: number | undefined, destinationOf: DestinationOf): ManualSums | undefined {
  if (entries.length === 0) return undefined;
  let parts: number | undefined;
  let kg: number | undefined;
  let b: Breakdowns | undefined;
  for (const e of entries) {
    const reason = e.reason ?? UNASSIGNED_REASON;
    const k = e.kg ?? (e.parts !== undefined && partMassKg !== undefined ? e.parts * partMassKg : undefined);
    // Only entries with parts count parts: a purge in kg says nothing of the part counts.
    if (e.parts !== undefined) {
      parts = (parts ?? 0) + e.parts;
      b = addToBreakdowns(b, MANUAL_REASON_DIMENSION, reason, 'parts_scrap', e.parts);
    }
    if (k === undefined) continue;
    kg = (kg ?? 0) + k;
    b = addToBreakdowns(b, MANUAL_REASON_DIMENSION, reason, 'scrap_kg', k);
    b = addToBreakdowns(b, MANUAL_DESTINATION_DIMENSION, e.destination ?? destinationOf(e.reason) ?? UNKNOWN_DESTINATION, 'scrap_kg', k);
  }
  const components: Components = {};
  if (parts !== undefined) components.manual_scrap_parts = parts;
  if (kg !== undefined) components.manual_scrap_kg = kg;
  return { components, breakdowns: b ?? {} };
}

/** What the agent knows to check an entry against. */
export interface EntryRules {
  hasMachine(machine: string): boolean;
  /** The scrap reason codes of a machine's site; undefined: the site defines none, so any well-formed code is taken. */
  reasonsOf(machine: string): ReadonlySet<string> | undefined;
  destinations: readonly string[];
  /** Oldest and newest time an entry may have at `now` (`kpi.correctionHorizon`, `kpi.maxFutureSkew`). */
  correctionHorizonMs: number;
  maxFutureSkewMs: number;
}


/** Checks an entry as an operator gave it; the first problem found, or undefined. Pure. */
export function checkEntry(e: EntryFields, rules: EntryRules, now: number): EntryProblem | undefined {
  if (!rules.hasMachine(e.machine)) return { field: 'machine', message: `no machine "${e.machine}" is configured` };
  if (!Number.isFinite(e.ts)) return { field: 'time', message: 'expected epoch milliseconds or an ISO 8601 date-time' };
  if (e.ts < now - rules.correctionHorizonMs) return { field: 'time', message: `is older than kpi.correctionHorizon (${Math.round(rules.correctionHorizonMs / 3_600_000)} h): its window can no longer be corrected` };
  if (e.ts > now + rules.maxFutureSkewMs) return { field: 'time', message: 'is in the future' };
  if (e.parts === undefined && e.kg === undefined) return { field: 'parts', message: 'give parts, kg or both' };
  const quantity = (field: 'parts' | 'kg', v: number | undefined, max: number): EntryProblem | undefined => {
    if (v === undefined) return undefined;
    if (!Number.isFinite(v) || v <= 0) return { field, message: `expected a number above 0, got ${v}` };
    if (field === 'parts' && !Number.isInteger(v)) return { field, message: `expected whole parts, got ${v}` };
    if (v > max) return { field, message: `${v} is more than one entry may hold (${max}); split it or check the unit` };
    return undefined;
  };
  const q = quantity('parts', e.parts, ENTRY_MAX_PARTS) ?? quantity('kg', e.kg, ENTRY_MAX_KG);
  if (q !== undefined) return q;
  if (e.reason !== undefined) {
    const codes = rules.reasonsOf(e.machine);
    if (codes !== undefined ? !codes.has(e.reason) : !isReasonCode(e.reason)) {
      return { field: 'reason', message: codes !== undefined ? `"${e.reason}" is not a scrap reason of this machine's site (${[...codes].sort().join(', ')})` : `"${e.reason}" is not a reason code (letters, digits, . _ -, not "${UNASSIGNED_REASON}")` };
    }
  }
  if (e.destination !== undefined && !rules.destinations.includes(e.destination)) return { field: 'destination', message: `expected one of ${rules.destinations.join(', ')}` };
  return undefined;
}
