import { describe, expect, it } from 'vitest';
import { loadScenario, scenarioConfig, scenarioMessages } from '../../../test/helpers/scenario.js';
import { VirtualClock } from '../core/clock.js';
import { validateConfig } from '../config/load.js';
import { createPipeline } from '../wiring/pipeline-options.js';
import { replay } from '../replay.js';
import { Store } from '../store/store.js';
import { alertsSchema, resolveRules } from './config.js';
import { SlidingParts } from './fast.js';
import { FRESH, step } from './lifecycle.js';
import { pChartLimit } from './rules.js';

const SPIKE = 'plant1/l2/m02';
const MINUTE = 60_000;

/** The reference scenario "basic": m02 makes about 25 % scrap in windows 3 to 5 (minutes 3–6), ~1–4 % otherwise. */
const BASIC = loadScenario('basic');
/** Window k of the scenario starts at E + k minutes. */
const E = BASIC.config.epoch_ms;

function runBasic(rules: unknown[]) {
  const s = BASIC;
  const cfg = validateConfig({ ...scenarioConfig(s), alerts: { rules } });
  const store = new Store({ path: ':memory:' });
  replay(cfg, scenarioMessages(s), store);
  const alerts = store.alerts.query();
  store.close();
  return alerts;
}

describe('alert rules on the reference scenario "basic"', () => {
  const rules = [
    { id: 'threshold', type: 'threshold', scrapRate: 0.15, minParts: 30 },
    { id: 'pchart-baseline', type: 'pChart', k: 3, baselineWindows: 20, minBaselineWindows: 3 },
    { id: 'pchart-target', type: 'pChart', k: 3, target: 0.03 },
    { id: 'sustained', type: 'sustained', scrapRate: 0.15, m: 2, n: 3 },
    { id: 'fast', type: 'fast', scrapRate: 0.15, parts: 40 },
  ];
  const alerts = runBasic(rules);

  it('the spiking machine fires once per rule and every alert resolves after the spike; the other machines raise nothing', () => {
    expect(alerts.every((a) => a.machine === SPIKE), JSON.stringify(alerts.map((a) => [a.machine, a.rule]))).toBe(true);
    expect(alerts.map((a) => a.rule).sort()).toEqual(rules.map((r) => r.id).sort());
    for (const a of alerts) {
      expect(a.state, a.rule).toBe('resolved');
      expect(a.resolvedAt!, a.rule).toBeGreaterThan(a.startedAt);
    }
  });

  it('window rules fire for the first spike window and resolve with the first normal one; sustained fires once m of n are above and resolves once fewer than m are near', () => {
    const by = Object.fromEntries(alerts.map((a) => [a.rule, a]));
    for (const id of ['threshold', 'pchart-baseline', 'pchart-target']) {
      expect(by[id]!.windowStart, id).toBe(E + 3 * MINUTE);
      expect(by[id]!.resolvedAt, id).toBe(E + 7 * MINUTE);
      expect(by[id]!.value).toBeCloseTo(21 / 82, 12);
    }
    expect(by.sustained!.windowStart).toBe(E + 4 * MINUTE);
    // …and resolves once fewer than m of the last n windows are near the limit: after window 7.
    expect(by.sustained!.resolvedAt).toBe(E + 8 * MINUTE);
    // The p-chart limit from the machine's own first three windows: p̄ = 2/202.
    expect(by['pchart-baseline']!.threshold).toBeCloseTo(pChartLimit(2 / 202, 82, 3), 12);
    expect(by['pchart-target']!.threshold).toBeCloseTo(pChartLimit(0.03, 82, 3), 12);
  });

  it('the fast rule fires inside the first spike window, before it closes, and says so in event time', () => {
    const fast = alerts.find((a) => a.rule === 'fast')!;
    expect(fast.windowStart).toBeUndefined();
    expect(fast.startedAt).toBeGreaterThanOrEqual(E + 3 * MINUTE);
    expect(fast.startedAt).toBeLessThan(E + 4 * MINUTE);
    expect(fast.resolvedAt!).toBeGreaterThan(E + 6 * MINUTE);
    expect(fast.message).toContain(SPIKE);
  });
});

