/**
 * What the OPC UA case shares between its two children (opcua-sim.ts, consumer-opcua.ts) and the
 * runner: the simulated machines, the monitored items and the agent's config. Kept apart from
 * agent-config.ts and common.ts because it loads the simulator (and with it node-opcua), which the
 * MQTT consumers must not carry in their memory.
 */
import { validateConfig } from '../../agent/src/config/load.js';
import type { Config } from '../../agent/src/config/schema.js';
import type { SimulatedMachineConfig } from '../../agent/src/simulator/config.js';
import { simulatedMachineSchema } from '../../agent/src/simulator/config.js';
import { simulatorNodeId, type OpcuaSimVariable } from '../../agent/src/simulator/opcua-server.js';
import { PART_MASS_KG, PROCESS_LOSS, PRODUCT } from './common.js';
import { benchPlant } from './agent-config.js';

/** The numeric variables of a simulated machine and the counter each one is mapped to, as config/demo.yaml maps line3. */
export const OPCUA_ITEM_VARIABLES = [
  ['GoodCount', 'parts_good'],
  ['ScrapCount', 'parts_scrap'],
  ['ReworkCount', 'parts_rework'],
  ['MaterialInKg', 'material_in_kg'],
] as const satisfies readonly (readonly [OpcuaSimVariable, string])[];

export type OpcuaItemSignal = (typeof OPCUA_ITEM_VARIABLES)[number][1];

/** Machines per line, so a line stays a plausible size even at 1,250 machines. */
const MACHINES_PER_LINE = 100;

/**
 * Parts made per update of the simulator, on average. With 30 % scrap and 30 % rework every part
 * counter moves by about 12 per update, so it stays still in one update with a chance of
 * e^-12 ≈ 6·10⁻⁶ and every item has a new value at every sampling; the material always moves.
 * Counters that stand still would not be reported (OPC UA sends changes only) and the bench would
 * measure the simulator's randomness instead of the agent.
 */
export const PARTS_PER_UPDATE = 40;
const SCRAP_RATE = 0.3;
const REWORK_RATE = 0.3;

/** ISA-95 paths of the machines that carry `items` monitored items, four per machine: `bench/ua01/m001` … */
export function opcuaMachinePaths(items: number): string[] {
  return Array.from({ length: Math.ceil(items / OPCUA_ITEM_VARIABLES.length) }, (_, i) => {
    const line = String(Math.floor(i / MACHINES_PER_LINE) + 1).padStart(2, '0');
    const machine = String((i % MACHINES_PER_LINE) + 1).padStart(3, '0');
    return `bench/ua${line}/m${machine}`;
  });
}

/** The first `items` of (machine × numeric variable), machine by machine; the last machine may have fewer than four. */
export function opcuaItems(items: number): { machine: string; variable: OpcuaSimVariable; signal: OpcuaItemSignal; index: number }[] {
  const out: { machine: string; variable: OpcuaSimVariable; signal: OpcuaItemSignal; index: number }[] = [];
  for (const machine of opcuaMachinePaths(items)) {
    for (let k = 0; k < OPCUA_ITEM_VARIABLES.length && out.length < items; k++) {
      const [variable, signal] = OPCUA_ITEM_VARIABLES[k]!;
      out.push({ machine, variable, signal, index: k });
    }
  }
  return out;
}

/** The simulated machines, producing `PARTS_PER_UPDATE` parts per `updateMs` on average. */
export function opcuaSimMachines(items: number, updateMs: number): SimulatedMachineConfig[] {
  return opcuaMachinePaths(items).map((path) =>
    simulatedMachineSchema.parse({
      path,
      partsPerMinute: (PARTS_PER_UPDATE * 60_000) / updateMs,
      scrapRate: SCRAP_RATE,
      reworkRate: REWORK_RATE,
      materialPerPartKg: PART_MASS_KG,
      processLoss: PROCESS_LOSS,
    }),
  );
}

/**
 * The validated agent config of the OPC UA case: every machine with its four counters and the
 * product of the MQTT case, one `opcua` source (securityMode None: plain text on 127.0.0.1, as the
 * demo does it) monitoring `items` items at `samplingMs`, no HTTP API, default KPI windows and the
 * default store in `dataDir`.
 */
export function benchOpcuaAgentConfig(endpointUrl: string, dataDir: string, items: number, samplingMs: number): Config {
  const byMachine = new Map<string, Partial<Record<OpcuaItemSignal, { nodeId: string }>>>();
  for (const it of opcuaItems(items)) {
    const signals = byMachine.get(it.machine) ?? {};
    signals[it.signal] = { nodeId: simulatorNodeId(it.machine, it.variable) };
    byMachine.set(it.machine, signals);
  }
  return validateConfig(
    {
      ...benchPlant(dataDir),
      machines: [...byMachine.keys()].map((path) => ({ path, product: PRODUCT })),
      sources: [
        {
          type: 'opcua',
          id: 'bench',
          endpointUrl,
          securityMode: 'None',
          securityPolicy: 'None',
          allowInsecure: true,
          pkiDir: 'pki',
          samplingInterval: `${samplingMs}ms`,
          machines: [...byMachine].map(([machine, signals]) => ({ machine, signals })),
        },
      ],
      api: { enabled: false },
    },
    'the OPC UA bench config',
  );
}
