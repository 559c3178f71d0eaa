import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Sample } from '../core/sample.js';
import { SIGNAL_INDEX } from '../core/signals.js';
import { KpiEngine, type DueWindow, type EngineOptions, type EngineSnapshot } from './engine.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot.js';
import type { Aggregate } from '../core/aggregate.js';
import { toAggregate } from '../pipeline/emit.js';

const W = 60_000;
const T0 = Date.UTC(2026, 11, 1, 6, 0, 0);
const M = 'plant/l1/press';
const SCRAP = SIGNAL_INDEX.parts_scrap;
const REASONS = ['burr', 'crack', 'dent'] as const;

function engine(kind: 'counter' | 'delta', scrapReasons?: string[], rollover?: number): KpiEngine {
  const opts: EngineOptions = {
    windowMs: W,
    latenessMs: 10_000,
    maxFutureSkewMs: 300_000,
    correctionHorizonMs: 86_400_000,
    machines: [
      {
        path: M,
        partMassKg: 0.2,
        signals: { parts_good: { kind: 'counter' }, parts_scrap: kind === 'counter' ? { kind, rollover } : { kind } },
        scrapReasons: scrapReasons === undefined ? undefined : new Set(scrapReasons),
      },
    ],
  };
  return new KpiEngine(opts);
}

const scrap = (value: number, ts: number, reason?: string, seq?: number): Sample => ({ machine: M, signal: 'parts_scrap', value, ts, source: 't', ...(reason !== undefined ? { reason } : {}), ...(seq !== undefined ? { seq } : {}) });
const reasonField = (value: string | number, ts: number): Sample => ({ machine: M, signal: 'scrap_reason', value, ts, source: 't' });

/** Scrap parts by reason summed over windows (first emissions and revisions alike), and the parts no reason explains. */
function byReason(windows: readonly DueWindow[]): { reasons: Record<string, number>; scrap: number; unassigned: number } {
  const reasons: Record<string, number> = {};
  let scrapParts = 0;
  for (const { window: w } of windows) {
    scrapParts += w.sums[SCRAP]!;
    for (const [code, m] of Object.entries(w.breakdowns?.reason ?? {})) reasons[code] = (reasons[code] ?? 0) + m.parts_scrap!;
  }
  return { reasons, scrap: scrapParts, unassigned: scrapParts - Object.values(reasons).reduce((a, b) => a + b, 0) };
}

