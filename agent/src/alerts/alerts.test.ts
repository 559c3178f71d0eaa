import { describe, expect, it } from 'vitest';
import { loadScenario, scenarioConfig, scenarioMessages } from '../../../test/helpers/scenario.js';
import type { Alert, AlertChange } from '../core/alert.js';
import { VirtualClock } from '../core/clock.js';
import { validateConfig } from '../config/load.js';
import type { Pipeline } from '../pipeline/pipeline.js';
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
  const incident = alerts[0]!;
  const hit = Object.fromEntries(incident.rules.map((h) => [h.rule, h]));

  it('the spiking machine raises one alert, in which every rule fired once, ended once the last rule cleared; the other machines raise nothing', () => {
    expect(alerts.map((a) => [a.machine, a.state])).toEqual([[SPIKE, 'resolved']]);
    expect(incident.rules.map((h) => h.rule).sort()).toEqual(rules.map((r) => r.id).sort());
    for (const h of incident.rules) expect(h.resolvedAt!, h.rule).toBeGreaterThan(h.firedAt);
    expect(incident.resolvedAt).toBe(Math.max(...incident.rules.map((h) => h.resolvedAt!)));
  });

  it('window rules fire for the first spike window and clear with the first normal one; sustained fires once m of n are above and clears once fewer than m are near', () => {
    for (const id of ['threshold', 'pchart-baseline', 'pchart-target']) {
      expect(hit[id]!.firedAt, id).toBe(E + 3 * MINUTE);
      expect(hit[id]!.resolvedAt, id).toBe(E + 7 * MINUTE);
      expect(hit[id]!.value).toBeCloseTo(21 / 82, 12);
    }
    expect(hit.sustained!.firedAt).toBe(E + 4 * MINUTE);
    // …and clears once fewer than m of the last n windows are near the limit: after window 7, the last rule to clear.
    expect(hit.sustained!.resolvedAt).toBe(E + 8 * MINUTE);
    expect(incident.resolvedAt).toBe(E + 8 * MINUTE);
    // The p-chart limit from the machine's own first three windows: p̄ = 2/202.
    expect(hit['pchart-baseline']!.threshold).toBeCloseTo(pChartLimit(2 / 202, 82, 3), 12);
    expect(hit['pchart-target']!.threshold).toBeCloseTo(pChartLimit(0.03, 82, 3), 12);
  });

  it('the fast rule fires inside the first spike window, before it closes, and says so in event time: it opens the alert', () => {
    const fast = hit.fast!;
    expect(incident.rule).toBe('fast');
    expect(incident.windowStart).toBeUndefined();
    expect(incident.startedAt).toBe(fast.firedAt);
    expect(fast.firedAt).toBeGreaterThanOrEqual(E + 3 * MINUTE);
    expect(fast.firedAt).toBeLessThan(E + 4 * MINUTE);
    expect(fast.resolvedAt!).toBeGreaterThan(E + 6 * MINUTE);
    expect(incident.message).toContain(SPIKE);
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
        .map((a) => `${a.machine} ${a.rule} ${a.state} ${a.windowStart ?? 'fast'} ${a.resolvedAt} [${a.rules.map((h) => `${h.rule} ${h.firedAt}-${h.resolvedAt}`).join(', ')}]`)
        .sort();
    expect(flaky.failures).toBe(8);
    // One alert with its three rules, each once: the rolled-back commits did not add a rule twice.
    expect(view(clean)).toHaveLength(1);
    expect(clean.alerts.query()[0]!.rules.map((h) => h.rule)).toEqual(['fast', 'threshold', 'sustained']);
    expect(view(flaky)).toEqual(view(clean));
    const events = (s: Store) => s.alerts.events({ machine: SPIKE }).map((e) => `${e.kind} ${e.rule}`);
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

/** One machine fed directly, part by part: 10 parts every 6 s, `scrap` of them scrap; one-minute windows. */
const M = 'p/l/m1';
const T0 = Date.UTC(2026, 10, 27, 8, 0, 0);

/** Four rules that all see a 30 % spike: fast first (inside the window), threshold and p-chart at the window's end, sustained one window later (and critical). */
const SPIKE_RULES = [
  { id: 'fast', type: 'fast', scrapRate: 0.15, parts: 40 },
  { id: 'threshold', type: 'threshold', scrapRate: 0.15, minParts: 30 },
  { id: 'pchart', type: 'pChart', k: 3, target: 0.03 },
  { id: 'sustained', type: 'sustained', scrapRate: 0.15, m: 2, n: 3, severity: 'critical' },
];

function machineConfig(rules: unknown[]) {
  return validateConfig({
    kpi: { windowSize: '60s', allowedLateness: '10s' },
    machines: [{ path: M, partMassKg: 1, signals: { parts_good: { kind: 'delta' }, parts_scrap: { kind: 'delta' } } }],
    alerts: { rules },
  });
}

/** A pipeline on the machine, with every committed alert change kept; `restart` makes a new one on the same store (an agent restart). */
class Machine {
  readonly clock: VirtualClock;
  readonly changes: AlertChange[] = [];
  pipeline: Pipeline;
  /** Event time of the last parts fed. */
  t: number;

  constructor(
    rules: unknown[],
    readonly store = new Store({ path: ':memory:' }),
    t = T0,
  ) {
    this.t = t;
    this.clock = new VirtualClock(t);
    this.pipeline = this.start(rules);
  }

  private start(rules: unknown[]): Pipeline {
    return createPipeline(machineConfig(rules), this.store, this.clock, { onAlerts: (c) => this.changes.push(...c) });
  }

  restart(rules: unknown[] = SPIKE_RULES): void {
    this.pipeline.checkpoint();
    this.pipeline = this.start(rules);
  }

  /** Feeds `minutes` of production with `scrap` of every 10 parts scrap; ticks after each batch unless `tick` is false. */
  run(minutes: number, scrap: number, tick = true): this {
    for (let i = 0; i < minutes * 10; i++) {
      this.t += 6000;
      this.clock.set(this.t);
      this.pipeline.ingest([
        { machine: M, signal: 'parts_good', value: 10 - scrap, ts: this.t - 500, source: 't' },
        { machine: M, signal: 'parts_scrap', value: scrap, ts: this.t - 500, source: 't' },
      ]);
      if (tick) this.pipeline.tick();
    }
    return this;
  }

  /** Production until the clock reaches `at` (event time). */
  until(at: number, scrap: number): this {
    return this.run((at - this.t) / MINUTE, scrap);
  }

  notified(): string[] {
    return this.changes.filter((c) => c.notify).map((c) => `${c.kind} ${c.rule ?? ''}`.trim());
  }
}

describe('one alert per machine when several rules fire on the same spike (ISA-18.2: one incident per cause)', () => {
  it('fast, threshold, p-chart and sustained on one spike: one alert with the four rules inside, notified once, acknowledged once, over when the last rule clears', () => {
    const m = new Machine(SPIKE_RULES);
    m.until(T0 + 3 * MINUTE, 0).until(T0 + 4 * MINUTE + 30_000, 3);
    // The fast rule saw it first and opened the alert; threshold and p-chart joined it at the window's end without a second notification.
    const open = m.pipeline.openAlerts(M);
    expect(open).toHaveLength(1);
    const id = open[0]!.id;
    expect(open[0]).toMatchObject({ rule: 'fast', state: 'firing', severity: 'warning' });
    expect(open[0]!.rules.map((h) => [h.rule, h.resolvedAt])).toEqual([
      ['fast', undefined],
      ['threshold', undefined],
      ['pchart', undefined],
    ]);
    expect(m.notified()).toEqual(['fired fast']);
    expect(m.store.alerts.query({ state: 'open' }).map((a) => a.id)).toEqual([id]);

    // One acknowledgement for all of them; a second one is refused.
    expect(m.pipeline.acknowledge(id, 'Anna', 'die worn')).toMatchObject({ id, state: 'acknowledged', acknowledgedBy: 'Anna' });
    expect(m.pipeline.acknowledge(id, 'Bert', undefined)).toBeUndefined();

    // Sustained joins a window later; it is critical, so the alert becomes critical and that is notified; it stays acknowledged.
    m.until(T0 + 5 * MINUTE + 30_000, 3);
    expect(m.pipeline.openAlerts(M)[0]).toMatchObject({ id, state: 'acknowledged', severity: 'critical' });
    expect(m.notified()).toEqual(['fired fast', 'acknowledged', 'rule_fired sustained']);
    expect(m.store.alerts.query({ state: 'open', severity: 'critical' }).map((a) => a.id)).toEqual([id]);

    // The spike ends: fast, threshold and p-chart clear, but sustained still sees it: the alert stays open.
    m.until(T0 + 6 * MINUTE, 3).until(T0 + 7 * MINUTE + 30_000, 0);
    const still = m.store.alerts.get(id)!;
    expect(still.state).toBe('acknowledged');
    expect(still.rules.filter((h) => h.resolvedAt === undefined).map((h) => h.rule)).toEqual(['sustained']);
    expect(m.notified()).toEqual(['fired fast', 'acknowledged', 'rule_fired sustained']);

    // Sustained clears after window 7: the alert is over, at that time, notified once.
    m.until(T0 + 9 * MINUTE, 0);
    const done = m.store.alerts.get(id)!;
    expect(done).toMatchObject({ state: 'resolved', resolvedAt: T0 + 8 * MINUTE, acknowledgedBy: 'Anna', severity: 'critical' });
    expect(done.rules.map((h) => h.rule)).toEqual(['fast', 'threshold', 'pchart', 'sustained']);
    expect(m.store.alerts.query()).toHaveLength(1);
    expect(m.notified()).toEqual(['fired fast', 'acknowledged', 'rule_fired sustained', 'resolved sustained']);
    expect(m.store.alerts.events({ alertId: id }).map((e) => `${e.kind} ${e.rule ?? e.by}`)).toEqual([
      'fired fast',
      'rule_fired threshold',
      'rule_fired pchart',
      'acknowledged Anna',
      'rule_fired sustained',
      'rule_resolved fast',
      'rule_resolved threshold',
      'rule_resolved pchart',
      'resolved sustained',
    ]);
    m.store.close();
  });

  it('an agent restart in the middle restores the alert with its rules: they clear as if nothing happened, nothing fires twice', () => {
    const m = new Machine(SPIKE_RULES);
    m.until(T0 + 3 * MINUTE, 0).until(T0 + 5 * MINUTE + 30_000, 3);
    const id = m.pipeline.openAlerts(M)[0]!.id;
    m.restart();
    expect(m.pipeline.openAlerts(M).map((a) => [a.id, a.rules.map((h) => h.rule)])).toEqual([[id, ['fast', 'threshold', 'pchart', 'sustained']]]);
    m.until(T0 + 6 * MINUTE, 3).until(T0 + 9 * MINUTE, 0);
    expect(m.store.alerts.query().map((a) => [a.id, a.state, a.resolvedAt])).toEqual([[id, 'resolved', T0 + 8 * MINUTE]]);
    expect(m.store.alerts.events({ alertId: id }).map((e) => `${e.kind} ${e.rule}`)).toEqual([
      'fired fast',
      'rule_fired threshold',
      'rule_fired pchart',
      'rule_fired sustained',
      'rule_resolved fast',
      'rule_resolved threshold',
      'rule_resolved pchart',
      'resolved sustained',
    ]);
    m.store.close();
  });

  it('a rule removed from the config while its alert is open is cleared by the config; the alert stays open for its other rules', () => {
    const m = new Machine(SPIKE_RULES);
    m.until(T0 + 3 * MINUTE, 0).until(T0 + 5 * MINUTE + 30_000, 3);
    const id = m.pipeline.openAlerts(M)[0]!.id;
    m.restart(SPIKE_RULES.filter((r) => r.id !== 'pchart'));
    m.pipeline.checkpoint();
    const a = m.store.alerts.get(id)!;
    expect(a.state).toBe('firing');
    expect(a.rules.filter((h) => h.resolvedAt !== undefined).map((h) => h.rule)).toEqual(['pchart']);
    const events = m.store.alerts.events({ alertId: id });
    expect(events.map((e) => `${e.kind} ${e.rule} ${e.by}`).at(-1)).toBe('rule_resolved pchart config');
    m.until(T0 + 6 * MINUTE, 3).until(T0 + 9 * MINUTE, 0);
    expect(m.store.alerts.get(id)).toMatchObject({ state: 'resolved', resolvedAt: T0 + 8 * MINUTE });
    // The config clearing p-chart is not notified: the operator's alert did not change.
    expect(m.notified()).toEqual(['fired fast', 'rule_fired sustained', 'resolved sustained']);
    m.store.close();
  });

  it('alerts stored before incidents (one per rule, no rules list) read as an alert of their one rule; of two open on one machine the oldest stays the alert, the other is ended by the config', () => {
    const store = new Store({ path: ':memory:' });
    const old = (rule: string, ruleType: string, startedAt: number) =>
      ({
        id: `${M}|${rule}|${startedAt}`,
        machine: M,
        line: 'p/l',
        rule,
        ruleType,
        severity: 'warning',
        state: 'firing',
        value: 0.3,
        threshold: 0.15,
        parts: 40,
        startedAt,
        windowStart: undefined,
        updatedAt: startedAt,
        message: `30 % scrap (rule ${rule})`,
      }) as unknown as Alert;
    const first = old('threshold', 'threshold', T0 + 3 * MINUTE);
    const second = old('fast', 'fast', T0 + 3 * MINUTE + 12_000);
    store.alerts.record({ kind: 'fired', alert: first, at: first.updatedAt, by: 'rule', notify: true });
    store.alerts.record({ kind: 'fired', alert: second, at: second.updatedAt, by: 'rule', notify: true });
    expect(store.alerts.get(first.id)!.rules).toEqual([{ rule: 'threshold', ruleType: 'threshold', severity: 'warning', value: 0.3, threshold: 0.15, parts: 40, firedAt: T0 + 3 * MINUTE, resolvedAt: undefined }]);

    const m = new Machine(SPIKE_RULES, store, T0 + 4 * MINUTE);
    expect(m.pipeline.openAlerts(M).map((a) => [a.id, a.rules.map((h) => h.rule)])).toEqual([[first.id, ['threshold']]]);
    m.pipeline.checkpoint();
    expect(store.alerts.query({ state: 'open' }).map((a) => a.id)).toEqual([first.id]);
    expect(store.alerts.get(second.id)).toMatchObject({ state: 'resolved', rules: [{ rule: 'fast', resolvedAt: T0 + 4 * MINUTE }] });
    expect(m.notified()).toEqual(['resolved fast']);
    expect(store.alerts.events({ alertId: second.id }).map((e) => `${e.kind} ${e.by}`)).toEqual(['fired rule', 'resolved config']);
    store.close();
  });

  it('the cooldown after a restart holds for every rule that was in the alert, not only the one that opened it', () => {
    const m = new Machine(SPIKE_RULES);
    m.until(T0 + 3 * MINUTE, 0).until(T0 + 6 * MINUTE, 3).until(T0 + 8 * MINUTE + 30_000, 0);
    const first = m.store.alerts.query();
    expect(first.map((a) => [a.rule, a.state])).toEqual([['fast', 'resolved']]);
    const cleared = Object.fromEntries(first[0]!.rules.map((h) => [`${M}|${h.rule}`, h.resolvedAt]));
    expect(m.store.alerts.lastResolved(10 * MINUTE)).toEqual(new Map(Object.entries(cleared)));
    m.restart();
    // A second spike within ten minutes of each rule clearing: no rule fires (each keeps its own cooldown).
    m.until(T0 + 10 * MINUTE, 0).until(T0 + 12 * MINUTE, 3).until(T0 + 20 * MINUTE, 0);
    expect(m.store.alerts.query()).toHaveLength(1);
    // A third one after the cooldowns: a new alert.
    m.until(T0 + 21 * MINUTE, 3);
    expect(m.store.alerts.query({ state: 'open' }).map((a) => a.rule)).toEqual(['fast']);
    m.store.close();
  });

  it('acknowledging an alert the fast rule has just ended in memory (not yet saved) succeeds: it is saved first, then acknowledged as returned to normal', () => {
    const m = new Machine([{ id: 'fast', type: 'fast', scrapRate: 0.15, parts: 40 }]);
    m.until(T0 + 2 * MINUTE, 0).until(T0 + 3 * MINUTE, 3);
    const id = m.store.alerts.query({ state: 'open' })[0]!.id;
    // Good parts, with no tick: the fast rule clears in memory; the store (and the operator's screen) still say firing.
    m.run(1, 0, false);
    expect(m.pipeline.openAlerts(M)).toEqual([]);
    expect(m.store.alerts.get(id)!.state).toBe('firing');
    const acked = m.pipeline.acknowledge(id, 'Anna', 'seen');
    expect(acked).toMatchObject({ id, state: 'resolved', acknowledgedBy: 'Anna', comment: 'seen' });
    expect(m.store.alerts.get(id)).toMatchObject({ state: 'resolved', acknowledgedBy: 'Anna' });
    expect(m.store.alerts.events({ alertId: id }).map((e) => e.kind)).toEqual(['fired', 'resolved', 'acknowledged']);
    expect(m.pipeline.acknowledge(id, 'Bert', undefined)).toBeUndefined();
    m.store.close();
  });
});
