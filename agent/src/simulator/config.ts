import { z } from 'zod';
import { duration, positiveDuration } from '../core/schema/duration.js';
import { reasonCodeSchema } from '../core/schema/reason-code.js';

/** A duration option that must be above zero: a zero period would divide by zero or spin a timer. */
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
      every: positiveDuration('Time between the starts of two scrap spikes; spikes start at multiples of it since the UTC epoch.'),
      length: positiveDuration('How long a spike lasts (at most `every`).'),
      scrapRate: z.number().min(0).max(1).meta({ description: 'Scrap share during a spike.' }),
    })
    .refine((s) => s.length <= s.every, { message: 'expected spike.length to be at most spike.every', path: ['length'] })
    .optional()
    .meta({ description: 'Periodic scrap spikes.' }),
  resetEvery: positiveDuration('Reset all counters to 0 this often, as a PLC restart does; resets fall on multiples of it since the UTC epoch.').optional(),
  rollover: z.number().int().positive().optional().meta({ description: 'Counter modulus, e.g. 65536 for 16-bit PLC counters.' }),
  startAt: z.number().int().nonnegative().default(0).meta({ description: 'Initial value of the part counters (to show a rollover soon after start).' }),
  scrapReasons: z
    .record(reasonCodeSchema, z.number().positive())
    .optional()
    .meta({
      description:
        'Reason code → relative weight: each scrap part gets a reason drawn by these weights. The machine then also shows a counter per reason and the reason of its latest scrap part.',
    }),
}).refine((m) => m.scrapRate + m.reworkRate <= 1, { message: 'expected scrapRate + reworkRate to be at most 1', path: ['reworkRate'] });
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
    .min(1)
    .refine((t) => t.includes('{machine}'), { message: 'expected the topic template to contain {machine}' })
    .refine((t) => !/[#+]/.test(t), { message: 'expected a topic template without MQTT wildcards (+ or #)' })
    .default('{site}/{line}/{machine}/counters')
    .meta({ description: 'Topic template the simulator publishes to (same placeholders as the MQTT source).' }),
  publishInterval: positiveDuration('How often each simulated machine publishes its counters.').prefault('1s'),
  seed: z.number().int().default(1).meta({ description: 'Random seed, so a demo run can be repeated.' }),
  history: duration('On the first start (an empty store), at least this much of the simulated machines\' past, from the start of that site day, is run through the real pipeline into the store before the agent starts, so the charts, shift comparisons, yesterday\'s report and the opportunity have data at once; `0s` for none.').prefault('24h'),
  machines: z.array(simulatedMachineSchema).min(1).meta({ description: 'Simulated machines that publish over MQTT.' }),
  opcua: z
    .strictObject({
      host: z.string().default('127.0.0.1').meta({ description: 'Address of the demo OPC UA server.' }),
      port: z.number().int().min(0).max(65535).default(4840).meta({ description: 'Port of the demo OPC UA server; a taken port is replaced by a free one.' }),
      updateInterval: positiveDuration('How often the OPC UA machines update their variables.').prefault('1s'),
      machines: z.array(simulatedMachineSchema).min(1).meta({ description: 'Simulated machines served over OPC UA (NodeIds `ns=1;s=<path>/GoodCount`, ...).' }),
    })
    .optional()
    .meta({ description: 'An embedded OPC UA server with more simulated machines, read by the demo\'s `opcua` source.' }),
}).superRefine((cfg, ctx) => {
  const seen = new Set<string>();
  cfg.machines.forEach((m, i) => {
    if (seen.has(m.path)) ctx.addIssue({ code: 'custom', path: ['machines', i, 'path'], message: `duplicate simulated machine "${m.path}"` });
    seen.add(m.path);
    // A 3-level path has no area to put in the topic; an empty topic level would never match the agent's template.
    if (cfg.topic.includes('{area}') && m.path.split('/').length !== 4) {
      ctx.addIssue({ code: 'custom', path: ['machines', i, 'path'], message: `expected "site/area/line/machine" because the topic uses {area}, got "${m.path}"` });
    }
  });
});
export type SimulatorConfig = z.output<typeof simulatorSchema>;