describe('scrap by reason in the KPI core', () => {
  it('a reason field beside the scrap counter: increments go to the reason in force; none in force, or an empty one, is unassigned', () => {
    const e = engine('counter');
    const t = (s: number) => T0 + s * 1000;
    e.ingest([scrap(100, t(1))], t(1)); // baseline
    e.ingest([scrap(102, t(2))], t(2)); // 2 unassigned: no reason yet
    e.ingest([reasonField('burr', t(3)), scrap(105, t(3))], t(3)); // 3 burr
    e.ingest([scrap(106, t(4))], t(4)); // 1 burr: still in force
    e.ingest([reasonField(7, t(5)), scrap(110, t(5))], t(5)); // 4 under the numeric code "7"
    e.ingest([reasonField('', t(6)), scrap(111, t(6))], t(6)); // 1 unassigned
    expect(byReason(e.takeAll())).toEqual({ reasons: { burr: 4, '7': 4 }, scrap: 11, unassigned: 3 });
  });

  it('one counter per reason: each is its own counter, with its own baseline, reset and rollover; parts_scrap is their sum', () => {
    const e = engine('counter', undefined, 65536);
    const t = (s: number) => T0 + s * 1000;
    e.ingest([scrap(10, t(1), 'burr'), scrap(500, t(1), 'crack')], t(1)); // two baselines
    e.ingest([scrap(13, t(2), 'burr'), scrap(501, t(2), 'crack')], t(2)); // +3 burr, +1 crack
    e.ingest([scrap(2, t(3), 'burr')], t(3)); // burr counter reset: +2
    e.ingest([scrap(65535, t(4), 'crack')], t(4)); // +65034: plausible without a rate limit
    e.ingest([scrap(1, t(5), 'crack')], t(5)); // wrapped: +2
    const got = byReason(e.takeAll());
    expect(got).toEqual({ reasons: { burr: 5, crack: 65037 }, scrap: 65042, unassigned: 0 });
    expect(e.stats.resets).toBe(1);
    expect(e.stats.rollovers).toBe(1);
  });

  it('an event per scrapped part with its reason: a redelivered event (same sequence number) counts once', () => {
    const e = engine('delta');
    const t = (s: number) => T0 + s * 1000;
    e.ingest([scrap(1, t(1), 'burr', 1)], t(1));
    e.ingest([scrap(1, t(2), 'crack', 2)], t(2));
    e.ingest([scrap(1, t(2), 'crack', 2)], t(3)); // QoS 1 redelivery
    e.ingest([scrap(2, t(4), 'burr', 3)], t(4));
    expect(byReason(e.takeAll())).toEqual({ reasons: { burr: 3, crack: 1 }, scrap: 4, unassigned: 0 });
    expect(e.stats.dup).toBe(1);
  });

  it('a code the site does not know: the parts still count as scrap, unassigned, and the code is a counted rejection', () => {
    const e = engine('delta', ['burr']);
    e.ingest([scrap(2, T0, 'burr', 1), scrap(3, T0, 'smudge', 2)], T0);
    expect(byReason(e.takeAll())).toEqual({ reasons: { burr: 2 }, scrap: 5, unassigned: 3 });
    expect(e.stats.rejected.get('unknown_reason')).toBe(1);
  });

  it('the reason in force and the reason counters survive a restart: the next reading counts on from the checkpoint', () => {
    const a = engine('counter');
    a.ingest([scrap(10, T0, 'burr'), reasonField('crack', T0)], T0);
    const b = engine('counter');
    b.restore(decodeSnapshot(encodeSnapshot(a.snapshot()))!);
    b.ingest([scrap(14, T0 + 1000, 'burr')], T0 + 1000);
    expect(byReason(b.takeAll()).reasons).toEqual({ burr: 4 });
    // The restored reason in force applies to a counter without a reason of its own.
    const c = engine('counter');
    c.restore(decodeSnapshot(encodeSnapshot(b.snapshot()))!);
    c.ingest([scrap(0, T0 + 2000)], T0 + 2000);
    c.ingest([scrap(5, T0 + 3000)], T0 + 3000);
    expect(byReason(c.takeAll()).reasons).toEqual({ crack: 5 });
  });

  it('random per-reason counters with resets, rollovers, late and duplicate deliveries and crashes: every window\'s reasons add up to its parts_scrap (and its kg by reason and destination to its scrap_kg), and each reason to its own increments', () => {
    const ROLL = 256;
    const step = fc.record({
      reason: fc.constantFrom(...REASONS),
      inc: fc.integer({ min: 0, max: 40 }),
      reset: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      gapMs: fc.integer({ min: 100, max: 45_000 }),
      delay: fc.integer({ min: 0, max: 90_000 }),
      action: fc.integer({ min: 0, max: 12 }),
    });
    /** Runs the messages in arrival order with checkpoints, crashes (and redelivery since the checkpoint) and duplicates; returns what was emitted. */
    const run = (msgs: { sample: Sample; arrival: number; action: number }[]): DueWindow[] => {
      const order = [...msgs.keys()].sort((x, y) => msgs[x]!.arrival - msgs[y]!.arrival || x - y);
      let e = engine('counter', undefined, ROLL);
      const emitted: DueWindow[] = [];
      let checkpoint = { snap: encodeSnapshot(e.snapshot()), k: 0 };
      const crashed = new Set<number>();
      for (let k = 0; k < order.length; k++) {
        const msg = msgs[order[k]!]!;
        if (msg.action === 11) {
          emitted.push(...e.takeDue(msg.arrival));
          checkpoint = { snap: encodeSnapshot(e.snapshot()), k };
        } else if (msg.action === 12 && !crashed.has(k)) {
          crashed.add(k);
          e = engine('counter', undefined, ROLL);
          e.restore(decodeSnapshot(checkpoint.snap) as EngineSnapshot);
          k = checkpoint.k - 1;
          continue;
        } else if (msg.action === 10) e.ingest([msg.sample], msg.arrival);
        e.ingest([msg.sample], msg.arrival);
      }
      emitted.push(...e.takeAll());
      for (const { window: w } of emitted) {
        const parts = Object.values(w.breakdowns?.reason ?? {}).reduce((a, m) => a + m.parts_scrap!, 0);
        expect(parts, `window ${w.start}`).toBe(w.sums[SCRAP]);
      }
      // Emitted as the pipeline does (first emissions, then revisions on top): each window's split adds up to its scrap, in parts and in kg by destination.
      const stored = new Map<number, Aggregate>();
      for (const d of emitted) {
        const a = toAggregate(d, stored.get(d.window.start), d.window.end, new Map(), (_m, _mat, reason) => (reason === 'crack' ? 'landfill' : reason === undefined ? undefined : 'internal_reuse'));
        if (a === undefined) continue;
        stored.set(a.windowStart, a);
        const reasons = Object.values(a.split?.reason ?? {});
        expect(reasons.reduce((n, m) => n + m.parts_scrap!, 0)).toBe(a.kpis.parts_scrap);
        expect(reasons.reduce((n, m) => n + m.scrap_kg!, 0)).toBeCloseTo(a.kpis.scrap_kg!, 9);
        expect(Object.values(a.split?.destination ?? {}).reduce((n, m) => n + m.scrap_kg!, 0)).toBeCloseTo(a.kpis.scrap_kg!, 9);
      }
      return emitted;
    };
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 120 }), (steps) => {
        const value: Partial<Record<string, number>> = {};
        const truth: Record<string, number> = {};
        let ts = T0;
        const msgs = steps.map((s) => {
          ts += s.gapMs;
          const prev = value[s.reason];
          const v = s.reset ? s.inc : ((prev ?? 0) + s.inc) % ROLL;
          // The counter rule of the method: a drop of more than half the modulus is a wrap, a smaller one a reset.
          if (prev !== undefined) truth[s.reason] = (truth[s.reason] ?? 0) + (v >= prev ? v - prev : prev - v > ROLL / 2 ? ROLL - prev + v : v);
          else truth[s.reason] = 0;
          value[s.reason] = v;
          return { sample: scrap(v, ts, s.reason), arrival: ts, delay: s.delay, action: s.action };
        });
        // In order: each reason gets exactly its increments, and nothing is unassigned.
        const inOrder = byReason(run(msgs));
        expect(inOrder.unassigned).toBe(0);
        expect(inOrder.reasons).toEqual(Object.fromEntries(Object.entries(truth).filter(([, n]) => n > 0)));
        // Late: readings overtaken by newer ones are stale and dropped; the windows still add up.
        expect(byReason(run(msgs.map((m) => ({ ...m, arrival: m.arrival + m.delay })))).unassigned).toBe(0);
      }),
      { numRuns: 200, seed: 11 },
    );
  });
});
