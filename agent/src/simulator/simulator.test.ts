import { fileURLToPath } from 'node:url';
import { connectAsync, type MqttClient } from 'mqtt';
import { pino, type Logger } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { VirtualClock } from '../core/clock.js';
import type { Sample } from '../core/sample.js';
import { loadConfig } from '../config/load.js';
import { counterStep, newCounterState, type CounterLimits } from '../kpi/counter-delta.js';
import { MqttMapper } from '../sources/mqtt/map.js';
import { startBroker, type EmbeddedBroker } from './broker.js';
import { simulatedMachineSchema, simulatorSchema, type SimulatedMachineConfig, type SimulatorConfig } from './config.js';
import { SimulatedMachine, spikeActive, type MachineCounters, type MachineTruth } from './machine.js';
import { counterPayload, machineTopic, startSimulator, type Simulator } from './publisher.js';
import { deriveSeed, mulberry32 } from './random.js';
import type { MqttSourceConfig } from '../sources/mqtt/config.js';
import { waitFor } from '../../../test/helpers/wait.js';
import { trackHandles } from '../../../test/helpers/handles.js';

const DEMO_YAML = fileURLToPath(new URL('../../../config/demo.yaml', import.meta.url));
/** 2024-01-01T00:00:00Z: a multiple of every schedule, so 1 s steps never straddle a spike or reset boundary. */
const T0 = Date.UTC(2024, 0, 1);
const SECOND = 1000;
const HOUR = 3_600_000;
/**
 * Tolerance of every proportion test: 4.5 standard deviations of a binomial share,
 * 4.5·sqrt(p(1-p)/n). A correct model fails it with probability below 1e-5 per check, and the
 * seeds are fixed, so a failure means the model changed, not bad luck.
 */
const Z = 4.5;
const binomialBound = (p: number, n: number): number => Z * Math.sqrt((p * (1 - p)) / n);

function machineCfg(over: Partial<Record<string, unknown>> = {}): SimulatedMachineConfig {
  return simulatedMachineSchema.parse({ path: 'test/line/m1', ...over });
}

/** Advances a machine from T0 in `step` ms steps for `duration` ms and hands every step to `onStep`. */
function run(
  cfg: SimulatedMachineConfig,
  seed: number,
  duration: number,
  step: number,
  onStep?: (t: number, counters: MachineCounters, truth: MachineTruth) => void,
): SimulatedMachine {
  const m = new SimulatedMachine(cfg, mulberry32(deriveSeed(seed, cfg.path)), T0);
  for (let t = T0 + step; t <= T0 + duration; t += step) {
    m.advance(t);
    onStep?.(t, m.counters(), m.truth());
  }
  return m;
}

const partsOf = (t: MachineTruth): number => t.parts_good + t.parts_scrap + t.parts_rework;

/** Polls `cond` every 10 ms until it holds; fails after `ms`. */
describe('random', () => {
  it('repeats a sequence for a seed and differs between seeds', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 100 }, () => a.next());
    expect(Array.from({ length: 100 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 100 }, () => c.next())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
  });

  it('derives distinct seeds per machine name', () => {
    expect(deriveSeed(1, 'demo/l1/m1')).toBe(deriveSeed(1, 'demo/l1/m1'));
    expect(deriveSeed(1, 'demo/l1/m1')).not.toBe(deriveSeed(1, 'demo/l1/m2'));
    expect(deriveSeed(1, 'demo/l1/m1')).not.toBe(deriveSeed(2, 'demo/l1/m1'));
  });
});

