import { randomUUID } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { SCRAP_DESTINATIONS } from '../core/reasons.js';
import type { Clock } from '../core/clock.js';
import type { EntryFields, EntryOutcome, EntryService, EntryVersion } from '../core/entries.js';
import { checkEntry, type EntryRules } from '../kpi/manual.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import { siteReasonCodes } from './pipeline-options.js';
import type { Store } from '../store/store.js';

/** The checks an entry must pass, from the config (agent/src/kpi/README.md, "Manual scrap"). */
export function entryRules(cfg: Config, hasMachine: (machine: string) => boolean): EntryRules {
  const reasons = siteReasonCodes(cfg);
  return {
    hasMachine,
    reasonsOf: (machine) => reasons.get(machine.split('/')[0]!),
    destinations: SCRAP_DESTINATIONS,
    correctionHorizonMs: cfg.kpi.correctionHorizon,
    maxFutureSkewMs: cfg.kpi.maxFutureSkew,
  };
}

/**
 * Manual scrap entries over the store and the pipeline: each change is checked, then stored as a
 * new version in the same transaction as the revision of the windows it changes.
 */
export function entryService(cfg: Config, store: Store, pipeline: Pipeline, clock: Clock, newId: () => string = randomUUID): EntryService {
  const rules = entryRules(cfg, (m) => pipeline.hasMachine(m));
  const save = (v: EntryVersion, was: { machine: string; ts: number } | undefined): EntryOutcome => {
    pipeline.changeEntry(() => {
      store.entries.append(v);
      return was === undefined ? [v] : [was, v];
    });
    return { entry: store.entries.get(v.id)! };
  };
  /** The entry's current version, when it may still change: not deleted, and its window still within the correction horizon. */
  const changeable = (id: string, now: number): EntryVersion | EntryOutcome => {
    const e = store.entries.get(id);
    if (e === undefined) return { notFound: `no manual entry "${id}"` };
    if (e.current.kind === 'deleted') return { conflict: `manual entry "${id}" is deleted` };
    if (e.current.ts < now - rules.correctionHorizonMs) return { conflict: `manual entry "${id}" is older than kpi.correctionHorizon: its window can no longer be corrected` };
    return e.current;
  };
  return {
    create(fields, by) {
      const now = clock.now();
      const f: EntryFields = { ...fields, ts: fields.ts ?? now };
      const problem = checkEntry(f, rules, now);
      if (problem !== undefined) return { problem };
      return save({ ...f, id: newId(), version: 1, kind: 'created', by, at: now, why: undefined }, undefined);
    },
    edit(id, changes, why, by) {
      const now = clock.now();
      const cur = changeable(id, now);
      if (!('version' in cur)) return cur;
      const f: EntryFields = { machine: cur.machine, ts: cur.ts, parts: cur.parts, kg: cur.kg, reason: cur.reason, destination: cur.destination, comment: cur.comment };
      for (const [k, v] of Object.entries(changes)) if (v !== undefined) (f as unknown as Record<string, unknown>)[k] = v ?? undefined;
      const problem = checkEntry(f, rules, now);
      if (problem !== undefined) return { problem };
      return save({ ...f, id, version: cur.version + 1, kind: 'edited', by, at: now, why }, cur);
    },
    remove(id, why, by) {
      const now = clock.now();
      const cur = changeable(id, now);
      if (!('version' in cur)) return cur;
      return save({ ...cur, version: cur.version + 1, kind: 'deleted', by, at: now, why }, undefined);
    },
    get: (id) => store.entries.get(id),
    list: (q) => store.entries.query(q),
  };
}
