import { z } from 'zod';
import { duration } from './duration.js';
import { SUMMED_SIGNALS } from '../core/signals.js';
import { mqttSourceSchema } from '../sources/mqtt/config.js';
import { simulatorSchema } from '../simulator/config.js';

const MACHINE_PATH_RE = /^[^/\s]+(\/[^/\s]+){2,3}$/;
export const machinePathSchema = z
  .string()
  .regex(MACHINE_PATH_RE, { message: 'expected an ISA-95 path "site/line/machine" or "site/area/line/machine"' })
  .meta({ description: 'ISA-95 machine path: `site/line/machine` or `site/area/line/machine`.' });

const counterSignal = z.strictObject({
  kind: z.literal('counter').meta({ description: 'Cumulative counter (a PLC counter): increments are derived from successive values.' }),
  rollover: z
    .number()
    .int()
    .positive()
    .optional()
    .meta({ description: 'Modulus at which the counter wraps to 0, e.g. 65536 for a 16-bit counter. Unset: a drop is always a reset.' }),
  maxRatePerSecond: z
    .number()
    .positive()
    .optional()
    .meta({ description: 'Largest plausible increase per second; a larger jump is counted as implausible and not applied.' }),
});
const deltaSignal = z.strictObject({
  kind: z.literal('delta').meta({ description: 'Each value is an increment; repeated sequence numbers are dropped as duplicates.' }),
});
const gaugeSignal = z.strictObject({
  kind: z.literal('gauge').meta({ description: 'A level; recorded, never summed.' }),
});
export const signalSchema = z.discriminatedUnion('kind', [counterSignal, deltaSignal, gaugeSignal]);
export type SignalConfig = z.output<typeof signalSchema>;

const signalsSchema = z
  .partialRecord(z.enum(SUMMED_SIGNALS), signalSchema)
  .meta({ description: 'Numeric signals this machine reports, by canonical name, with their kind.' });

const SCRAP_DESTINATIONS = [
  'internal_reuse',
  'external_recycling',
  'other_recovery',
  'incineration',
  'landfill',
  'other_disposal',
] as const;

const factorSchema = z.strictObject({
  value: z.number().nonnegative().meta({ description: 'kg CO2e per kg of material.' }),
  source: z.string().min(1).meta({ description: 'Where the factor comes from (publication or supplier declaration).' }),
  year: z.number().int().min(1990).max(2100).meta({ description: 'Reference year of the factor.' }),
  boundary: z.string().optional().meta({ description: 'System boundary, e.g. "cradle-to-gate".' }),
});

export const materialSchema = z.strictObject({
  pricePerKg: z.number().nonnegative().optional().meta({ description: 'Purchase price per kg, in `currency`.' }),
  scrapValuePerKg: z
    .number()
    .nonnegative()
    .default(0)
    .meta({ description: 'What a kg of scrap is sold or credited for, in `currency`.' }),
  currency: z.string().length(3).default('EUR').meta({ description: 'ISO 4217 currency code of the prices.' }),
  co2ePerKg: factorSchema.optional().meta({ description: 'Embodied emissions of the material, with source and year.' }),
  crm: z
    .record(z.string().regex(/^[A-Z][a-z]?$/, { message: 'expected a chemical element symbol such as "Cu"' }), z.number().min(0).max(1))
    .prefault({})
    .meta({ description: 'Mass fraction per chemical element (EU critical raw materials list), e.g. `{ Cu: 0.92 }`.' }),
  recycledContentShare: z.number().min(0).max(1).optional().meta({ description: 'Share of recycled input, 0 to 1.' }),
  scrapDestination: z
    .enum(SCRAP_DESTINATIONS)
    .default('external_recycling')
    .meta({ description: 'Where this material\'s scrap goes (ESRS E5 categories).' }),
});
export type MaterialConfig = z.output<typeof materialSchema>;

export const productSchema = z.strictObject({
  partMassKg: z.number().positive().meta({ description: 'Mass of one good part in kg.' }),
  material: z.string().min(1).meta({ description: 'Name of the material in the material library.' }),
});

export const machineSchema = z.strictObject({
  path: machinePathSchema,
  product: z.string().optional().meta({ description: 'Product made by default (name in `products`); gives part mass and material.' }),
  partMassKg: z.number().positive().optional().meta({ description: 'Part mass in kg when no `product` is named.' }),
  material: z.string().optional().meta({ description: 'Material when no `product` is named.' }),
  signals: signalsSchema.optional(),
});
export type MachineConfig = z.output<typeof machineSchema>;

