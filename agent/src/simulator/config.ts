import { z } from 'zod';
import { duration } from '../config/duration.js';

export const simulatedMachineSchema = z.strictObject({
  path: z
    .string()
    .regex(/^[^/\s]+(\/[^/\s]+){2,3}$/, { message: 'expected an ISA-95 path "site/line/machine" or "site/area/line/machine"' })
    .meta({ description: 'Machine path; must also be listed under `machines`.' }),
  partsPerMinute: z.number().positive().default(60).meta({ description: 'Average production rate.' }),
  scrapRate: z.number().min(0).max(1).default(0.02).meta({ description: 'Normal share of scrap parts.' }),
  reworkRate: z.number().min(0).max(1).default(0).meta({ description: 'Normal share of reworked parts.' }),
  materialPerPartKg: z.number().positive().default(1).meta({ description: 'Material consumed per part (good, scrap or rework) before process losses.' }),
  processLoss: z.number().min(0).max(1).default(0.05).meta({ description: 'Extra share of material lost as chips, sprue or trim.' }),
  spike: z
    .strictObject({
      every: duration('Time between the starts of two scrap spikes.'),
      length: duration('How long a spike lasts.'),
      scrapRate: z.number().min(0).max(1).meta({ description: 'Scrap share during a spike.' }),
    })
    .optional()
    .meta({ description: 'Periodic scrap spikes.' }),
  resetEvery: duration('Reset the counters to 0 this often, as a PLC restart does.').optional(),
  rollover: z.number().int().positive().optional().meta({ description: 'Counter modulus, e.g. 65536 for 16-bit PLC counters.' }),
  startAt: z.number().int().nonnegative().default(0).meta({ description: 'Initial counter value (to show a rollover soon after start).' }),
});
export type SimulatedMachineConfig = z.output<typeof simulatedMachineSchema>;

export const simulatorSchema = z.strictObject({
  broker: z
    .strictObject({
      host: z.string().default('127.0.0.1').meta({ description: 'Address of the embedded demo broker.' }),
      port: z.number().int().min(0).max(65535).default(1883).meta({ description: 'Port of the embedded demo broker; 0 picks a free one.' }),
    })
    .prefault({ host: '127.0.0.1', port: 1883 }),
  topic: z
    .string()
    .default('{site}/{line}/{machine}/counters')
    .meta({ description: 'Topic template the simulator publishes to (same placeholders as the MQTT source).' }),
  publishInterval: duration('How often each simulated machine publishes its counters.').prefault('1s'),
  seed: z.number().int().default(1).meta({ description: 'Random seed, so a demo run can be repeated.' }),
  machines: z.array(simulatedMachineSchema).min(1).meta({ description: 'Simulated machines.' }),
});
export type SimulatorConfig = z.output<typeof simulatorSchema>;
