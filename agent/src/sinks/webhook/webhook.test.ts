import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startAedesBroker } from '../../../../test/helpers/aedes-broker.js';
import { freePort } from '../../../../test/helpers/free-port.js';
import { waitFor } from '../../../../test/helpers/wait.js';
import { Agent } from '../../agent.js';
import type { Alert, AlertChange } from '../../core/alert.js';
import { validateConfig } from '../../config/load.js';
import { webhookSinkSchema } from './config.js';
import { classifyAnswer, signature, webhookSink } from './index.js';

const ALERT: Alert = {
  id: 'p/l1/m1|spike|1000',
  machine: 'p/l1/m1',
  line: 'p/l1',
  rule: 'spike',
  ruleType: 'threshold',
  severity: 'critical',
  state: 'firing',
  value: 0.31,
  threshold: 0.15,
  parts: 80,
  startedAt: Date.UTC(2026, 10, 27, 8, 0),
  windowStart: Date.UTC(2026, 10, 27, 8, 0),
  acknowledgedAt: undefined,
  acknowledgedBy: undefined,
  comment: undefined,
  resolvedAt: undefined,
  updatedAt: Date.UTC(2026, 10, 27, 8, 1, 10),
  message: '31.0 % scrap on p/l1/m1 over 80 parts, above the threshold of 15.0 %',
  rules: [
    { rule: 'spike', ruleType: 'threshold', severity: 'critical', value: 0.31, threshold: 0.15, parts: 80, firedAt: Date.UTC(2026, 10, 27, 8, 0), resolvedAt: undefined },
    { rule: 'fast', ruleType: 'fast', severity: 'warning', value: 0.4, threshold: 0.3, parts: 50, firedAt: Date.UTC(2026, 10, 27, 8, 0, 20), resolvedAt: Date.UTC(2026, 10, 27, 8, 0, 50) },
  ],
};
const FIRED: AlertChange = { kind: 'fired', alert: ALERT, at: ALERT.updatedAt, by: 'rule', notify: true, rule: 'spike' };

function config(extra: Record<string, unknown>) {
  return webhookSinkSchema.parse({ type: 'webhook', url: 'https://hooks.example/x', ...extra });
}