describe('SimulatedMachine', () => {
  it('is deterministic for a seed', () => {
    const cfg = machineCfg({ scrapRate: 0.1, reworkRate: 0.05 });
    const trace = (seed: number): MachineCounters[] => {
      const out: MachineCounters[] = [];
      run(cfg, seed, 10 * 60 * SECOND, SECOND, (_t, c) => out.push(c));
      return out;
    };
    const a = trace(7);
    expect(trace(7)).toEqual(a);
    expect(trace(8)).not.toEqual(a);
  });

  it('ignores a clock that steps back', () => {
    const m = run(machineCfg(), 1, 60 * SECOND, SECOND);
    const before = m.counters();
    m.advance(T0);
    expect(m.counters()).toEqual(before);
    expect(m.time).toBe(T0 + 60 * SECOND);
  });

  it.each([1, 2, 3])('over 8 simulated hours makes parts at partsPerMinute and scrap and rework at their rates (seed %i)', (seed) => {
    const cfg = machineCfg({ partsPerMinute: 60, scrapRate: 0.02, reworkRate: 0.01 });
    const truth = run(cfg, seed, 8 * HOUR, SECOND).truth();
    const n = partsOf(truth);
    // Poisson count: mean = sd² = 28 800.
    const expected = 60 * 8 * 60;
    expect(Math.abs(n - expected)).toBeLessThanOrEqual(Z * Math.sqrt(expected));
    expect(Math.abs(truth.parts_scrap / n - 0.02)).toBeLessThanOrEqual(binomialBound(0.02, n));
    expect(Math.abs(truth.parts_rework / n - 0.01)).toBeLessThanOrEqual(binomialBound(0.01, n));
  });

  it('raises scrap to spike.scrapRate inside spikes only', () => {
    const cfg = machineCfg({ partsPerMinute: 60, scrapRate: 0.02, spike: { every: '5m', length: '1m', scrapRate: 0.25 } });
    const inside = { parts: 0, scrap: 0 };
    const outside = { parts: 0, scrap: 0 };
    let prev = { parts_good: 0, parts_scrap: 0, parts_rework: 0, material_in_kg: 0, resets: 0 };
    run(cfg, 1, 8 * HOUR, SECOND, (t, _c, truth) => {
      // Spike boundaries are whole minutes since the epoch, so a 1 s step lies wholly inside or outside.
      const bucket = spikeActive(cfg, t - SECOND / 2) ? inside : outside;
      bucket.parts += partsOf(truth) - partsOf(prev);
      bucket.scrap += truth.parts_scrap - prev.parts_scrap;
      prev = truth;
    });
    // One minute in five is a spike: about 5 760 parts inside, 23 040 outside.
    expect(inside.parts).toBeGreaterThan(5000);
    expect(Math.abs(inside.scrap / inside.parts - 0.25)).toBeLessThanOrEqual(binomialBound(0.25, inside.parts));
    expect(Math.abs(outside.scrap / outside.parts - 0.02)).toBeLessThanOrEqual(binomialBound(0.02, outside.parts));
    expect(spikeActive(cfg, T0)).toBe(true);
    expect(spikeActive(cfg, T0 + 60 * SECOND)).toBe(false);
    expect(spikeActive(cfg, T0 + 5 * 60 * SECOND)).toBe(true);
  });

  it('resets the counters on schedule and an agent following the reset rule recovers every part', () => {
    const cfg = machineCfg({ partsPerMinute: 120, resetEvery: '7m', startAt: 500 });
    const every = 7 * 60 * SECOND;
    // Start mid-interval so the first reset comes after 3 minutes, not at once.
    const start = T0 + 4 * 60 * SECOND;
    const m = new SimulatedMachine(cfg, mulberry32(3), start);
    expect(m.counters().good).toBe(500);
    const state = newCounterState();
    state.has = true;
    state.last = m.counters().good;
    let recovered = 0;
    let prevGood = m.counters().good;
    let prevTruth = m.truth();
    const drops: number[] = [];
    for (let t = start + SECOND; t <= start + HOUR; t += SECOND) {
      m.advance(t);
      const c = m.counters();
      const truth = m.truth();
      const crossed = Math.floor(t / every) > Math.floor((t - SECOND) / every);
      if (crossed) {
        drops.push(t);
        // After a reset the counter holds exactly the parts of this step.
        expect(c.good).toBe(truth.parts_good - prevTruth.parts_good);
      } else {
        expect(c.good).toBeGreaterThanOrEqual(prevGood);
      }
      counterStep(state, c.good, t, {});
      recovered += state.delta;
      prevGood = c.good;
      prevTruth = truth;
    }
    // Boundaries at multiples of 7 min since the epoch within [start, start + 1 h].
    expect(drops.length).toBe(Math.floor((start + HOUR) / every) - Math.floor(start / every));
    expect(drops.every((t) => t % every === 0)).toBe(true);
    expect(m.truth().resets).toBe(drops.length);
    expect(recovered).toBe(m.truth().parts_good);
  });

  it('wraps part counters at rollover, keeps them in [0, rollover), never wraps material, and the delta rule recovers the truth', () => {
    const rollover = 65536;
    const cfg = machineCfg({ partsPerMinute: 600, scrapRate: 0.05, reworkRate: 0.02, rollover, startAt: 65000 });
    const limits: CounterLimits = { rollover };
    const states = { good: newCounterState(), scrap: newCounterState(), rework: newCounterState() };
    const sums = { good: 0, scrap: 0, rework: 0 };
    let wraps = 0;
    let lastKg = 0;
    const m = new SimulatedMachine(cfg, mulberry32(5), T0);
    for (const k of ['good', 'scrap', 'rework'] as const) counterStep(states[k], m.counters()[k], T0, limits);
    for (let t = T0 + 10 * SECOND; t <= T0 + 2 * HOUR; t += 10 * SECOND) {
      m.advance(t);
      const c = m.counters();
      for (const k of ['good', 'scrap', 'rework'] as const) {
        expect(Number.isInteger(c[k]) && c[k] >= 0 && c[k] < rollover).toBe(true);
        if (c[k] < states[k].last) wraps++;
        counterStep(states[k], c[k], t, limits);
        sums[k] += states[k].delta;
      }
      expect(c.material_in_kg).toBeGreaterThanOrEqual(lastKg);
      lastKg = c.material_in_kg;
    }
    const truth = m.truth();
    // ~68 000 parts from 65 000: good and scrap both pass 65 536.
    expect(wraps).toBeGreaterThanOrEqual(2);
    expect(sums).toEqual({ good: truth.parts_good, scrap: truth.parts_scrap, rework: truth.parts_rework });
    expect(m.counters().material_in_kg).toBeCloseTo(truth.material_in_kg, 9);
  });

  it('consumes materialPerPartKg × (1 + processLoss) per part, so material efficiency ≈ good share / (1 + processLoss)', () => {
    const cfg = machineCfg({ partsPerMinute: 60, scrapRate: 0.03, reworkRate: 0.02, materialPerPartKg: 0.5, processLoss: 0.1 });
    const truth = run(cfg, 4, 8 * HOUR, SECOND).truth();
    const n = partsOf(truth);
    // Per-part noise has a 1 % sd, so the mean over ~28 800 parts is within ~0.006 % of nominal.
    expect(truth.material_in_kg / (n * 0.5)).toBeCloseTo(1.1, 3);
    const efficiency = (truth.parts_good * 0.5) / truth.material_in_kg;
    expect(efficiency).toBeCloseTo(truth.parts_good / n / 1.1, 3);
    // Against the configured good share 0.95 the binomial bound applies, scaled by 1 / 1.1.
    expect(Math.abs(efficiency - 0.95 / 1.1)).toBeLessThanOrEqual(binomialBound(0.95, n) / 1.1 + 1e-4);
  });

  it('treats a jump of more than a day as idle time before it', () => {
    const m = new SimulatedMachine(machineCfg({ partsPerMinute: 60 }), mulberry32(1), 0);
    m.advance(T0);
    const n = partsOf(m.truth());
    expect(Math.abs(n - 1440 * 60)).toBeLessThanOrEqual(Z * Math.sqrt(1440 * 60));
  });
});

