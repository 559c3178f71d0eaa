import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, get, type ClientRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { startAedesBroker, type AedesBroker } from '../helpers/aedes-broker.js';
import { spawnAgent, type AgentProcess } from '../helpers/agent-process.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

/**
 * What a hostile or broken network does to a running agent, measured on the agent's own process:
 * 20,000 topics of machines nobody configured, 20,000 malformed JSON payloads, 5 MiB payloads and
 * 5,000 live-stream clients. Each is a counted rejection (or a refused stream), logged once per
 * reason, and the resident memory after the flood stays near where it was: nothing of the flood
 * is kept. The agent still counts a real machine's parts afterwards.
 */

const TOKEN = 'abuse-viewer-token-0123456789';
const M = 'abuse/l1/press';
const UNKNOWN = 20_000;
const MALFORMED = 20_000;
const HUGE = 10;
const HUGE_BYTES = 5 * 1024 * 1024;
const STREAMS = 5000;
/** Live heap the flood may leave: a keyed cache of 20,000 topics or 5,000 held requests would be tens of MB. */
const HEAP_KEPT_MAX_MB = 4;
/** Resident memory the flood may take while it lasts (measured about 80 MB: 5 MiB payloads read whole, 5,000 requests' garbage); holding the payloads or the sockets would take far more. */
const RSS_GROWTH_MAX_MB = 150;

