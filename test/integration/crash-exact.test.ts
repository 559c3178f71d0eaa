import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { mulberry32 } from '../../agent/src/simulator/random.js';
import { agentStarter, mqttConnected, type AgentProcess } from '../helpers/agent-process.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { requireBinary } from '../helpers/require-binary.js';
import { waitFor } from '../helpers/wait.js';
import { sameSums, storedWindows, type Sums } from '../helpers/window-sums.js';

/**
 * Acknowledge after commit, end to end: the agent (its own process) reads counter and delta
 * machines through Mosquitto at QoS 1 with a persistent session, is killed with SIGKILL three
 * times while the stream flows and started again on the same data folder. Every window of
 * every machine must then hold exactly the parts and kilograms the test computes itself from
 * what it published — not by the agent's code: each increment in the window of its own
 * timestamp, none lost, none doubled, none moved to a later window.
 */

const COUNTERS = ['exact/l1/c1', 'exact/l1/c2', 'exact/l2/c3'];
const DELTAS = ['exact/l2/d1', 'exact/l3/d2', 'exact/l3/d3'];
const MACHINES = [...COUNTERS, ...DELTAS];
const WINDOW_MS = 1000;
const ROLLOVER = 65536;
const KILLS = 3;
/** One message per machine every 20 ms, until 3 s after the agent's last start (about 3,000 messages in all). */
const EVERY_MS = 20;
const ROUNDS_AFTER_LAST_START = 150;
const CLIENT_ID = 'yieldwatch-crash-exact';

const hasMosquitto = requireBinary('mosquitto');


