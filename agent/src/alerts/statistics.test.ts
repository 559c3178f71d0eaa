import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.js';
import { validateConfig } from '../config/load.js';
import { createPipeline } from '../wiring/pipeline-options.js';
import { mulberry32 } from '../simulator/random.js';
import { Store } from '../store/store.js';
import { pChartLimit } from './rules.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 10, 2, 6, 0);

/** Binomial(n, p) draw by inversion: exact, and cheap for the sizes used here. */
function binomial(rand: () => number, n: number, p: number): number {
  const u = rand();
  let pk = (1 - p) ** n;
  let k = 0;
  let cdf = pk;
  while (u > cdf && k < n) {
    pk *= ((n - k) / (k + 1)) * (p / (1 - p));
    k++;
    cdf += pk;
  }
  return k;
}

/** P(X ≥ k) for X ~ Binomial(n, p). */
function tail(n: number, p: number, k: number): number {
  let pk = (1 - p) ** n;
  let below = 0;
  for (let i = 0; i < k && i <= n; i++) {
    below += pk;
    pk *= ((n - i) / (i + 1)) * (p / (1 - p));
  }
  return Math.max(0, 1 - below);
}

/** Smallest m with P(Poisson(λ) ≤ m) ≥ q. */
function poissonQuantile(lambda: number, q: number): number {
  let pm = Math.exp(-lambda);
  let cdf = pm;
  let m = 0;
  while (cdf < q) {
    m++;
    pm *= lambda / m;
    cdf += pm;
  }
  return m;
}

interface SimMachine {
  path: string;
  /** Parts per window, and the true scrap probability (stable: no real spikes). */
  parts: number;
  p: number;
}

/**
 * Hours of stable production with binomial scrap through the real pipeline: one counter
 * reading per machine per minute (at the window's middle), windows of 60 s.
 */
function simulate(machines: readonly SimMachine[], hours: number, rules: unknown[], seed: number, scrapFor?: (m: SimMachine, w: number) => number) {
  const cfg = validateConfig({
    kpi: { windowSize: '60s', allowedLateness: '5s' },
    machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } },
    machines: machines.map((m) => ({ path: m.path, partMassKg: 0.1 })),
    alerts: { rules },
  });
  const clock = new VirtualClock(T0);
  const store = new Store({ path: ':memory:' });
  const pipeline = createPipeline(cfg, store, clock);
  const rand = mulberry32(seed);
  const counts = machines.map(() => ({ good: 0, scrap: 0 }));
  const windows = hours * 60;
  for (let w = 0; w <= windows; w++) {
    const t = T0 + w * MINUTE + 30_000;
    clock.set(t);
    machines.forEach((m, i) => {
      const c = counts[i]!;
      // The first reading is the baseline; its window has no increments.
      if (w > 0) {
        const scrap = scrapFor ? scrapFor(m, w) : binomial(() => rand.next(), m.parts, m.p);
        c.scrap += scrap;
        c.good += m.parts - scrap;
      }
      pipeline.ingest([
        { machine: m.path, signal: 'parts_good', value: c.good, ts: t, source: 'sim' },
        { machine: m.path, signal: 'parts_scrap', value: c.scrap, ts: t, source: 'sim' },
      ]);
    });
    clock.set(t + 40_000);
    pipeline.tick();
  }
  const alerts = store.alerts.query();
  const events = machines.flatMap((m) => store.alerts.events({ machine: m.path }));
  store.close();
  return { alerts, events, windows };
}

