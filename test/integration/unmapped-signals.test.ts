import mqtt from 'mqtt';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aggregateToJson } from '../../agent/src/core/aggregate.js';
import { systemClock } from '../../agent/src/core/clock.js';
import { validateConfig } from '../../agent/src/config/load.js';
import type { Config, ConfigInput } from '../../agent/src/config/schema.js';
import { configWarnings } from '../../agent/src/config/warnings.js';
import { machineList } from '../../agent/src/readers/machine-list.js';
import type { MqttSourceConfig } from '../../agent/src/sources/mqtt/config.js';
import { mqttSource, type MqttSource } from '../../agent/src/sources/mqtt/index.js';
import { Store } from '../../agent/src/store/store.js';
import { createPipeline } from '../../agent/src/wiring/pipeline-options.js';
import { startAedesBroker, type AedesBroker } from '../helpers/aedes-broker.js';
import { waitFor } from '../helpers/wait.js';

const PRESS1 = 'plant1/line1/press1'; // maps parts_good, parts_scrap and material_in_kg
const PRESS2 = 'plant1/line2/press2'; // maps parts_good and parts_scrap: material_in_kg only inherited
const PRESS3 = 'plant1/line3/press3'; // maps parts_total and parts_scrap: parts_good only inherited

/**
 * A newcomer's config: `machineDefaults` declares every signal a machine might have, and each
 * line's topic maps what its machines really send.
 */