describe('simulator config', () => {
  it('rejects incoherent machines and topics with a message naming the key', () => {
    const bad = (m: Record<string, unknown>) => simulatedMachineSchema.safeParse({ path: 'a/b/c', ...m }).error?.issues[0];
    expect(bad({ scrapRate: 0.7, reworkRate: 0.5 })?.path).toEqual(['reworkRate']);
    expect(bad({ spike: { every: '1m', length: '2m', scrapRate: 0.3 } })?.path).toEqual(['spike', 'length']);
    expect(bad({ resetEvery: '0s' })?.message).toMatch(/above 0/);
    const sim = (s: Record<string, unknown>) => simulatorSchema.safeParse({ machines: [{ path: 'a/b/c' }], ...s }).error?.issues[0]?.message;
    expect(sim({ topic: '{site}/{area}/{line}/{machine}' })).toMatch(/site\/area\/line\/machine/);
    expect(sim({ topic: '{site}/+/{machine}' })).toMatch(/wildcards/);
    expect(sim({ topic: 'plant/counters' })).toMatch(/\{machine\}/);
    expect(sim({ machines: [{ path: 'a/b/c' }, { path: 'a/b/c' }] })).toMatch(/duplicate/);
  });
});

describe('payloads and topics', () => {
  it('fills topic templates from 3- and 4-level paths', () => {
    expect(machineTopic('{site}/{line}/{machine}/counters', 'demo/line1/press1')).toBe('demo/line1/press1/counters');
    expect(machineTopic('{site}/{area}/{line}/{machine}', 's/a/l/m')).toBe('s/a/l/m');
    expect(machineTopic('plant/{machine}', 's/a/l/m')).toBe('plant/m');
    expect(() => machineTopic('{site}/{area}/{machine}', 's/l/m')).toThrow(/no area/);
  });

  it('writes the documented JSON with material rounded to 4 decimals', () => {
    const p = JSON.parse(counterPayload({ good: 3, scrap: 1, rework: 0, material_in_kg: 1.234567 }, 1700000000000)) as unknown;
    expect(p).toEqual({ good: 3, scrap: 1, rework: 0, material_in_kg: 1.2346, ts: 1700000000000, state: 'running' });
  });
});

