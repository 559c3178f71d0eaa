/** Scrap by reason and destination from config to the stored window and its JSON (agent/src/kpi/README.md). */
import { describe, expect, it } from 'vitest';
import { aggregateToJson } from '../agent/src/core/aggregate.js';
import { VirtualClock } from '../agent/src/core/clock.js';
import type { Sample } from '../agent/src/core/sample.js';
import { validateConfig } from '../agent/src/config/load.js';
import { Store } from '../agent/src/store/store.js';
import { createPipeline } from '../agent/src/wiring/pipeline-options.js';
import { MqttMapper } from '../agent/src/sources/mqtt/map.js';
import { mqttTopicSchema } from '../agent/src/sources/mqtt/config.js';

const T0 = Date.UTC(2026, 11, 1, 6, 0, 0);

function setup() {
  const cfg = validateConfig({
    kpi: { windowSize: '60s', allowedLateness: '10s' },
    materials: { PP: { scrapDestination: 'external_recycling' }, steel: {} },
    products: { cap: { partMassKg: 0.05, material: 'PP' } },
    sites: {
      plant: {
        scrapReasons: {
          short_shot: { label: { en: 'Short shot', nl: 'Onvolledig gespoten' } },
          contaminated: { label: { en: 'Contaminated', nl: 'Vervuild' }, destination: 'incineration' },
        },
      },
    },
    machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } },
    machines: [
      // Regrind at the moulding machine: its scrap is reused in-house unless a reason says otherwise.
      { path: 'plant/l1/im1', product: 'cap', scrapDestination: 'internal_reuse' },
      { path: 'plant/l1/im2', product: 'cap' },
    ],
    api: { enabled: false },
  });
  const clock = new VirtualClock(T0);
  const store = new Store({ path: ':memory:' });
  const pipeline = createPipeline(cfg, store, clock);
  return { clock, store, pipeline };
}

const at = (machine: string, t: number, fields: Partial<Record<'good' | 'scrap' | 'reason', number | string>>): Sample[] => [
  ...(fields.reason !== undefined ? [{ machine, signal: 'scrap_reason' as const, value: fields.reason, ts: t, source: 't' }] : []),
  ...(fields.good !== undefined ? [{ machine, signal: 'parts_good' as const, value: fields.good, ts: t, source: 't' }] : []),
  ...(fields.scrap !== undefined ? [{ machine, signal: 'parts_scrap' as const, value: fields.scrap, ts: t, source: 't' }] : []),
];

describe('scrap by reason and destination, end to end', () => {
  it('the reason\'s destination wins over the machine\'s, which wins over the material\'s; parts and kg add up; an unknown code is unassigned and counted', () => {
    const { clock, store, pipeline } = setup();
    for (const m of ['plant/l1/im1', 'plant/l1/im2']) {
      pipeline.ingest(at(m, T0 + 1000, { good: 0, scrap: 0 }));
      pipeline.ingest(at(m, T0 + 2000, { good: 100, scrap: 6, reason: 'short_shot' }));
      pipeline.ingest(at(m, T0 + 3000, { good: 150, scrap: 10, reason: 'contaminated' }));
      pipeline.ingest(at(m, T0 + 4000, { good: 160, scrap: 13, reason: 'oil' }));
      pipeline.ingest(at(m, T0 + 5000, { good: 170, scrap: 15, reason: '' }));
    }
    clock.set(T0 + 70_000);
    pipeline.tick();
    const im1 = aggregateToJson(store.getAggregate('plant/l1/im1', T0)!);
    expect(im1.scrap_by_reason).toEqual({
      contaminated: { parts_scrap: 4, scrap_kg: 0.2 },
      short_shot: { parts_scrap: 6, scrap_kg: 0.30000000000000004 },
      unassigned: { parts_scrap: 5, scrap_kg: 0.25 },
    });
    expect(im1.scrap_kg_by_destination).toEqual({ incineration: 0.2, internal_reuse: 0.55 });
    const im2 = aggregateToJson(store.getAggregate('plant/l1/im2', T0)!);
    expect(im2.scrap_kg_by_destination).toEqual({ external_recycling: 0.55, incineration: 0.2 });
    for (const w of [im1, im2]) {
      const reasons = w.scrap_by_reason!;
      expect(Object.values(reasons).reduce((a, m) => a + m.parts_scrap!, 0)).toBe(w.parts_scrap);
      expect(Object.values(w.scrap_kg_by_destination!).reduce((a, b) => a + b, 0)).toBeCloseTo(w.scrap_kg as number, 12);
    }
    expect(pipeline.stats().ingest.rejected.get('unknown_reason')).toBe(2);
    store.close();
  });

  it('an MQTT object of counters by reason: a reason missing until it has scrap counts its first parts, through the mapper and the KPI core', () => {
    const { clock, store, pipeline } = setup();
    const mapper = new MqttMapper([mqttTopicSchema.parse({ topic: '{site}/{line}/{machine}/scrap', fields: { parts_good: 'good' }, scrapByReason: { object: 'scrap' } })], 'mqtt', () => true, 65536);
    const send = (t: number, body: unknown) => {
      const out: Sample[] = [];
      expect(mapper.mapParsed('plant/l1/im1/scrap', { ...(body as object) }, out)).toBeUndefined();
      pipeline.ingest(out.map((x) => ({ ...x, ts: t })));
    };
    send(T0 + 1000, { good: 10, scrap: { short_shot: 4 } });
    send(T0 + 2000, { good: 20, scrap: { short_shot: 5, contaminated: 2 } });
    send(T0 + 3000, { good: 30, scrap: { short_shot: 5, contaminated: 3 } });
    clock.set(T0 + 70_000);
    pipeline.tick();
    expect(aggregateToJson(store.getAggregate('plant/l1/im1', T0)!).scrap_by_reason).toMatchObject({ short_shot: { parts_scrap: 1 }, contaminated: { parts_scrap: 3 } });
    store.close();
  });

  it('a late reading revises its window: the reasons are added to the stored ones and the split is derived again', () => {
    const { clock, store, pipeline } = setup();
    const m = 'plant/l1/im2';
    pipeline.ingest(at(m, T0 + 1000, { good: 0, scrap: 0 }));
    pipeline.ingest(at(m, T0 + 2000, { good: 50, scrap: 2, reason: 'short_shot' }));
    clock.set(T0 + 70_000);
    pipeline.tick();
    pipeline.ingest(at(m, T0 + 30_000, { good: 60, scrap: 5, reason: 'contaminated' }));
    clock.set(T0 + 80_000);
    pipeline.tick();
    const w = store.getAggregate(m, T0)!;
    expect(w.revision).toBe(1);
    expect(aggregateToJson(w).scrap_by_reason).toEqual({ contaminated: { parts_scrap: 3, scrap_kg: 0.15000000000000002 }, short_shot: { parts_scrap: 2, scrap_kg: 0.1 } });
    store.close();
  });
});