describe('alert lifecycle', () => {
  const rule = { minDuration: 0, cooldown: 10 * MINUTE };
  const breach = { judged: true, value: 0.3, limit: 0.1, parts: 100, breach: true, clear: false };
  const band = { judged: true, value: 0.09, limit: 0.1, parts: 100, breach: false, clear: false };
  const clear = { judged: true, value: 0.01, limit: 0.1, parts: 100, breach: false, clear: true };

  it('fires on a breach, holds in the hysteresis band, resolves on a clear value, and stays quiet during the cooldown', () => {
    let r = step(FRESH, breach, 0, MINUTE, rule);
    expect(r.transition).toBe('fire');
    r = step(r.state, band, MINUTE, 2 * MINUTE, rule);
    expect(r.transition).toBe('update');
    r = step(r.state, clear, 2 * MINUTE, 3 * MINUTE, rule);
    expect(r.transition).toBe('resolve');
    // A new breach within ten minutes of the resolve: quiet.
    r = step(r.state, breach, 3 * MINUTE, 4 * MINUTE, rule);
    expect(r.transition).toBe('none');
    r = step(r.state, breach, 12 * MINUTE, 13 * MINUTE, rule);
    expect(r.transition).toBe('fire');
  });

  it('minDuration: fires only once the breach has lasted that long; a clear window starts over', () => {
    const slow = { minDuration: 3 * MINUTE, cooldown: 0 };
    let r = step(FRESH, breach, 0, MINUTE, slow);
    expect(r.transition).toBe('none');
    r = step(r.state, breach, MINUTE, 2 * MINUTE, slow);
    expect(r.transition).toBe('none');
    r = step(r.state, clear, 2 * MINUTE, 3 * MINUTE, slow);
    r = step(r.state, breach, 3 * MINUTE, 4 * MINUTE, slow);
    r = step(r.state, breach, 4 * MINUTE, 5 * MINUTE, slow);
    expect(r.transition).toBe('none');
    r = step(r.state, breach, 5 * MINUTE, 6 * MINUTE, slow);
    expect(r.transition).toBe('fire');
  });

  it('an unjudged window (too few parts) does not resolve an open alert, and ends a breach run', () => {
    const open = step(FRESH, breach, 0, MINUTE, rule).state;
    expect(step(open, { ...clear, judged: false }, MINUTE, 2 * MINUTE, rule)).toEqual({ state: open, transition: 'none' });
    const slow = { minDuration: 2 * MINUTE, cooldown: 0 };
    let r = step(FRESH, breach, 0, MINUTE, slow);
    r = step(r.state, { ...breach, judged: false }, MINUTE, 2 * MINUTE, slow);
    r = step(r.state, breach, 2 * MINUTE, 3 * MINUTE, slow);
    expect(r.transition).toBe('none');
  });
});

describe('fast rule sliding count', () => {
  it('covers the last N parts, dropping whole old chunks only while the rest still covers N', () => {
    const s = new SlidingParts(10);
    expect(s.add(6, 0)).toBe(false);
    expect(s.add(3, 1)).toBe(true);
    expect(s.rate()).toBeCloseTo(0.1);
    s.add(0, 5); // 15 parts: the first chunk (6) can go only if 9 still cover 10 — it cannot.
    expect(s.parts).toBe(15);
    s.add(5, 0); // 20 parts: dropping the 6 leaves 14 ≥ 10, dropping the next 4 leaves exactly 10.
    expect(s.parts).toBe(10);
    expect(s.rate()).toBeCloseTo(0.5);
  });
});