describe('config/demo.yaml', () => {
  const { config } = loadConfig(DEMO_YAML, {});
  const demo = config.demo!;

  it('validates and simulates exactly the configured machines, eight on three lines of site "demo" (two over OPC UA)', () => {
    expect(config.agent.id).toBe('demo');
    expect([...demo.machines, ...(demo.opcua?.machines ?? [])].map((m) => m.path)).toEqual(config.machines.map((m) => m.path));
    expect(new Set(config.machines.map((m) => m.path.split('/')[1])).size).toBe(3);
    expect(config.machines.every((m) => m.path.startsWith('demo/'))).toBe(true);
    expect(config.machines).toHaveLength(8);
    expect(demo.machines.some((m) => m.spike !== undefined)).toBe(true);
    expect(demo.machines.some((m) => m.resetEvery !== undefined)).toBe(true);
    // A machine's reset and rollover would be ambiguous to the agent (counter rule 4 of agent/src/kpi/README.md), so the demo keeps them apart.
    expect(demo.machines.every((m) => m.resetEvery === undefined || m.rollover === undefined)).toBe(true);
  });

  it('declares the same rollover to the agent and the simulator, and part masses equal to material per part', () => {
    for (const sim of demo.machines) {
      const m = config.machines.find((x) => x.path === sim.path)!;
      expect(config.products[m.product!]!.partMassKg, sim.path).toBe(sim.materialPerPartKg);
      for (const s of ['parts_good', 'parts_scrap', 'parts_rework'] as const) {
        const sig = m.signals?.[s] ?? config.machineDefaults.signals[s];
        expect(sig?.kind === 'counter' ? sig.rollover : undefined, `${sim.path} ${s}`).toBe(sim.rollover);
      }
    }
  });

  it('publishes payloads the demo MQTT source maps onto the four counters of the right machine, and the reason of the latest scrap of those that have reasons', () => {
    const source = config.sources[0] as MqttSourceConfig;
    const mapper = new MqttMapper(source.topics, source.id, (p) => config.machines.some((m) => m.path === p), source.maxPayloadBytes);
    for (const sim of demo.machines) {
      const m = run(sim, demo.seed, 60 * SECOND, SECOND);
      const out: Sample[] = [];
      expect(mapper.map(machineTopic(demo.topic, sim.path), counterPayload(m.counters(), m.time), out)).toBeUndefined();
      const signals = [...(sim.scrapReasons !== undefined ? ['scrap_reason'] : []), 'parts_good', 'parts_scrap', 'parts_rework', 'material_in_kg'];
      expect(out.map((s) => [s.machine, s.signal, s.ts])).toEqual(signals.map((sig) => [sim.path, sig, m.time]));
      // '' until the first scrap part since the last reset: no reason in force.
      if (sim.scrapReasons !== undefined) expect(['', ...Object.keys(sim.scrapReasons)]).toContain(out[0]!.value);
    }
  });

  it('draws each scrap part\'s reason by its weight: the reasons add up to the scrap, in about the configured shares', () => {
    const sim = simulatedMachineSchema.parse({ path: 'p/l/m', partsPerMinute: 600, scrapRate: 0.3, scrapReasons: { burr: 6, crack: 3, dent: 1 }, resetEvery: '7m' });
    const m = run(sim, 7, 3_600 * SECOND, SECOND);
    const t = m.truth();
    const byReason = t.scrap_by_reason!;
    expect(byReason.burr! + byReason.crack! + byReason.dent!).toBe(t.parts_scrap);
    expect(byReason.burr! / t.parts_scrap).toBeCloseTo(0.6, 1);
    expect(byReason.dent! / t.parts_scrap).toBeCloseTo(0.1, 1);
    // The counters on the PLC are reset with the others.
    const c = m.counters();
    expect(Object.values(c.scrapByReason!).reduce((a, b) => a + b, 0)).toBe(c.scrap);
  });
});