describe('resource bounds under a flood', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-abuse-'));
  let broker: AedesBroker | undefined;
  let agent: AgentProcess | undefined;
  afterAll(async () => {
    if (agent && agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill('SIGKILL');
    await broker?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('20,000 unknown topics, 20,000 malformed payloads, 5 MiB payloads and 5,000 stream clients: counted, logged once per reason, memory kept', { timeout: 180_000 }, async () => {
    broker = await startAedesBroker();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const configFile = join(dir, 'agent.yaml');
    writeFileSync(
      configFile,
      stringify({
        agent: { id: 'abuse', dataDir: './data', logLevel: 'info' },
        kpi: { windowSize: '1s', allowedLateness: '200ms' },
        machines: [{ path: M, partMassKg: 0.2, signals: { parts_good: { kind: 'delta' } } }],
        sources: [{ type: 'mqtt', id: 'line', url: broker.url, clientId: 'yw-abuse', topics: [{ topic: '{site}/{line}/{machine}/parts', fields: { parts_good: 'good' } }] }],
        api: { host: '127.0.0.1', port, tokens: [{ name: 'scada', token: TOKEN, role: 'viewer' }] },
      }),
    );
    agent = spawnAgent(['start', '--config', configFile], { NODE_OPTIONS: `--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=${dir}` });
    const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);
    const auth = { authorization: `Bearer ${TOKEN}` };
    const metric = async (name: string, label: string): Promise<number> => {
      const text = await (await fetch(`${base}/metrics`, { headers: auth })).text();
      let sum = 0;
      for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*${label}[^}]*\\})? (\\d+)`, 'gm'))) sum += Number(m[1]);
      return sum;
    };
    const good = async (): Promise<number> => {
      const res = await fetch(`${base}/api/v1/kpis?machine=${encodeURIComponent(M)}`, { headers: auth });
      const body = (await res.json()) as { items: { parts_good?: number | null }[] };
      return body.items.reduce((s, w) => s + (w.parts_good ?? 0), 0);
    };
    /**
     * The agent's live heap: a heap snapshot (SIGUSR2, --heapsnapshot-signal) runs a full
     * collection first, so the heap size read right after it holds only what is still referenced.
     */
    let snapshots = 0;
    const heapAfterGc = async (): Promise<number> => {
      agent!.child.kill('SIGUSR2');
      snapshots++;
      await waitFor('the heap snapshot', () => readdirSync(dir).filter((f) => f.endsWith('.heapsnapshot')).length === snapshots, 30_000, 50);
      // Answered once the snapshot is written (the process is busy until then).
      return metric('yieldwatch_nodejs_heap_size_used_bytes', '');
    };
    const rssMb = (): number => Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${agent!.child.pid}/status`, 'utf8'))![1]) / 1024;

    await waitFor('the API', async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.ok, 30_000, 100);
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'abuse-publisher' });
    const topic = `${M}/parts`;
    // Warm up on real traffic first, so that what is measured is the flood, not the first messages.
    for (let i = 0; i < 500; i++) pub.publish(topic, JSON.stringify({ good: 1 }));
    await waitFor('the warm-up counted', async () => (await good()) === 500, 20_000, 100);
    // The snapshot's own memory is taken before the first reading of the resident memory.
    const heapBefore = await heapAfterGc();
    const rssBefore = rssMb();

    for (let i = 0; i < UNKNOWN; i++) pub.publish(`abuse/l9/m${i}/parts`, '{"good":1}');
    for (let i = 0; i < MALFORMED; i++) pub.publish(topic, `{"good":${i}`);
    const huge = Buffer.alloc(HUGE_BYTES, 0x20);
    for (let i = 0; i < HUGE; i++) await pub.publishAsync(topic, huge);
    await waitFor(
      'every message of the flood counted as rejected',
      async () =>
        (await metric('yieldwatch_rejected_total', 'reason="unknown_machine"')) === UNKNOWN &&
        (await metric('yieldwatch_rejected_total', 'reason="invalid_json"')) === MALFORMED &&
        (await metric('yieldwatch_rejected_total', 'reason="payload_too_large"')) === HUGE,
      60_000,
      200,
    );

    // 5,000 clients ask for the live stream at once, 250 at a time; the ones beyond the caps are refused at once.
    const http = new HttpAgent({ keepAlive: false, maxSockets: 250 });
    const open: ClientRequest[] = [];
    const statuses = new Map<number, number>();
    await Promise.all(
      Array.from({ length: STREAMS }, () =>
        new Promise<void>((resolve) => {
          const req = get(`${base}/api/v1/stream`, { headers: auth, agent: http }, (res) => {
            statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
            if (res.statusCode === 200) open.push(req);
            else res.resume();
            resolve();
          });
          req.on('error', () => {
            statuses.set(-1, (statuses.get(-1) ?? 0) + 1);
            resolve();
          });
        }),
      ),
    );
    // One token holds at most api.maxStreamsPerLogin (20) streams; every other client got a 429, none an error.
    expect(Object.fromEntries(statuses)).toEqual({ 200: 20, 429: STREAMS - 20 });
    for (const req of open) req.destroy();
    http.destroy();
    await new Promise((r) => setTimeout(r, 1000));
    const rssAfter = rssMb();
    const heapAfter = await heapAfterGc();
    // Nothing of the flood is kept: the heap after a full collection is where it was.
    expect((heapAfter - heapBefore) / 1024 / 1024, `live heap ${mb(heapBefore)} MB before the flood, ${mb(heapAfter)} MB after`).toBeLessThan(HEAP_KEPT_MAX_MB);
    // What it took while it lasted is bounded too (V8 and malloc keep pages they grew into; 5 MiB payloads are read whole before they are refused).
    expect(rssAfter - rssBefore, `resident memory ${rssBefore.toFixed(1)} MB before the flood, ${rssAfter.toFixed(1)} MB after`).toBeLessThan(RSS_GROWTH_MAX_MB);

    // The agent still works: the next real parts are counted.
    for (let i = 0; i < 100; i++) pub.publish(topic, JSON.stringify({ good: 2 }));
    await waitFor('the parts after the flood counted', async () => (await good()) === 700, 20_000, 100);
    await pub.endAsync();

    // One log line per reason (rejectLogInterval is 60 s), however many were rejected.
    const lines = agent.output().split('\n').filter((l) => l.includes('Rejected an MQTT message'));
    const reasons = lines.map((l) => (JSON.parse(l) as { reason: string }).reason).sort();
    expect(reasons).toEqual(['invalid_json', 'payload_too_large', 'unknown_machine']);

    agent.child.kill('SIGTERM');
    expect(await agent.exited).toBe(0);
  });
});