export const kpiSchema = z
  .strictObject({
    windowSize: duration('Length of the tumbling KPI windows, aligned to the UTC epoch.').prefault('60s'),
    allowedLateness: duration('How long after its end a window waits for late samples before it is first emitted.').prefault('10s'),
    maxFutureSkew: duration('A timestamp further ahead of the agent clock than this is replaced by the arrival time (counted as skewed).').prefault('5m'),
    correctionHorizon: duration('A timestamp older than this is replaced by the arrival time (counted as too late).').prefault('24h'),
    checkpointInterval: duration('How often counter state and open windows are saved between emissions.').prefault('10s'),
  })
  .prefault({
    windowSize: '60s',
    allowedLateness: '10s',
    maxFutureSkew: '5m',
    correctionHorizon: '24h',
    checkpointInterval: '10s',
  });

export const storeSchema = z
  .strictObject({
    retention: duration('How long emitted windows are kept in the local store.').prefault('400d'),
    synchronous: z
      .enum(['full', 'normal'])
      .default('full')
      .meta({ description: 'SQLite synchronous mode: `full` survives power loss; `normal` may lose the last commits on power loss, never on a crash.' }),
  })
  .prefault({ retention: '400d', synchronous: 'full' });

export const apiSchema = z
  .strictObject({
    enabled: z.boolean().default(true).meta({ description: 'Serve the HTTP API.' }),
    host: z.string().default('127.0.0.1').meta({ description: 'Address to listen on; `0.0.0.0` for all interfaces.' }),
    port: z.number().int().min(0).max(65535).default(8080).meta({ description: 'TCP port; 0 picks a free one.' }),
  })
  .prefault({ enabled: true, host: '127.0.0.1', port: 8080 });

export const sourceSchema = z.discriminatedUnion('type', [mqttSourceSchema]);
export type SourceConfig = z.output<typeof sourceSchema>;

export const configSchema = z
  .strictObject({
    agent: z
      .strictObject({
        id: z
          .string()
          .regex(/^[A-Za-z0-9._-]+$/, { message: 'expected letters, digits, ".", "_" or "-"' })
          .default('edge-01')
          .meta({ description: 'Name of this agent; tags its data and names its MQTT client.' }),
        dataDir: z.string().default('./data').meta({ description: 'Folder of the local store, relative to the config file.' }),
        logLevel: z
          .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
          .default('info')
          .meta({ description: 'Lowest log level written.' }),
      })
      .prefault({ id: 'edge-01', dataDir: './data', logLevel: 'info' }),
    kpi: kpiSchema,
    materialLibrary: z
      .string()
      .optional()
      .meta({ description: 'YAML file with more materials (relative to the config file); entries in `materials` win.' }),
    materials: z.record(z.string(), materialSchema).default({}).meta({ description: 'Material library by name.' }),
    products: z.record(z.string(), productSchema).default({}).meta({ description: 'Products by name.' }),
    machineDefaults: z
      .strictObject({ signals: signalsSchema.default({}) })
      .prefault({ signals: {} })
      .meta({ description: 'Signal kinds every machine inherits; a machine\'s own `signals` win per signal.' }),
    machines: z.array(machineSchema).default([]).meta({ description: 'The machines this agent watches.' }),
    sources: z.array(sourceSchema).default([]).meta({ description: 'Where samples come from.' }),
    store: storeSchema,
    api: apiSchema,
    demo: simulatorSchema.optional().meta({ description: 'Only for `yieldwatch demo`: the embedded broker and simulated machines.' }),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.machines.forEach((m, i) => {
      if (seen.has(m.path)) ctx.addIssue({ code: 'custom', path: ['machines', i, 'path'], message: `duplicate machine path "${m.path}"` });
      seen.add(m.path);
      if (m.product !== undefined && !(m.product in cfg.products)) {
        ctx.addIssue({
          code: 'custom',
          path: ['machines', i, 'product'],
          message: `unknown product "${m.product}"; expected one of: ${Object.keys(cfg.products).join(', ') || '(no products defined)'}`,
        });
      }
      if (m.material !== undefined && cfg.materialLibrary === undefined && !(m.material in cfg.materials)) {
        ctx.addIssue({
          code: 'custom',
          path: ['machines', i, 'material'],
          message: `unknown material "${m.material}"; expected one of: ${Object.keys(cfg.materials).join(', ') || '(no materials defined)'}`,
        });
      }
    });
    for (const [name, p] of Object.entries(cfg.products)) {
      if (cfg.materialLibrary === undefined && !(p.material in cfg.materials)) {
        ctx.addIssue({
          code: 'custom',
          path: ['products', name, 'material'],
          message: `unknown material "${p.material}"; expected one of: ${Object.keys(cfg.materials).join(', ') || '(no materials defined)'}`,
        });
      }
    }
    const ids = new Set<string>();
    cfg.sources.forEach((s, i) => {
      if (ids.has(s.id)) ctx.addIssue({ code: 'custom', path: ['sources', i, 'id'], message: `duplicate source id "${s.id}"` });
      ids.add(s.id);
    });
  });

export type ConfigInput = z.input<typeof configSchema>;
export type Config = z.output<typeof configSchema>;