describe('broker and publisher', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });

  function capture(): { logger: Logger; lines: string[] } {
    const lines: string[] = [];
    return { logger: pino({ level: 'info' }, { write: (s: string) => void lines.push(s) }), lines };
  }

  async function broker(port = 0): Promise<EmbeddedBroker> {
    const b = await startBroker({ host: '127.0.0.1', port });
    cleanups.push(() => b.close());
    return b;
  }

  function simulator(cfg: SimulatorConfig, opts: Parameters<typeof startSimulator>[1]): Simulator {
    const s = startSimulator(cfg, opts);
    cleanups.push(() => s.stop());
    return s;
  }

  async function subscriber(url: string, filter: string): Promise<{ client: MqttClient; got: { topic: string; body: Record<string, unknown> }[] }> {
    const client = await connectAsync(url, { reconnectPeriod: 0 });
    cleanups.push(() => client.endAsync(true));
    const got: { topic: string; body: Record<string, unknown> }[] = [];
    client.on('message', (topic, payload) => got.push({ topic, body: JSON.parse(payload.toString()) as Record<string, unknown> }));
    await client.subscribeAsync(filter, { qos: 1 });
    return { client, got };
  }

  const simCfg = (over: Record<string, unknown> = {}): SimulatorConfig =>
    simulatorSchema.parse({
      topic: 'e2e/{site}/{line}/{machine}/counters',
      publishInterval: '100ms',
      seed: 9,
      machines: [
        { path: 'plant/l1/m1', partsPerMinute: 6000, scrapRate: 0.1 },
        { path: 'plant/hall/l2/m2', partsPerMinute: 3000, rollover: 65536, startAt: 65530 },
      ],
      ...over,
    });


  it('end to end: a subscriber receives well-formed payloads on the expected topics, then everything closes', async () => {
    const tracked = trackHandles();
    const { logger, lines } = capture();
    const b = await broker();
    expect(b.port).toBeGreaterThan(0);
    expect(b.url).toBe(`mqtt://127.0.0.1:${b.port}`);
    const sub = await subscriber(b.url, 'e2e/#');
    const sim = simulator(simCfg(), { url: b.url, logger });
    const topics = ['e2e/plant/l1/m1/counters', 'e2e/plant/l2/m2/counters'];
    await waitFor('five messages per machine', () => topics.every((t) => sub.got.filter((g) => g.topic === t).length >= 5), 10_000);
    await sim.stop();
    // After stop no tick runs, so the truth is final; the last publication may still be on its way to the subscriber.
    const lastGood = (): unknown => sub.got.filter((g) => g.topic === topics[0]).at(-1)!.body.good;
    await waitFor('the last publication', () => lastGood() === sim.truth()['plant/l1/m1']!.parts_good, 5000);
    for (const topic of topics) {
      const msgs = sub.got.filter((g) => g.topic === topic).map((g) => g.body);
      for (const p of msgs) {
        expect(Object.keys(p).sort()).toEqual(['good', 'material_in_kg', 'rework', 'scrap', 'state', 'ts']);
        expect(p.state).toBe('running');
        for (const k of ['good', 'scrap', 'rework'] as const) expect(Number.isInteger(p[k]) && (p[k] as number) >= 0).toBe(true);
        expect(Math.round((p.material_in_kg as number) * 10_000)).toBeCloseTo((p.material_in_kg as number) * 10_000, 6);
      }
      for (let i = 1; i < msgs.length; i++) expect(msgs[i]!.ts as number).toBeGreaterThanOrEqual(msgs[i - 1]!.ts as number);
    }
    // m1 never wraps or resets: its counters only grow (and the last one matched the truth above).
    const m1 = sub.got.filter((g) => g.topic === topics[0]).map((g) => g.body);
    for (let i = 1; i < m1.length; i++) expect(m1[i]!.good as number).toBeGreaterThanOrEqual(m1[i - 1]!.good as number);
    // m2 starts 6 below 65 536 at 50 parts a second: it wraps within the test and stays below the modulus.
    const m2 = sub.got.filter((g) => g.topic === topics[1]).map((g) => g.body);
    expect(m2.every((p) => (p.good as number) < 65536)).toBe(true);
    expect(m2.some((p) => (p.good as number) < 65530)).toBe(true);
    // No per-message logging: one connect line, nothing per publication, no warning for a deliberate stop.
    expect(lines).toHaveLength(1);

    while (cleanups.length > 0) await cleanups.pop()!();
    tracked.freeze();
    try {
      await waitFor('sockets, servers and timers to close', () => tracked.live().length === 0, 5000);
    } finally {
      tracked.disable();
    }
    await expect(connectAsync(b.url, { reconnectPeriod: 0, connectTimeout: 1000 })).rejects.toThrow();
  });

  it('publishes on tick() at the virtual clock time, with the same counters as a bare machine of the same seed', async () => {
    const b = await broker();
    const sub = await subscriber(b.url, 'e2e/#');
    const clock = new VirtualClock(T0);
    const cfg = simCfg();
    const sim = simulator(cfg, { url: b.url, logger: capture().logger, clock, autoPublish: false });
    await waitFor('the simulator to connect', () => sim.connected(), 5000);
    clock.set(T0 + 60 * SECOND);
    sim.tick();
    await waitFor('one message per machine', () => sub.got.length >= 2, 5000);
    expect(sub.got).toHaveLength(2);
    for (const m of cfg.machines) {
      const bare = new SimulatedMachine(m, mulberry32(deriveSeed(cfg.seed, m.path)), T0);
      bare.advance(T0 + 60 * SECOND);
      const got = sub.got.find((g) => g.topic === machineTopic(cfg.topic, m.path))!;
      expect(got.body).toEqual(JSON.parse(counterPayload(bare.counters(), T0 + 60 * SECOND)));
      expect(sim.truth()[m.path]).toEqual(bare.truth());
    }
  });

  it('survives the loss of its broker, keeps counting and resumes publishing after a reconnect', async () => {
    const { logger, lines } = capture();
    const first = await startBroker({ host: '127.0.0.1', port: 0 });
    const clock = new VirtualClock(T0);
    const sim = simulator(simCfg(), { url: first.url, logger, clock, autoPublish: false });
    await waitFor('the simulator to connect', () => sim.connected(), 5000);
    await first.close();
    await waitFor('the simulator to notice the broker loss', () => !sim.connected(), 5000);
    clock.set(T0 + 10 * SECOND);
    expect(() => sim.tick()).not.toThrow();
    const during = sim.truth()['plant/l1/m1']!.parts_good;
    expect(during).toBeGreaterThan(0);

    const second = await broker(first.port);
    const sub = await subscriber(second.url, 'e2e/plant/l1/m1/counters');
    await waitFor('the simulator to reconnect', () => sim.connected(), 10_000);
    clock.set(T0 + 20 * SECOND);
    sim.tick();
    await waitFor('a message after the reconnect', () => sub.got.length >= 1, 5000);
    // The first message after the outage carries everything counted during it.
    expect(sub.got[0]!.body.good).toBe(sim.truth()['plant/l1/m1']!.parts_good);
    expect(sub.got[0]!.body.good as number).toBeGreaterThan(during);
    // Connect, loss, one "cannot reach" at most, reconnect: no line per attempt or message.
    expect(lines.length).toBeLessThanOrEqual(4);
  });

  it('stops promptly when the broker never answered', async () => {
    const b = await startBroker({ host: '127.0.0.1', port: 0 });
    await b.close();
    const sim = startSimulator(simCfg(), { url: b.url, logger: capture().logger });
    const t = Date.now();
    await sim.stop();
    expect(Date.now() - t).toBeLessThan(3000);
    expect(sim.connected()).toBe(false);
  });

  it('rejects a port that is taken with a message naming the address', async () => {
    const b = await broker();
    await expect(startBroker({ host: '127.0.0.1', port: b.port })).rejects.toThrow(new RegExp(`127\\.0\\.0\\.1:${b.port}`));
  });
});