describe.skipIf(!hasMosquitto)('crash safety, exact: SIGKILL mid-stream through Mosquitto at QoS 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-crash-exact-'));
  const procs: AgentProcess[] = [];
  let broker: Mosquitto | undefined;
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`every window of counter and delta machines equals the published stream across ${KILLS} kills`, { timeout: 120_000 }, async () => {
    broker = await startMosquitto();
    const dbFile = join(dir, 'data', 'yieldwatch.db');
    const configFile = join(dir, 'agent.yaml');
    const counterSignals = { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' }, material_in_kg: { kind: 'counter' } };
    const deltaSignals = { parts_good: { kind: 'delta' }, parts_scrap: { kind: 'delta' }, material_in_kg: { kind: 'delta' } };
    writeFileSync(
      configFile,
      stringify({
        // info: the test waits for "Connected" before it kills.
        agent: { id: 'exact', dataDir: './data', logLevel: 'info' },
        // The commit settings are the defaults (100 ms, 5,000 messages).
        kpi: { windowSize: '1s', allowedLateness: '300ms' },
        machines: [
          // c1's good parts are a 16-bit PLC counter that rolls over during the run.
          { path: COUNTERS[0], partMassKg: 0.25, signals: { ...counterSignals, parts_good: { kind: 'counter', rollover: ROLLOVER } } },
          ...COUNTERS.slice(1).map((path) => ({ path, partMassKg: 0.25, signals: counterSignals })),
          ...DELTAS.map((path) => ({ path, partMassKg: 0.25, signals: deltaSignals })),
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
              // Delta machines number their messages: a message committed but not yet acknowledged when the agent died comes again.
              { topic: '{site}/{line}/{machine}/events', fields: { parts_good: 'good', parts_scrap: 'scrap', material_in_kg: 'kg' }, timestamp: { field: 'ts' }, seqField: 'seq' },
            ],
          },
        ],
        api: { enabled: false },
      }),
    );

    // The session exists before the agent first starts, so the broker keeps every message for it from the first one on.
    const session = await mqtt.connectAsync(broker.url, { clientId: CLIENT_ID, clean: false, protocolVersion: 5, properties: { sessionExpiryInterval: 3600 } });
    await session.subscribeAsync(['+/+/+/counters', '+/+/+/events'], { qos: 1 });
    await session.endAsync();

    // What the test publishes, and the windows it computes from that alone.
    const rand = mulberry32(20261214);
    const expected = new Map<string, Sums>();
    const add = (machine: string, ts: number, s: Sums): void => {
      const key = `${machine}@${Math.floor(ts / WINDOW_MS) * WINDOW_MS}`;
      const w = expected.get(key) ?? { good: 0, scrap: 0, kg: 0 };
      expected.set(key, { good: w.good + s.good, scrap: w.scrap + s.scrap, kg: w.kg + s.kg });
    };
    const counters = new Map(COUNTERS.map((m, i) => [m, { good: i === 0 ? ROLLOVER - 700 : 1000 * i, scrap: 50, kg: 500 }]));
    const seqs = new Map(DELTAS.map((m) => [m, 0]));
    let round = 0;
    let published = 0;
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'crash-exact-publisher' });
    const sends: Promise<unknown>[] = [];
    const publishRound = (): void => {
      const ts = Date.now();
      for (const m of MACHINES) {
        const good = Math.floor(rand.next() * 4);
        const scrap = rand.next() < 0.1 ? 1 : 0;
        // Quarter kilograms: sums are exact in floating point, in any order.
        const kg = (good + scrap) * 0.25 + (rand.next() < 0.5 ? 0.25 : 0);
        const [site, line, machine] = m.split('/');
        let topic: string;
        let body: Record<string, number>;
        const c = counters.get(m);
        if (c !== undefined) {
          // The first reading of a counter is its baseline: it counts nothing.
          if (round > 0) {
            c.good = m === COUNTERS[0] ? (c.good + good) % ROLLOVER : c.good + good;
            c.scrap += scrap;
            c.kg += kg;
            add(m, ts, { good, scrap, kg });
          } else add(m, ts, { good: 0, scrap: 0, kg: 0 });
          topic = `${site}/${line}/${machine}/counters`;
          body = { good: c.good, scrap: c.scrap, kg: c.kg, ts };
        } else {
          const seq = seqs.get(m)! + 1;
          seqs.set(m, seq);
          add(m, ts, { good, scrap, kg });
          topic = `${site}/${line}/${machine}/events`;
          body = { good, scrap, kg, seq, ts };
        }
        sends.push(pub.publishAsync(topic, JSON.stringify(body), { qos: 1 }));
        published++;
      }
      round++;
    };
    // The stream flows until the last kill is well behind, however long the agent takes to start.
    let lastRound = Infinity;
    const timer = setInterval(() => {
      if (round < lastRound) publishRound();
    }, EVERY_MS);

    const start = agentStarter(configFile, procs);
    let agent = start();
    const kills: { atRound: number; heldFor: number }[] = [];
    try {
      for (let k = 0; k < KILLS; k++) {
        await waitFor('the agent connected', () => mqttConnected(agent), 30_000, 20);
        // Killed while it receives: some messages applied and committed, some applied only, acknowledgements in flight.
        const heldFor = 300 + Math.floor(rand.next() * 1200);
        await new Promise((r) => setTimeout(r, heldFor));
        kills.push({ atRound: round, heldFor });
        agent.child.kill('SIGKILL');
        expect(await agent.exited).toBe('SIGKILL');
        // The broker queues the stream for the session while the agent is down.
        await new Promise((r) => setTimeout(r, Math.floor(rand.next() * 500)));
        agent = start();
      }
      await waitFor('the agent connected', () => mqttConnected(agent), 30_000, 20);
      lastRound = round + ROUNDS_AFTER_LAST_START;
      await waitFor('the rest of the stream published', () => round >= lastRound, 30_000, 50);
      clearInterval(timer);
      await Promise.all(sends);
      expect(published).toBe(round * MACHINES.length);

      // Every window the stream made is stored with its final numbers (late windows are revised, not lost).
      await waitFor(
        'every window stored as computed from the stream',
        () => {
          if (!existsSync(dbFile)) return false;
          const got = storedWindows(dbFile);
          return got.size === expected.size && [...expected].every(([k, w]) => sameSums(got.get(k), w));
        },
        45_000,
        200,
      );
      agent.child.kill('SIGTERM');
      expect(await agent.exited).toBe(0);
    } catch (err) {
      const got = existsSync(dbFile) ? storedWindows(dbFile) : new Map<string, Sums>();
      const wrong = [...new Set([...expected.keys(), ...got.keys()])].filter((k) => !sameSums(got.get(k), expected.get(k))).slice(0, 10);
      throw new Error(
        `${(err as Error).message}\nkills: ${JSON.stringify(kills)}\nwindows that differ (of ${expected.size}): ${wrong.map((k) => `${k} stored ${JSON.stringify(got.get(k))} expected ${JSON.stringify(expected.get(k))}`).join('; ')}\nagent output:\n${agent.output()}`,
      );
    } finally {
      clearInterval(timer);
      await pub.endAsync();
    }

    // After a clean stop: exactly the windows of the stream, each with exactly its parts and kilograms.
    const final = storedWindows(dbFile);
    expect([...final.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [k, w] of expected) expect({ window: k, ...final.get(k) }).toEqual({ window: k, ...w });
    // The run is what it claims: every machine made parts in many windows, and the agent resumed after each kill.
    expect(expected.size).toBeGreaterThan(MACHINES.length * 10);
    for (const m of MACHINES) expect([...expected].filter(([k]) => k.startsWith(`${m}@`)).reduce((s, [, w]) => s + w.good, 0)).toBeGreaterThan(500);
    expect(procs.length).toBe(KILLS + 1);
  });
});
