import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent } from '../../agent/src/agent.js';
import { validateConfig } from '../../agent/src/config/load.js';
import type { Config } from '../../agent/src/config/schema.js';
import type { StatusJson } from '../../agent/src/api/contract.js';
import { startAedesBroker } from '../helpers/aedes-broker.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Issue 14, item 3: a resumed persistent session delivered 1,000 queued messages of a publisher
 * whose counters stood at other values, and the jump was counted as production (good parts 72×
 * the truth). No limit is configured here: the counter has learned its rate, the learned peak
 * comes back from the checkpoint after a restart, and the jump is kept out, counted per machine
 * and reason in /api/v1/status and the metrics.
 */

const M = 'guard/l1/press';
const TOPIC = 'guard/l1/press/counters';
/** Live readings: 2 parts every 10 s (0.2/s, learned limit 2/s). */
const STEP = 2;
const EVERY_MS = 10_000;
const LIVE = 120;
const QUEUED = 1000;
const RESUMED = 20;
const STOOD_AT = 5_000_000;

describe('implausible jumps are caught by default', () => {
  const cleanup: (() => Promise<unknown> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('a resumed session\'s queued messages at other counter values are not counted; the rejection shows per machine in the status and the metrics', { timeout: 60_000 }, async () => {
    const broker = await startAedesBroker();
    cleanup.push(() => broker.close());
    const dir = mkdtempSync(join(tmpdir(), 'yw-guards-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const port = await freePort();
    const config: Config = validateConfig({
      agent: { id: 'guards', dataDir: dir },
      kpi: { windowSize: '60s', allowedLateness: '1s' },
      machines: [{ path: M, partMassKg: 0.5, signals: { parts_good: { kind: 'counter' } } }],
      sources: [
        {
          type: 'mqtt',
          id: 'line',
          url: broker.url,
          clientId: 'guards-agent',
          reconnectMin: '20ms',
          reconnectMax: '100ms',
          topics: [{ topic: '{site}/{line}/{machine}/counters', fields: { parts_good: 'good' }, timestamp: { field: 'ts' } }],
        },
      ],
      api: { host: '127.0.0.1', port },
    });
    const startAgent = async (): Promise<{ agent: Agent; url: string }> => {
      const agent = new Agent({ config, dataDir: dir, baseDir: dir, logger: pino({ level: 'silent' }) });
      cleanup.push(() => agent.stop());
      const url = await agent.start();
      return { agent, url: url! };
    };
    const pub: MqttClient = await mqtt.connectAsync(broker.url, { clientId: 'guards-pub' });
    cleanup.push(() => pub.endAsync());
    const publish = async (good: number, ts: number): Promise<void> => {
      await pub.publishAsync(TOPIC, JSON.stringify({ good, ts }), { qos: 1 });
    };
    const status = async (url: string): Promise<StatusJson> => (await (await fetch(`${url}/api/v1/status`)).json()) as StatusJson;
    const goodParts = async (url: string): Promise<number> => {
      const body = (await (await fetch(`${url}/api/v1/kpis?machine=${encodeURIComponent(M)}&limit=1000`)).json()) as { items: { parts_good?: number | null }[] };
      return body.items.reduce((s, w) => s + (w.parts_good ?? 0), 0);
    };

    // Event times in the past (well within the correction horizon) let 20 minutes of production arrive in a second.
    const t0 = Date.now() - 45 * 60_000;
    let value = 1000;
    let ts = t0;

    // 1. The machine produces long enough to learn its rate.
    let { agent, url } = await startAgent();
    for (let i = 0; i < LIVE; i++) {
      await publish(value, ts);
      value += STEP;
      ts += EVERY_MS;
    }
    value -= STEP;
    ts -= EVERY_MS;
    const lastLive = { value, ts };
    await waitFor('the rate learned', async () => (await status(url)).guards?.rate_limits.find((l) => l.signal === 'parts_good')?.source === 'learned');
    expect((await status(url)).guards!.rate_limits.find((l) => l.signal === 'parts_good')).toMatchObject({ source: 'learned', per_second: 2, peak_per_second: 0.2 });
    await waitFor('the live windows stored', async () => (await goodParts(url)) === (LIVE - 1) * STEP);

    // 2. The agent is away; the broker queues 1,000 messages of a publisher whose counter stood elsewhere.
    await agent.stop();
    for (let i = 0; i < QUEUED; i++) await publish(STOOD_AT, lastLive.ts + (i + 1) * 1000);

    // 3. A new agent on the same store and session: the learned peak comes back from the checkpoint.
    ({ agent, url } = await startAgent());
    const source = agent.sources[0]!;
    await waitFor('the queued messages delivered', () => (source.counters().messages ?? 0) >= QUEUED);

    // 4. The true publisher goes on where it was; then a reading 1e308 and one timestamped an hour ahead.
    ts = lastLive.ts + (QUEUED + 1) * 1000;
    value = lastLive.value;
    for (let i = 0; i < RESUMED; i++) {
      value += STEP;
      ts += EVERY_MS;
      await publish(value, ts);
    }
    await pub.publishAsync(TOPIC, JSON.stringify({ good: 1e308, ts }), { qos: 1 });
    await pub.publishAsync(TOPIC, JSON.stringify({ good: value, ts: Date.now() + 3_600_000 }), { qos: 1 });
    await waitFor('every message delivered', () => (source.counters().messages ?? 0) >= QUEUED + RESUMED + 2);

    // What the machine truly made: its own counter's increments, live and resumed.
    const truth = (LIVE - 1) * STEP + RESUMED * STEP;
    // Re-baselining takes the third implausible reading in a row as the new baseline (KPI README, rule 5):
    // the jump to 5,000,000 is not counted, and neither is the way back; the increments up to the
    // resumed publisher's third reading are lost with it.
    const counted = (LIVE - 1) * STEP + (RESUMED - 3) * STEP;
    const good = await waitFor('the resumed windows stored', async () => {
      const g = await goodParts(url);
      return g === counted ? g : false;
    });
    expect(good).toBeLessThanOrEqual(truth);

    const s = await status(url);
    // Two implausible jumps each way, each ending in a re-baseline; the 1e308 and the future timestamp too.
    expect(s.guards!.by_machine[M]).toEqual({ implausible: 4, out_of_range: 1, rebaselined: 2, skewed: 1 });
    expect(s.guards!.rate_limits.find((l) => l.signal === 'parts_good')).toMatchObject({ machine: M, source: 'learned', per_second: 2 });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain(`yieldwatch_machine_rejected_total{machine="${M}",reason="implausible"} 4`);
    expect(metrics).toContain(`yieldwatch_machine_rejected_total{machine="${M}",reason="out_of_range"} 1`);
  });
});