describe('alert config', () => {
  it('line and machine overrides change a rule where they apply; errors name the key', () => {
    const cfg = alertsSchema.parse({
      rules: [{ id: 't', type: 'threshold', scrapRate: 0.1 }],
      lines: { 'p/l1': { t: { scrapRate: 0.2 } } },
      machines: { 'p/l1/m2': { t: { enabled: false } } },
    });
    const { rules, issues } = resolveRules(cfg, ['p/l1/m1', 'p/l1/m2', 'p/l2/m3']);
    expect(issues).toEqual([]);
    expect(rules.get('p/l1/m1')).toMatchObject([{ id: 't', scrapRate: 0.2 }]);
    expect(rules.get('p/l1/m2')).toEqual([]);
    expect(rules.get('p/l2/m3')).toMatchObject([{ id: 't', scrapRate: 0.1 }]);

    const bad = alertsSchema.parse({
      rules: [{ id: 't', type: 'threshold', scrapRate: 0.1 }],
      lines: { 'p/l9': { t: { scrapRate: 2 } }, 'p/l1': { x: {} } },
    });
    const r = resolveRules(bad, ['p/l1/m1']);
    expect(r.issues.map((i) => i.path.join('.'))).toEqual(['lines.p/l9', 'lines.p/l1.x']);
    expect(r.issues[0]!.message).toContain('unknown line "p/l9"; expected one of: p/l1');
    const typed = resolveRules(alertsSchema.parse({ rules: [{ id: 't', type: 'threshold', scrapRate: 0.1 }], lines: { 'p/l1': { t: { scrapRate: 2 } } } }), ['p/l1/m1']);
    expect(typed.issues[0]!.path).toEqual(['lines', 'p/l1', 't', 'scrapRate']);
  });
});

describe('alerts when the store fails for a while', () => {
  it('a commit that rolls back leaves the alerts as if it never happened: the same alerts, in the same states, once the store works again', () => {
    const rules = [
      { id: 'threshold', type: 'threshold', scrapRate: 0.15, minParts: 30 },
      { id: 'sustained', type: 'sustained', scrapRate: 0.15, m: 2, n: 3 },
      { id: 'fast', type: 'fast', scrapRate: 0.15, parts: 40 },
    ];
    const cfg = validateConfig({ ...scenarioConfig(BASIC), alerts: { rules } });
    /**
     * Once the windows of minute 2 are stored, the next 8 commits fail after running (the rules have
     * moved on when each rolls back): with the back-off they span minutes 3 to 7, the spike.
     */
    class FlakyStore extends Store {
      failures = 0;
      override transaction<T>(fn: () => T): T {
        return super.transaction(() => {
          const r = fn();
          if (this.failures < 8 && this.queryAggregates({ from: E + 2 * MINUTE, limit: 1 }).length > 0) {
            this.failures++;
            throw new Error('SQLITE_FULL: database or disk is full');
          }
          return r;
        });
      }
    }
    const flaky = new FlakyStore({ path: ':memory:' });
    replay(cfg, scenarioMessages(BASIC), flaky);
    const clean = new Store({ path: ':memory:' });
    replay(cfg, scenarioMessages(BASIC), clean);
    const view = (s: Store) =>
      s.alerts
        .query()
        .map((a) => `${a.machine} ${a.rule} ${a.state} ${a.windowStart ?? 'fast'} ${a.resolvedAt}`)
        .sort();
    expect(flaky.failures).toBe(8);
    expect(view(flaky)).toEqual(view(clean));
    const events = (s: Store) => s.alerts.events({ machine: SPIKE }).map((e) => `${e.kind} ${e.alert.rule}`);
    expect(events(flaky).sort()).toEqual(events(clean).sort());
    flaky.close();
    clean.close();
  });
});

describe('alerts after a config change', () => {
  it('an open alert whose rule is gone is resolved by the config at the next commit, not left firing', () => {
    const withRule = validateConfig({ ...scenarioConfig(BASIC), alerts: { rules: [{ id: 'threshold', type: 'threshold', scrapRate: 0.15, minParts: 30 }] } });
    const store = new Store({ path: ':memory:' });
    const cut = E + 5.5 * MINUTE;
    replay(withRule, scenarioMessages(BASIC).filter((m) => m.arrival < cut), store);
    expect(store.alerts.query({ state: 'open' })).toHaveLength(1);
    const without = validateConfig(scenarioConfig(BASIC));
    const pipeline = createPipeline(without, store, new VirtualClock(cut));
    pipeline.checkpoint();
    expect(store.alerts.query({ state: 'open' })).toHaveLength(0);
    const events = store.alerts.events({ machine: SPIKE });
    expect(events.map((e) => `${e.kind} ${e.by}`)).toEqual(['fired rule', 'resolved config']);
    store.close();
  });
});
