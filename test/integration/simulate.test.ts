import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { loadDemoSection } from '../../agent/src/config/load.js';
import { packageRoot } from '../../agent/src/core/package-root.js';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { requireBinary } from '../helpers/require-binary.js';
import { waitFor } from '../helpers/wait.js';

/**
 * `yieldwatch simulate` runs only the simulated machines of a config's demo: section against a
 * broker of one's own (the compose stack's demo profile): every machine must publish there.
 */

const DEMO = join(packageRoot(), 'config', 'demo.yaml');
const hasMosquitto = requireBinary('mosquitto');

describe.skipIf(!hasMosquitto)('yieldwatch simulate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-simulate-'));
  let broker: Mosquitto | undefined;
  let sim: AgentProcess | undefined;
  let sub: mqtt.MqttClient | undefined;
  afterAll(async () => {
    sim?.child.kill('SIGKILL');
    await sub?.endAsync(true);
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes the counters of every simulated machine to the broker it is given', { timeout: 30_000 }, async () => {
    broker = await startMosquitto();
    const seen = new Map<string, Record<string, unknown>>();
    sub = await mqtt.connectAsync(broker.url, { clientId: 'yw-simulate-test' });
    sub.on('message', (topic, payload) => seen.set(topic.replace(/\/counters$/, ''), JSON.parse(payload.toString()) as Record<string, unknown>));
    await sub.subscribeAsync('+/+/+/counters', { qos: 1 });

    sim = spawnAgent(['simulate', '--config', DEMO, '--broker', broker.url]);
    const machines = loadDemoSection(DEMO).machines.map((m) => m.path);
    try {
      await waitFor('a message from every simulated machine', () => machines.every((m) => seen.has(m)), 20_000, 50);
    } catch (err) {
      throw new Error(`${(err as Error).message}; seen: ${[...seen.keys()].join(', ')}\n${sim.output()}`);
    }
    expect([...seen.keys()].sort()).toEqual([...machines].sort());
    for (const payload of seen.values()) expect(payload).toMatchObject({ good: expect.any(Number), scrap: expect.any(Number), ts: expect.any(Number) });
    expect(sim.output()).toContain(broker.url);
    sim.child.kill('SIGTERM');
    expect(await sim.exited).toBe(0);
  });

  it('refuses a config without a demo: section, naming it', { timeout: 20_000 }, async () => {
    const file = join(dir, 'agent.yaml');
    writeFileSync(file, 'machines: []\n');
    const p = spawnAgent(['simulate', '--config', file, '--broker', 'mqtt://127.0.0.1:1']);
    expect(await p.exited).toBe(1);
    expect(p.output()).toContain('demo: required key is missing');
  });
});