describe('webhook messages', () => {
  it('json: the change as the API shows it; windows are never sent', () => {
    const body = JSON.parse(webhookSink.serializeAlert(config({}), FIRED, [ALERT], 'edge-01')!) as Record<string, unknown>;
    expect(body).toMatchObject({ event: 'fired', by: 'rule', agent: 'edge-01', alert: { id: ALERT.id, machine: 'p/l1/m1', severity: 'critical', value: 0.31, threshold: 0.15, state: 'firing' } });
    expect(webhookSink.serializeWindow()).toBeUndefined();
    expect(webhookSink.serializeAlert(config({}), { ...FIRED, kind: 'late_breach', notify: false }, [], 'a')).toBeUndefined();
  });

  it('teams: an Adaptive Card message; slack: text plus blocks; both name machine, rule and rate', () => {
    const teams = JSON.parse(webhookSink.serializeAlert(config({ format: 'teams', dashboardUrl: 'http://edge:8080/' }), FIRED, [], 'a')!) as {
      type: string;
      attachments: { contentType: string; content: { type: string; body: { text?: string; facts?: { title: string; value: string }[] }[]; actions: { url: string }[] } }[];
    };
    expect(teams.type).toBe('message');
    expect(teams.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = teams.attachments[0]!.content;
    expect(card.type).toBe('AdaptiveCard');
    expect(card.body[0]!.text).toBe('Scrap alert: p/l1/m1 (spike, critical)');
    expect(card.body[2]!.facts![0]).toEqual({ title: 'Scrap rate', value: '31.0 % over 80 parts' });
    // The link lands on the alert's own page of the dashboard.
    expect(card.actions[0]!.url).toBe(`http://edge:8080/alerts/${encodeURIComponent(ALERT.id)}`);
    const slack = JSON.parse(webhookSink.serializeAlert(config({ format: 'slack' }), FIRED, [], 'a')!) as { text: string; blocks: unknown[] };
    const linked = JSON.parse(webhookSink.serializeAlert(config({ format: 'slack', dashboardUrl: 'http://edge:8080' }), FIRED, [], 'a')!) as { blocks: { text?: { text: string } }[] };
    expect(linked.blocks[1]!.text!.text).toContain(`<http://edge:8080/alerts/${encodeURIComponent(ALERT.id)}|Open the alert in the dashboard>`);
    expect(slack.text).toContain('Scrap alert: p/l1/m1 (spike, critical)');
    expect(slack.blocks).toHaveLength(2);
  });

  it('one message per alert lists every rule that fired inside it; a rule that joins is sent only when it makes the alert more severe', () => {
    const teams = JSON.parse(webhookSink.serializeAlert(config({ format: 'teams' }), FIRED, [], 'a')!) as { attachments: { content: { body: { facts?: { title: string; value: string }[] }[] } }[] };
    const facts = teams.attachments[0]!.content.body[2]!.facts!;
    expect(facts.filter((f) => f.title.startsWith('Rule '))).toEqual([
      { title: 'Rule spike', value: '31.0 % over 80 parts, limit 15.0 % (critical); fired 2026-11-27T08:00:00.000Z, still above' },
      { title: 'Rule fast', value: '40.0 % over 50 parts, limit 30.0 % (warning); fired 2026-11-27T08:00:20.000Z, cleared 2026-11-27T08:00:50.000Z' },
    ]);
    const slack = JSON.parse(webhookSink.serializeAlert(config({ format: 'slack' }), FIRED, [], 'a')!) as { blocks: { text?: { text: string } }[] };
    expect(slack.blocks[1]!.text!.text).toContain('*Rule fast:* 40.0 % over 50 parts, limit 30.0 % (warning)');
    const json = JSON.parse(webhookSink.serializeAlert(config({}), FIRED, [], 'a')!) as { rule: string; alert: { rules: { rule: string; resolved_at: number | null }[] } };
    expect(json.rule).toBe('spike');
    expect(json.alert.rules.map((h) => [h.rule, h.resolved_at])).toEqual([
      ['spike', null],
      ['fast', Date.UTC(2026, 10, 27, 8, 0, 50)],
    ]);
    const raised: AlertChange = { kind: 'rule_fired', alert: ALERT, at: ALERT.updatedAt, by: 'rule', notify: true, rule: 'fast' };
    const card = JSON.parse(webhookSink.serializeAlert(config({ format: 'teams' }), raised, [], 'a')!) as { attachments: { content: { body: { text?: string }[] } }[] };
    expect(card.attachments[0]!.content.body[0]!.text).toBe('Scrap alert, more severe: p/l1/m1 (spike, fast joined, critical)');
  });

  it('signs timestamp and body with HMAC-SHA256; classifies answers', () => {
    const sig = signature('0123456789abcdef', '1700000000', '{"a":1}');
    expect(sig).toBe(`v1=${createHmac('sha256', '0123456789abcdef').update('1700000000.{"a":1}').digest('hex')}`);
    expect(classifyAnswer(204, '', undefined)).toBeUndefined();
    expect(classifyAnswer(503, '', 2000)).toMatchObject({ kind: 'retryable', options: { retryAfterMs: 2000 } });
    expect(classifyAnswer(429, '', undefined)?.kind).toBe('retryable');
    expect(classifyAnswer(404, 'gone', undefined)?.kind).toBe('blocked');
    expect(classifyAnswer(400, 'bad card', undefined)?.kind).toBe('malformed');
  });
});

/** A webhook receiver that checks signatures and records what it accepted. */
async function receiver(port: number, secret: string) {
  const got: { event: string; id: string }[] = [];
  let badSignatures = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const ts = String(req.headers['x-yieldwatch-timestamp']);
      if (req.headers['x-yieldwatch-signature'] !== signature(secret, ts, body)) {
        badSignatures++;
        res.writeHead(401).end();
        return;
      }
      const b = JSON.parse(body) as { event: string; alert: { id: string } };
      got.push({ event: b.event, id: b.alert.id });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { got, badSignatures: () => badSignatures, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe('webhook delivery through outages and restarts', () => {
  const dirs: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('target down: alert notifications wait in the outbox across an agent restart and are each delivered once when it is back', { timeout: 60_000 }, async () => {
    const broker = await startAedesBroker();
    cleanups.push(() => broker.close());
    const hookPort = await freePort();
    const secret = 'webhook-secret-0123456789';
    const dir = mkdtempSync(join(tmpdir(), 'yw-webhook-'));
    dirs.push(dir);
    const config = validateConfig({
      agent: { id: 'hook-test', dataDir: dir },
      kpi: { windowSize: '1s', allowedLateness: '100ms' },
      machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } },
      machines: [{ path: 'p/l1/m1', partMassKg: 0.1 }],
      sources: [{ type: 'mqtt', id: 'line', url: broker.url, clientId: 'yw-hook', topics: [{ topic: 'p/{line}/{machine}/c', site: 'p', fields: { parts_good: 'good', parts_scrap: 'scrap' }, timestamp: { field: 'ts' } }] }],
      alerts: { rules: [{ id: 'spike', type: 'threshold', scrapRate: 0.3, minParts: 10, cooldown: '0s' }] },
      sinks: [{ type: 'webhook', id: 'hook', url: `http://127.0.0.1:${hookPort}/alerts`, secret, retryMin: '100ms', retryMax: '500ms' }],
      api: { enabled: false },
    });
    const start = async () => {
      const agent = new Agent({ config, dataDir: dir, baseDir: dir, logger: pino({ level: 'silent' }) });
      await agent.start();
      return agent;
    };
    let agent = await start();
    cleanups.push(() => agent.stop());

    // 20 parts a second; scrap spikes to half of them twice.
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'hook-pub' });
    cleanups.push(() => pub.endAsync());
    let good = 0;
    let scrap = 0;
    let spiking = false;
    const timer = setInterval(() => {
      if (spiking) {
        good += 1;
        scrap += 1;
      } else good += 2;
      void pub.publishAsync('p/l1/m1/c', JSON.stringify({ good, scrap, ts: Date.now() }), { qos: 1 });
    }, 100);
    cleanups.push(async () => clearInterval(timer));
    const alerts = () => agent.store.alerts.query();
    const pulse = async (n: number) => {
      spiking = true;
      await waitFor(`alert ${n} fired`, () => alerts().length === n, 10_000);
      spiking = false;
      await waitFor(`alert ${n} resolved`, () => alerts().every((a) => a.state === 'resolved'), 10_000);
    };
    await pulse(1);
    const status = () => agent.forwarders[0]!.status();
    expect(status().pendingRecords).toBe(2);
    expect(status().errors.retryable).toBeGreaterThan(0);

    // The agent restarts while the receiver is still down; the second spike happens after it.
    await agent.stop();
    agent = await start();
    await pulse(2);
    expect(status().pendingRecords).toBe(4);

    const hook = await receiver(hookPort, secret);
    cleanups.push(hook.close);
    await waitFor('every notification delivered', () => status().pendingRecords === 0, 15_000);
    clearInterval(timer);
    const expected = alerts()
      .flatMap((a) => [`fired ${a.id}`, `resolved ${a.id}`])
      .sort();
    expect(hook.got.map((g) => `${g.event} ${g.id}`).sort()).toEqual(expected);
    expect(hook.badSignatures()).toBe(0);
    expect(status()).toMatchObject({ delivered: 4, deadLettered: 0, dropped: 0 });
  });
});
