import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnAgent } from '../helpers/agent-process.js';
import { freePort } from '../helpers/free-port.js';
import { openEventStream } from '../helpers/sse.js';
import { waitFor } from '../helpers/wait.js';

const PRESS2 = 'demo/line1/press2';

/**
 * The demo as `npm start` runs it, with press2's worn die brought forward (a spike every minute
 * instead of every five): its alert shows on the live stream and on the MQTT broker, and an
 * operator acknowledges it through the API.
 */
describe('the demo raises a scrap alert', () => {
  const dir = mkdtempSync(join(tmpdir(), 'yw-demo-alerts-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('visible over SSE and MQTT and acknowledgeable through the API', { timeout: 150_000 }, async () => {
    const [apiPort, brokerPort, opcuaPort] = [await freePort(), await freePort(), await freePort()];
    const p = spawnAgent(['demo'], {
      YIELDWATCH_AGENT__DATA_DIR: dir,
      YIELDWATCH_API__PORT: String(apiPort),
      YIELDWATCH_DEMO__BROKER__PORT: String(brokerPort),
      YIELDWATCH_DEMO__OPCUA__PORT: String(opcuaPort),
      YIELDWATCH_DEMO__MACHINES__1__SPIKE__EVERY: '1m',
      YIELDWATCH_DEMO__MACHINES__1__SPIKE__LENGTH: '30s',
      // Live data only: the demo's history (demo.history) is tested on its own.
      YIELDWATCH_DEMO__HISTORY: '0s',
    });
    const retained = new Map<string, Record<string, unknown>>();
    let stream: ReturnType<typeof openEventStream> | undefined;
    let sub: mqtt.MqttClient | undefined;
    try {
      const url = await waitFor('the demo to print its URL', () => /Open the dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(p.output())?.[1], 30_000);
      expect(url).toBe(`http://127.0.0.1:${apiPort}`);
      stream = openEventStream(`${url}/api/v1/stream`);
      const sse = stream.events;
      sub = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { clientId: 'demo-alerts-listener' });
      sub.on('message', (topic, payload) => retained.set(topic, JSON.parse(payload.toString()) as Record<string, unknown>));
      await sub.subscribeAsync('demo/+/+/yieldwatch/#', { qos: 1 });

      const fired = await waitFor(
        'a fired alert of press2 on the live stream',
        () => sse.find((e) => e.event === 'alert' && e.data.event === 'fired' && (e.data.alert as { machine: string }).machine === PRESS2),
        120_000,
        200,
      );
      const alert = fired.data.alert as { id: string; rule: string; value: number; threshold: number };
      expect(alert.value).toBeGreaterThan(alert.threshold);
      expect(sse.some((e) => e.event === 'window')).toBe(true);

      const topic = `${PRESS2}/yieldwatch/alerts`;
      await waitFor('the alert state on MQTT', () => ((retained.get(topic)?.active as { id: string }[] | undefined) ?? []).some((a) => a.id === alert.id), 10_000);
      expect(retained.get(`${PRESS2}/yieldwatch/kpi`)).toMatchObject({ machine: PRESS2 });

      const ack = await fetch(`${url}/api/v1/alerts/${encodeURIComponent(alert.id)}/ack`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ by: 'test operator', comment: 'die checked' }),
      });
      const acked = (await ack.json()) as Record<string, unknown>;
      // One acknowledgement for the alert, whichever rules fired in it. The spike may already be over:
      // then the alert is resolved ("returned to normal, unacknowledged") and takes the acknowledgement all the same.
      expect(ack.status, JSON.stringify(acked)).toBe(200);
      expect(acked).toMatchObject({ id: alert.id, acknowledged_by: 'test operator' });
      expect(['acknowledged', 'resolved']).toContain(acked.state);
      expect((acked.rules as { rule: string }[]).map((h) => h.rule)).toContain(alert.rule);
      await waitFor('the acknowledgement on the stream', () => sse.some((e) => e.event === 'alert' && e.data.event === 'acknowledged'), 10_000);
      await waitFor('the acknowledgement on MQTT', () => ((retained.get(topic)?.change as { event?: string } | undefined)?.event ?? '') !== 'fired', 10_000);

      // Scrap by reason and destination on /api/v1/kpis: press1 and molder1 send the reason in force over MQTT, press3 counts per reason over OPC UA.
      type Window = { machine: string; parts_scrap?: number; scrap_kg?: number; scrap_by_reason?: Record<string, { parts_scrap: number; scrap_kg?: number }>; scrap_kg_by_destination?: Record<string, number> };
      const withReason = await waitFor(
        'a demo window with scrap of a known reason',
        async () => {
          for (const machine of ['demo/line1/press1', 'demo/line2/molder1', 'demo/line3/press3']) {
            const res = (await (await fetch(`${url}/api/v1/kpis?machine=${encodeURIComponent(machine)}&limit=1000`)).json()) as { items: Window[] };
            const w = res.items.find((x) => Object.keys(x.scrap_by_reason ?? {}).some((code) => code !== 'unassigned'));
            if (w !== undefined) return w;
          }
          return undefined;
        },
        90_000,
        1000,
      );
      const reasons = withReason.scrap_by_reason!;
      expect(Object.values(reasons).reduce((n, r) => n + r.parts_scrap, 0)).toBe(withReason.parts_scrap);
      expect(Object.values(withReason.scrap_kg_by_destination!).reduce((n, kg) => n + kg, 0)).toBeCloseTo(withReason.scrap_kg!, 9);
    } catch (err) {
      throw new Error(`${(err as Error).message}\ndemo output:\n${p.output().slice(-4000)}`);
    } finally {
      stream?.close();
      await sub?.endAsync();
      p.child.kill('SIGINT');
    }
    expect(await p.exited).toBe(0);
  });
});