function configFor(url: string): Config {
  const topic = (line: string, fields: Record<string, string>) => ({ topic: `plant1/${line}/{machine}/counters`, site: 'plant1', line, fields, timestamp: { field: 'ts', format: 'epoch_ms' as const } });
  const input: ConfigInput = {
    agent: { id: 'itest-unmapped' },
    kpi: { windowSize: '60s', allowedLateness: '10s' },
    materials: { steel: { pricePerKg: 1.2, scrapValuePerKg: 0.2, co2ePerKg: { value: 1.9, source: 'made up for testing', year: 2026 } } },
    products: { bracket: { partMassKg: 0.4, material: 'steel' } },
    machineDefaults: { signals: { parts_total: { kind: 'counter' }, parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' }, material_in_kg: { kind: 'counter' } } },
    machines: [PRESS1, PRESS2, PRESS3].map((path) => ({ path, product: 'bracket' })),
    sources: [
      {
        type: 'mqtt',
        id: 'plant',
        url,
        reconnectMin: '100ms',
        reconnectMax: '1s',
        topics: [
          topic('line1', { parts_good: 'good', parts_scrap: 'scrap', material_in_kg: 'kg_in' }),
          topic('line2', { parts_good: 'good', parts_scrap: 'scrap' }),
          topic('line3', { parts_total: 'total', parts_scrap: 'scrap' }),
        ],
      },
    ],
    api: { enabled: false },
  };
  return validateConfig(input);
}

/** Eleven readings 5 s apart inside one window, from 0 to `last` of each field (the first is the baseline). */
function readings(machine: string, start: number, last: Record<string, number>): { topic: string; payload: Record<string, number> }[] {
  return Array.from({ length: 11 }, (_, k) => ({
    topic: `${machine}/counters`,
    payload: { ...Object.fromEntries(Object.entries(last).map(([f, v]) => [f, Math.round((v * k) / 10)])), ts: start + 1000 + k * 5000 },
  }));
}

describe('a signal a machine declares but no source maps', () => {
  let broker: AedesBroker;
  let pub: mqtt.MqttClient;
  let src: MqttSource | undefined;

  beforeAll(async () => {
    broker = await startAedesBroker();
    pub = await mqtt.connectAsync(broker.url, { clientId: 'itest-unmapped-publisher' });
  });
  afterAll(async () => {
    await src?.stop();
    await pub?.endAsync(true);
    await broker?.close();
  });

  it('is absent, never a measured zero: the KPIs that need it are absent, the others come from what is measured', async () => {
    const cfg = configFor(broker.url);
    const store = new Store({ path: ':memory:' });
    const pipeline = createPipeline(cfg, store, systemClock);
    src = mqttSource.create({ ...(cfg.sources[0] as MqttSourceConfig), clientId: 'itest-unmapped-agent' }, {
      id: 'plant',
      logger: pino({ level: 'silent' }),
      clock: systemClock,
      agentId: cfg.agent.id,
      isMachine: (p) => pipeline.hasMachine(p),
      baseDir: process.cwd(),
    });
    await src.start({ samples: (b) => pipeline.ingest(b), reject: (r, m) => pipeline.reject(r, m) });

    // One window that ended a few minutes ago: within the agent's skew and correction limits.
    const start = Math.floor((Date.now() - 5 * 60_000) / 60_000) * 60_000;
    const msgs = [
      ...readings(PRESS1, start, { good: 100, scrap: 10, kg_in: 46 }),
      ...readings(PRESS2, start, { good: 100, scrap: 12 }),
      ...readings(PRESS3, start, { total: 120, scrap: 6 }),
    ];
    for (const m of msgs) await pub.publishAsync(m.topic, JSON.stringify(m.payload), { qos: 1 });
    await waitFor(`${msgs.length} messages`, () => src!.counters().messages >= msgs.length);
    expect(src.counters()).toMatchObject({ messages: msgs.length, rejected: 0 });
    pipeline.flushAll();

    const aggregates = store.queryAggregates();
    expect(aggregates.map((a) => [a.machine, a.windowStart, a.revision])).toEqual([PRESS1, PRESS2, PRESS3].map((m) => [m, start, 0]));
    const windows = new Map(aggregates.map((a) => [a.machine, aggregateToJson(a) as unknown as Record<string, unknown>]));
    // Material in is measured: the loss is what went in and did not become product. The total is not
    // counted, so it is the sum of the counts (a measured 0 had left the window without a yield).
    expect(windows.get(PRESS1)).toMatchObject({ parts_good: 100, parts_scrap: 10, parts_total: 110, material_in_kg: 46, good_kg: 40 });
    expect(windows.get(PRESS1)!.material_loss_kg).toBeCloseTo(6, 9);
    expect(windows.get(PRESS1)!.material_efficiency).toBeCloseTo(40 / 46, 9);

    // Material in is not measured: no efficiency, and the loss is the scrap's mass (12 × 0.4 kg), not 0 − 40 kg.
    const p2 = windows.get(PRESS2)!;
    expect(p2).toMatchObject({ parts_good: 100, parts_scrap: 12, parts_total: 112, good_kg: 40 });
    expect(p2.yield).toBeCloseTo(100 / 112, 9);
    expect(p2).not.toHaveProperty('material_in_kg');
    expect(p2).not.toHaveProperty('material_efficiency');
    expect(p2.material_loss_kg).toBeCloseTo(4.8, 9);
    expect(p2.loss_cost).toBeCloseTo(4.8 * (1.2 - 0.2), 9);
    expect(p2.loss_co2e_kg).toBeCloseTo(4.8 * 1.9, 9);

    // Good parts are not counted: they are the total less the scrap, so the yield is 114 / 120, not 0 %.
    const p3 = windows.get(PRESS3)!;
    expect(p3).toMatchObject({ parts_total: 120, parts_scrap: 6, parts_good: 114 });
    expect(p3.yield).toBeCloseTo(0.95, 9);
    expect(p3).not.toHaveProperty('material_in_kg');
    expect(p3.material_loss_kg).toBeCloseTo(2.4, 9);

    // The reason is visible: the API's machine list names what is not measured, check-config warns.
    const info = new Map(machineList(cfg).map((m) => [m.machine, m]));
    const listed = (m: string) => ({ signals: info.get(m)!.signals, not_measured: info.get(m)!.not_measured });
    expect(listed(PRESS1)).toEqual({ signals: { parts_good: 'counter', parts_scrap: 'counter', material_in_kg: 'counter' }, not_measured: ['parts_total'] });
    expect(listed(PRESS2)).toEqual({ signals: { parts_good: 'counter', parts_scrap: 'counter' }, not_measured: ['parts_total', 'material_in_kg'] });
    expect(listed(PRESS3)).toEqual({ signals: { parts_total: 'counter', parts_scrap: 'counter' }, not_measured: ['parts_good', 'material_in_kg'] });
    const warnings = configWarnings(cfg).filter((w) => w.includes('no source maps'));
    expect(warnings).toEqual([
      expect.stringMatching(/^plant1\/line1\/press1 declares parts_total \(inherited from machineDefaults\.signals\), but no source maps it/),
      expect.stringMatching(/^plant1\/line2\/press2 declares parts_total \(inherited/),
      expect.stringMatching(/^plant1\/line2\/press2 declares material_in_kg \(inherited/),
      expect.stringMatching(/^plant1\/line3\/press3 declares parts_good \(inherited/),
      expect.stringMatching(/^plant1\/line3\/press3 declares material_in_kg \(inherited/),
    ]);
    store.close();
  });
});