describe('p-chart false alarms on a long, stable stream', () => {
  const machines: SimMachine[] = [
    { path: 'p/l1/lowvol-a', parts: 25, p: 0.02 },
    { path: 'p/l1/lowvol-b', parts: 40, p: 0.05 },
    { path: 'p/l2/midvol', parts: 120, p: 0.03 },
    { path: 'p/l2/highvol-a', parts: 400, p: 0.01 },
    { path: 'p/l3/highvol-b', parts: 600, p: 0.04 },
    { path: 'p/l3/highvol-c', parts: 300, p: 0.08 },
  ];
  const HOURS = 8;
  const rule = { id: 'pchart', type: 'pChart', k: 3, baselineWindows: 60, minBaselineWindows: 20, cooldown: '0s' };

  it(`${machines.length} machines × ${HOURS} h at k = 3: no more alerts than the binomial statistics allow (99.9 % bound)`, () => {
    const { alerts, windows } = simulate(machines, HOURS, [rule], 20261127);
    // What the statistics predict: each judged window breaches with P(X > UCL·n and X ≥ minScrapParts),
    // taking p̄ as the true p (the baseline estimates it from 60 windows). Every alert starts with a breach.
    let lambda = 0;
    for (const m of machines) {
      if (m.parts * m.p < 0.5) continue;
      const limitParts = pChartLimit(m.p, m.parts, 3) * m.parts;
      const pBreach = tail(m.parts, m.p, Math.max(2, Math.floor(limitParts) + 1));
      lambda += pBreach * (windows - 20);
    }
    const allowed = poissonQuantile(lambda, 0.999);
    // Stated: for these machines the binomial tails give λ = 14.9 false breaches in 8 h (the normal
    // approximation's 0.135 % per window is far too low for small n·p̄), and the test allows their
    // 99.9 % Poisson quantile: 28 alerts. A wrong limit (k = 2, or p̄ read as a percentage) gives hundreds.
    expect(lambda).toBeCloseTo(14.9, 0);
    expect(allowed).toBe(28);
    expect(alerts.length, `alerts ${alerts.length}, allowed ${allowed} (λ = ${lambda.toFixed(2)})`).toBeLessThanOrEqual(allowed);
  });

  it('the same stream with a real spike: the spike is found', () => {
    const spiky = machines.map((m) => (m.path === 'p/l2/midvol' ? { ...m } : m));
    const rand = mulberry32(7);
    const { alerts } = simulate(spiky, 3, [rule], 99, (m, w) => {
      const p = m.path === 'p/l2/midvol' && w >= 100 && w < 110 ? 0.2 : m.p;
      return binomial(() => rand.next(), m.parts, p);
    });
    const midvol = alerts.filter((a) => a.machine === 'p/l2/midvol' && a.startedAt >= T0 + 100 * MINUTE && a.startedAt < T0 + 101 * MINUTE);
    expect(midvol).toHaveLength(1);
  });
});

describe('flapping input', () => {
  it('hysteresis and cooldown limit notifications to the configured rate', () => {
    // Scrap alternates every window between just above and just below the 10 % limit.
    const m: SimMachine = { path: 'p/l1/flappy', parts: 100, p: 0 };
    const flapping = (_m: SimMachine, w: number) => (w % 2 === 0 ? 11 : 9);
    const noGuards = simulate([m], 2, [{ id: 't', type: 'threshold', scrapRate: 0.1, minParts: 10, hysteresis: 0, cooldown: '0s' }], 1, flapping);
    const guarded = simulate([m], 2, [{ id: 't', type: 'threshold', scrapRate: 0.1, minParts: 10, hysteresis: 0.2, cooldown: '15m' }], 1, flapping);
    const fired = (r: ReturnType<typeof simulate>) => r.events.filter((e) => e.kind === 'fired').length;
    // Without hysteresis every other window fires: about 60 notifications in 2 h.
    expect(fired(noGuards)).toBeGreaterThanOrEqual(55);
    // With hysteresis, 9 % never clears a 10 % limit (it must fall below 8 %): one alert stays open.
    expect(fired(guarded)).toBe(1);
    expect(guarded.alerts[0]!.state).toBe('firing');

    // Dropping to 5 % clears it; with the cooldown a new breach within 15 minutes stays quiet: at most one alert per 15 min.
    const bursts = (_m: SimMachine, w: number) => (w % 6 < 3 ? 20 : 5);
    const cooled = simulate([m], 2, [{ id: 't', type: 'threshold', scrapRate: 0.1, minParts: 10, hysteresis: 0.2, cooldown: '15m' }], 1, bursts);
    const times = cooled.events.filter((e) => e.kind === 'fired').map((e) => e.alert.startedAt);
    expect(times.length).toBeGreaterThan(1);
    expect(times.length).toBeLessThanOrEqual(Math.ceil((2 * 60) / 15) + 1);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(15 * MINUTE);
  });
});
