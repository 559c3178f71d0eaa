import type { Config } from '../../agent/src/config/schema.js';
import { DEFAULT_QOS, MACHINES, PART_MASS_KG, PRODUCT, TOPIC_TEMPLATE, type BenchQos } from './common.js';

/**
 * The validated agent config of the `yieldwatch` consumer: the 50 machines with four PLC
 * counters, one material and product, the MQTT source on the bench broker, no HTTP API,
 * default KPI windows (60 s, 10 s lateness, checkpoint every 10 s) and the default store
 * (`synchronous: full`), exactly as a production agent would run.
 */
export async function benchAgentConfig(url: string, dataDir: string, qos: BenchQos = DEFAULT_QOS): Promise<Config> {
  const { validateConfig } = await import('../../agent/src/config/load.js');
  return validateConfig(benchAgentDoc(url, dataDir, qos));
}

/** The config as written, before validation (the consumer validates it in a worker, as `yieldwatch start` does). */
export function benchAgentDoc(url: string, dataDir: string, qos: BenchQos = DEFAULT_QOS): unknown {
  return (
    {
      ...benchPlant(dataDir),
      machines: MACHINES.map((path) => ({ path, product: PRODUCT })),
      sources: [
        {
          type: 'mqtt',
          id: 'bench',
          url,
          qos,
          topics: [
            {
              topic: TOPIC_TEMPLATE,
              fields: { parts_good: 'good', parts_scrap: 'scrap', parts_rework: 'rework', material_in_kg: 'material_in_kg' },
              timestamp: { field: 'ts', format: 'epoch_ms' },
            },
          ],
        },
      ],
      api: { enabled: false },
    }
  );
}

/** The agent, material, product and counter kinds every bench agent shares (MQTT and OPC UA cases). */
export function benchPlant(dataDir: string) {
  return {
    agent: { id: 'bench', dataDir, logLevel: 'warn' },
    materials: {
      AlMg3: {
        pricePerKg: 4.2,
        scrapValuePerKg: 1.6,
        currency: 'EUR',
        co2ePerKg: { value: 15.1, source: 'International Aluminium Institute (as config/demo.yaml)', year: 2022 },
        crm: { Al: 0.96, Mg: 0.03 },
      },
    },
    products: { [PRODUCT]: { partMassKg: PART_MASS_KG, material: 'AlMg3' } },
    machineDefaults: {
      signals: {
        parts_good: { kind: 'counter' },
        parts_scrap: { kind: 'counter' },
        parts_rework: { kind: 'counter' },
        material_in_kg: { kind: 'counter' },
      },
    },
  };
}
