import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { agentStarter, mqttConnected, type AgentProcess } from '../helpers/agent-process.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { requireBinary } from '../helpers/require-binary.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { storedWindows } from '../helpers/window-sums.js';

/**
 * The one crash that acknowledge-after-commit alone does not cover: the agent commits what it
 * applied, its PUBACKs never reach the broker (here a proxy drops them; in the field the
 * process dies between the commit and the write), and the agent dies. The broker sends those
 * messages again to the next run, with DUP set. A `delta` machine without `seqField` has
 * nothing in the payload to tell them from new ones, so only the packet ids the commit saved
 * (sources/mqtt/held-acks.ts) keep its parts from being counted twice.
 */

const CLIENT_ID = 'yieldwatch-ack-lost';
const MACHINE = 'acklost/l1/d1';
const MESSAGES = 40;

const hasMosquitto = requireBinary('mosquitto');

describe.skipIf(!hasMosquitto)('a crash after the commit, before the broker got the PUBACKs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-ack-lost-'));
  const procs: AgentProcess[] = [];
  let broker: Mosquitto | undefined;
  let proxy: TcpProxy | undefined;
  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await proxy?.close();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('counts the parts of a delta machine without seqField once, though the broker sends them again', { timeout: 90_000 }, async () => {
    broker = await startMosquitto();
    proxy = await startTcpProxy(broker.port);
    const dbFile = join(dir, 'data', 'yieldwatch.db');
    const configFile = join(dir, 'agent.yaml');
    writeFileSync(
      configFile,
      stringify({
        agent: { id: 'acklost', dataDir: './data', logLevel: 'info' },
        kpi: { windowSize: '1s', allowedLateness: '300ms' },
        machines: [{ path: MACHINE, partMassKg: 0.5, signals: { parts_good: { kind: 'delta' } } }],
        sources: [
          {
            type: 'mqtt',
            id: 'line',
            url: proxy.url,
            clientId: CLIENT_ID,
            sessionExpiry: '1h',
            reconnectMin: '100ms',
            reconnectMax: '500ms',
            topics: [{ topic: '{site}/{line}/{machine}/parts', fields: { parts_good: 'good' }, timestamp: { field: 'ts' } }],
          },
        ],
        api: { enabled: false },
      }),
    );
    const start = agentStarter(configFile, procs);

    let agent = start();
    await waitFor('the agent connected', () => mqttConnected(agent), 30_000, 20);
    // From here the broker hears nothing from the agent: no PUBACK arrives.
    proxy.dropUpstream = true;
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'ack-lost-publisher' });
    let published = 0;
    for (let i = 0; i < MESSAGES; i++) {
      const good = 1 + (i % 3);
      await pub.publishAsync('acklost/l1/d1/parts', JSON.stringify({ good, ts: Date.now() }), { qos: 1 });
      published += good;
    }
    await pub.endAsync();
    // The agent applied and committed all of them: the commit saved their packet ids.
    await waitFor('a commit holding every message', () => savedIds(dbFile) === MESSAGES, 10_000, 20);
    agent.child.kill('SIGKILL');
    expect(await agent.exited).toBe('SIGKILL');
    // The PUBACKs were written by the agent and lost on the way.
    expect(proxy.dropped).toBeGreaterThanOrEqual(MESSAGES * 4);
    proxy.cut();
    proxy.dropUpstream = false;

    agent = start();
    await waitFor('the agent connected again', () => mqttConnected(agent), 30_000, 20);
    // The broker sends the 40 messages again; the windows are emitted once they are due.
    await waitFor('the stream stored', () => storedGood(dbFile) >= published, 20_000, 100);
    // Long enough for a second copy of every window to be emitted too, were they counted twice.
    await new Promise((r) => setTimeout(r, 2000));
    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
    expect(storedGood(dbFile)).toBe(published);
  });
});

/** How many packet ids the last commit saved for the source's session. */
function savedIds(file: string): number {
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare('SELECT state FROM source_state WHERE key = ?').get(`mqtt ${CLIENT_ID}`) as { state: string } | undefined;
    if (row === undefined || row.state === '') return 0;
    return row.state.split(',').reduce((n, r) => {
      const [a, b] = r.split('-').map(Number);
      return n + (b === undefined ? 1 : b - a! + 1);
    }, 0);
  } catch {
    return 0;
  } finally {
    db.close();
  }
}

/** Good parts in every stored window of the machine. */
function storedGood(file: string): number {
  let good = 0;
  for (const [key, w] of storedWindows(file)) if (key.startsWith(`${MACHINE}@`)) good += w.good;
  return good;
}
