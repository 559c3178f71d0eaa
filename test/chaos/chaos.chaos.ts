import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../agent/src/simulator/random.js';
import { agentStarter, mqttConnected, type AgentProcess } from '../helpers/agent-process.js';
import { requireInfluxd, startInfluxdb, type InfluxdbServer } from '../helpers/influxdb.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { requireBinary } from '../helpers/require-binary.js';
import { waitFor } from '../helpers/wait.js';
import { sameSums, storedWindows, type Sums } from '../helpers/window-sums.js';

/**
 * The chaos suite (test/chaos/README.md): the agent as its own process reads counter, delta and
 * event machines through Mosquitto at QoS 1 and forwards to InfluxDB, while a seeded generator
 * kills it with SIGKILL 50 times, restarts the broker 5 times, takes InfluxDB away for a while,
 * fills the data folder's file system, and steps the agent's clock by an hour and back. The
 * windows are then compared, in the store and in InfluxDB, with the windows this file computes
 * from what it published — every window, every value, exactly once.
 */

const SEED = process.env.CHAOS_SEED !== undefined ? Number(process.env.CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
const KILLS = 50;
const BROKER_RESTARTS = 5;
const WINDOW_MS = 1000;
/** One round (a message from every machine that sends at a steady pace) every this many ms. */
const EVERY_MS = 50;
const ROLLOVER = 65536;
const CLIENT_ID = 'yieldwatch-chaos';
const DB = 'chaos';

const COUNTER_ROLLING = 'chaos/l1/c1';
const COUNTER_RESETTING = 'chaos/l1/c2';
const DELTAS = ['chaos/l2/d1', 'chaos/l2/d2'];
const EVENTS = 'chaos/l3/e1';
const MACHINES = [COUNTER_ROLLING, COUNTER_RESETTING, ...DELTAS, EVENTS];

const FAKETIME = ['/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1', '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1'].find((f) => existsSync(f));
const isRoot = process.getuid?.() === 0;

function needs(what: string, ok: boolean): boolean {
  if (ok) return true;
  if (process.env.CI) throw new Error(`The chaos suite needs ${what}; CI must provide it.`);
  console.warn(`\n!!! The chaos suite is SKIPPED: it needs ${what}. !!!\n`);
  return false;
}
const runnable =
  requireBinary('mosquitto') &&
  requireInfluxd() &&
  needs('root (it mounts a small tmpfs on the data folder to fill it)', isRoot) &&
  needs('libfaketime (apt-get install faketime), to step the agent\'s clock', FAKETIME !== undefined);

type Fault = 'kill' | 'broker_restart' | 'influxdb_outage' | 'disk_full' | 'clock_step';

describe.skipIf(!runnable)('chaos: kills, broker restarts, an InfluxDB outage, a full disk and a clock step', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-chaos-'));
  const dataDir = join(dir, 'data');
  const clockFile = join(dir, 'faketime');
  const procs: AgentProcess[] = [];
  let broker: Mosquitto | undefined;
  let influx: InfluxdbServer | undefined;
  let mounted = false;
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await broker?.stop();
    await influx?.stop();
    if (mounted) execFileSync('umount', ['-l', dataDir]);
    rmSync(dir, { recursive: true, force: true });
  });

  it(`every window in the store and in InfluxDB equals the published stream (seed ${SEED})`, { timeout: 470_000 }, async () => {
    console.log(`chaos: seed ${SEED} (replay with CHAOS_SEED=${SEED} npm run test:chaos)`);
    const rand = mulberry32(SEED);
    const pick = (n: number): number => Math.floor(rand.next() * n);
    // The faults draw from their own generator: their placement replays exactly from the seed,
    // however many rounds of the stream the wall clock let through in between.
    const faultRand = mulberry32(SEED ^ 0x5bd1e995);
    const pickFault = (n: number): number => Math.floor(faultRand.next() * n);
    broker = await startMosquitto();
    influx = await startInfluxdb();
    mkdirSync(dataDir);
    // A small file system of its own, so that filling it fills only the agent's data folder.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m,mode=0700', 'tmpfs', dataDir]);
    mounted = true;
    writeFileSync(clockFile, '+0\n');

    const configFile = join(dir, 'agent.yaml');
    const counter = { kind: 'counter' };
    const delta = { kind: 'delta' };
    writeFileSync(
      configFile,
      stringify({
        agent: { id: 'chaos', dataDir, logLevel: 'info' },
        // An agent clock an hour behind the machines' must not take their timestamps for skewed ones.
        kpi: { windowSize: '1s', allowedLateness: '500ms', maxFutureSkew: '2h' },
        machines: [
          { path: COUNTER_ROLLING, partMassKg: 0.25, signals: { parts_good: { kind: 'counter', rollover: ROLLOVER }, parts_scrap: counter, material_in_kg: counter } },
          { path: COUNTER_RESETTING, partMassKg: 0.25, signals: { parts_good: counter, parts_scrap: counter, material_in_kg: counter } },
          ...[...DELTAS, EVENTS].map((path) => ({ path, partMassKg: 0.25, signals: { parts_good: delta, parts_scrap: delta, material_in_kg: delta } })),
        ],
        sources: [
          {
            type: 'mqtt',
            id: 'line',
            url: broker.url,
            clientId: CLIENT_ID,
            sessionExpiry: '1h',
            reconnectMin: '100ms',
            reconnectMax: '500ms',
            topics: [
              { topic: '{site}/{line}/{machine}/counters', fields: { parts_good: 'good', parts_scrap: 'scrap', material_in_kg: 'kg' }, timestamp: { field: 'ts' } },
              { topic: '{site}/{line}/{machine}/deltas', fields: { parts_good: 'good', parts_scrap: 'scrap', material_in_kg: 'kg' }, timestamp: { field: 'ts' }, seqField: 'seq' },
            ],
          },
        ],
        sinks: [{ type: 'influxdb', id: 'influx', url: influx.url, database: DB, createDatabase: true, retryMin: '100ms', retryMax: '1s' }],
        api: { enabled: false },
      }),
    );

    // The session exists before the agent first starts, so the broker keeps every message for it.
    const session = await mqtt.connectAsync(broker.url, { clientId: CLIENT_ID, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
    await session.subscribeAsync(['+/+/+/counters', '+/+/+/deltas'], { qos: 1 });
    await session.endAsync();

    // The reference: windows computed from what is published, by this file alone.
    const expected = new Map<string, Sums>();
    const add = (machine: string, ts: number, s: Sums): void => {
      const key = `${machine}@${Math.floor(ts / WINDOW_MS) * WINDOW_MS}`;
      const w = expected.get(key) ?? { good: 0, scrap: 0, kg: 0 };
      expected.set(key, { good: w.good + s.good, scrap: w.scrap + s.scrap, kg: w.kg + s.kg });
    };
    const counters = new Map([
      [COUNTER_ROLLING, { good: ROLLOVER - 600, scrap: 10, kg: 100 }],
      [COUNTER_RESETTING, { good: 5000, scrap: 40, kg: 900 }],
    ]);
    const seqs = new Map<string, number>();
    /** Messages held back and published late (the event machine's, and late delta messages). */
    const held: { at: number; topic: string; body: string }[] = [];
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'chaos-publisher', clean: false, reconnectPeriod: 100 });
    pub.on('error', () => undefined);
    let published = 0;
    /** Resolve once the broker has each message (QoS 1 PUBACK); mqtt.js sends them again after a broker restart. */
    const sends: Promise<unknown>[] = [];
    const track = (p: Promise<unknown>): void => {
      // Handled here so that a failure surfaces once, at the Promise.all below, not as an unhandled rejection.
      p.catch(() => undefined);
      sends.push(p);
    };
    const send = (topic: string, body: object): void => {
      published++;
      track(pub.publishAsync(topic, JSON.stringify(body), { qos: 1 }));
    };
    const nextSeq = (m: string): number => {
      const s = (seqs.get(m) ?? 0) + 1;
      seqs.set(m, s);
      return s;
    };
    // Quarter kilograms: sums are exact in floating point, in any order.
    const amounts = (): Sums => {
      const good = pick(4);
      const scrap = rand.next() < 0.1 ? 1 : 0;
      return { good, scrap, kg: (good + scrap) * 0.25 + (rand.next() < 0.5 ? 0.25 : 0) };
    };
    let round = 0;
    const publishRound = (): void => {
      const now = Date.now();
      for (const [m, c] of counters) {
        const [site, line, machine] = m.split('/');
        const topic = `${site}/${line}/${machine}/counters`;
        if (round === 0) {
          // A counter's first reading is its baseline: it counts nothing.
          add(m, now, { good: 0, scrap: 0, kg: 0 });
        } else if (m === COUNTER_RESETTING && c.good > 50 && c.scrap > 0 && c.kg > 50 && rand.next() < 0.01) {
          // The PLC restarts its counters: the first reading after is the count since the reset. Only
          // from well above it (a drop to a value at or above the last one would be counting on, as the
          // KPI method reads it), and its scrap restarts at 0.
          const a = { ...amounts(), scrap: 0 };
          a.kg = a.good * 0.25;
          c.good = a.good;
          c.scrap = 0;
          c.kg = a.kg;
          add(m, now, a);
        } else {
          const a = amounts();
          c.good = m === COUNTER_ROLLING ? (c.good + a.good) % ROLLOVER : c.good + a.good;
          c.scrap += a.scrap;
          c.kg += a.kg;
          add(m, now, a);
        }
        send(topic, { good: c.good, scrap: c.scrap, kg: c.kg, ts: now });
      }
      for (const m of DELTAS) {
        const [site, line, machine] = m.split('/');
        const a = amounts();
        const r = rand.next();
        // Late data: 5 % stamped 200 ms back (inside the lateness), 3 % held back 1 to 4 s (their windows are revised).
        const ts = r < 0.05 ? now - 200 : now;
        add(m, ts, a);
        const body = JSON.stringify({ good: a.good, scrap: a.scrap, kg: a.kg, ts, seq: nextSeq(m) });
        if (r > 0.97) held.push({ at: now + 1000 + pick(3000), topic: `${site}/${line}/${machine}/deltas`, body });
        else {
          published++;
          track(pub.publishAsync(`${site}/${line}/${machine}/deltas`, body, { qos: 1 }));
        }
      }
      // The event machine: one message per part, gathered by its gateway and sent in bursts every 1.5 s.
      if (rand.next() < 0.6) {
        const scrap = rand.next() < 0.15;
        const e = { good: scrap ? 0 : 1, scrap: scrap ? 1 : 0, kg: 0.25 };
        add(EVENTS, now, e);
        held.push({ at: Math.ceil(now / 1500) * 1500, topic: 'chaos/l3/e1/deltas', body: JSON.stringify({ ...e, ts: now, seq: nextSeq(EVENTS) }) });
      }
      const due = held.filter((h) => h.at <= now);
      if (due.length > 0) {
        for (const h of due) {
          held.splice(held.indexOf(h), 1);
          published++;
          track(pub.publishAsync(h.topic, h.body, { qos: 1 }));
        }
      }
      round++;
    };
    let streaming = true;
    const timer = setInterval(() => {
      if (streaming) publishRound();
    }, EVERY_MS);

    // The agent, with its clock under libfaketime's control (the offset in `clockFile`, read at every call).
    const env = { LD_PRELOAD: FAKETIME!, FAKETIME_TIMESTAMP_FILE: clockFile, FAKETIME_NO_CACHE: '1', FAKETIME_DONT_FAKE_MONOTONIC: '1' };
    const start = agentStarter(configFile, procs, env);

    // The faults: which agent life each happens in, drawn from the seed.
    const lives = KILLS + 1;
    const brokerLives = new Set<number>();
    while (brokerLives.size < BROKER_RESTARTS) brokerLives.add(1 + pickFault(lives - 2));
    const outageFrom = 5 + pickFault(lives - 20);
    const outageTo = outageFrom + 5 + pickFault(5);
    const diskLife = 2 + pickFault(lives - 4);
    const stepFrom = 2 + pickFault(lives - 12);
    const stepTo = stepFrom + 3 + pickFault(6);
    const step = faultRand.next() < 0.5 ? '+1h' : '-1h';
    const injected: Record<Fault, number> = { kill: 0, broker_restart: 0, influxdb_outage: 0, disk_full: 0, clock_step: 0 };
    const startMs: number[] = [];
    let diskFullSaid = false;

    let agent = start();
    let t = Date.now();
    try {
      for (let life = 0; life < lives; life++) {
        await waitFor(`the agent connected (life ${life})`, () => mqttConnected(agent), 60_000, 20);
        startMs.push(Date.now() - t);
        if (life === stepFrom) {
          writeFileSync(clockFile, `${step}\n`);
          injected.clock_step++;
        }
        if (life === stepTo) writeFileSync(clockFile, '+0\n');
        if (life === outageFrom) {
          await influx.stopProcess();
          injected.influxdb_outage++;
        }
        if (life === outageTo) await influx.startProcess();
        if (brokerLives.has(life)) {
          await broker.restart();
          injected.broker_restart++;
        }
        if (life === diskLife) {
          // Fill the data folder's file system; the agent cannot commit, so it acknowledges nothing, and says so.
          try {
            execFileSync('dd', ['if=/dev/zero', `of=${join(dataDir, 'filler')}`, 'bs=1M'], { stdio: 'ignore' });
          } catch {
            /* dd stops at ENOSPC, as intended */
          }
          injected.disk_full++;
          const p = agent;
          await waitFor('the agent saying it cannot write', () => /Cannot write to the local store/.test(p.output()), 15_000, 50);
          diskFullSaid = true;
          await new Promise((r) => setTimeout(r, 2000));
          rmSync(join(dataDir, 'filler'));
          await waitFor('the agent writing again', () => /The local store accepts writes again/.test(p.output()), 15_000, 50);
        }
        if (life === lives - 1) break;
        // Killed while it receives: some messages applied and committed, some applied only, acknowledgements in flight.
        await new Promise((r) => setTimeout(r, 200 + pickFault(1500)));
        agent.child.kill('SIGKILL');
        expect(await agent.exited).toBe('SIGKILL');
        injected.kill++;
        await new Promise((r) => setTimeout(r, pickFault(300)));
        t = Date.now();
        agent = start();
      }
      // The stream goes on a little after the last start, then everything held back is sent.
      await new Promise((r) => setTimeout(r, 3000));
      streaming = false;
      clearInterval(timer);
      for (const h of held.splice(0)) {
        published++;
        track(pub.publishAsync(h.topic, h.body, { qos: 1 }));
      }
      await Promise.race([Promise.all(sends), new Promise((_r, reject) => setTimeout(() => reject(new Error('the broker did not take every published message within 60 s')), 60_000))]);
      if (influx.pid === undefined) await influx.startProcess();

      await waitFor(
        'every window stored as computed from the stream',
        () => {
          const got = storedWindows(join(dataDir, 'yieldwatch.db'));
          return got.size === expected.size && [...expected].every(([k, w]) => sameSums(got.get(k), w));
        },
        60_000,
        250,
      );
      await waitFor(
        'every window in InfluxDB as computed from the stream',
        async () => {
          const got = await influxWindows(influx!);
          return got.size === expected.size && [...expected].every(([k, w]) => sameSums(got.get(k), w));
        },
        60_000,
        500,
      );
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
    } catch (err) {
      const got = existsSync(join(dataDir, 'yieldwatch.db')) ? storedWindows(join(dataDir, 'yieldwatch.db')) : new Map<string, Sums>();
      const wrong = [...new Set([...expected.keys(), ...got.keys()])].filter((k) => !sameSums(got.get(k), expected.get(k))).slice(0, 10);
      throw new Error(
        `seed ${SEED}: ${(err as Error).message}\ninjected: ${JSON.stringify(injected)}\nwindows that differ in the store (of ${expected.size}): ${wrong.map((k) => `${k} stored ${JSON.stringify(got.get(k))} expected ${JSON.stringify(expected.get(k))}`).join('; ')}\nagent output:\n${agent.output().slice(-6000)}`,
      );
    } finally {
      streaming = false;
      clearInterval(timer);
      await pub.endAsync(true);
    }

    const stored = storedWindows(join(dataDir, 'yieldwatch.db'));
    const points = await influxWindows(influx);
    let valuesOff = 0;
    for (const [k, w] of expected) {
      for (const got of [stored.get(k), points.get(k)]) for (const f of ['good', 'scrap', 'kg'] as const) if (got?.[f] !== w[f]) valuesOff++;
    }
    console.log(
      `chaos: seed ${SEED}; faults injected ${JSON.stringify(injected)} (clock step ${step}); ${published} messages published; ` +
        `${expected.size} windows checked in the store and in InfluxDB, ${expected.size * 6} values, ${valuesOff} off; agent start to connected ${Math.min(...startMs)}-${Math.max(...startMs)} ms`,
    );
    expect(injected).toEqual({ kill: KILLS, broker_restart: BROKER_RESTARTS, influxdb_outage: 1, disk_full: 1, clock_step: 1 });
    expect(diskFullSaid).toBe(true);
    expect([...stored.keys()].sort()).toEqual([...expected.keys()].sort());
    expect([...points.keys()].sort()).toEqual([...expected.keys()].sort());
    expect(valuesOff).toBe(0);
    // The run is what it claims: every machine made parts in many windows.
    for (const m of MACHINES) expect([...expected].filter(([k, w]) => k.startsWith(`${m}@`) && w.good > 0).length, m).toBeGreaterThan(50);
  });
});


/** The points the InfluxDB sink wrote, machine@start → the same components; two points for one window would be two keys' worth of rows. */
async function influxWindows(influx: InfluxdbServer): Promise<Map<string, Sums>> {
  let rows: Record<string, unknown>[];
  try {
    rows = await influx.query(DB, 'SELECT * FROM yieldwatch_window GROUP BY *', { epoch: 'ms' });
  } catch {
    return new Map();
  }
  const out = new Map<string, Sums>();
  for (const r of rows) {
    const key = `${String(r.site)}/${r.area ? `${String(r.area)}/` : ''}${String(r.line)}/${String(r.machine)}@${String(r.time)}`;
    if (out.has(key)) throw new Error(`two points for ${key}`);
    out.set(key, { good: Number(r.parts_good ?? 0), scrap: Number(r.parts_scrap ?? 0), kg: Number(r.material_in_kg ?? 0) });
  }
  return out;
}
