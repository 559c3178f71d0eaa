import { Cron } from 'croner';
import { z } from 'zod';
import { duration, positiveDuration } from '../core/schema/duration.js';
import { EU_CRM_ELEMENTS } from '../kpi/crm.js';
import { reasonCodeSchema } from '../core/schema/reason-code.js';
import { WEEKDAYS } from '../kpi/shifts.js';
import { isTimeZone, minuteOfDay, parseDate } from '../kpi/site-time.js';
import { SUMMED_SIGNALS } from '../core/signals.js';
import { SOURCE_TYPES, type SourceConfig } from '../sources/registry.js';
import { unknownMachines } from './source-mappings.js';
import { SINK_TYPES, type SinkConfig } from '../sinks/registry.js';
import { alertsSchema, resolveRules, type AlertRule } from '../alerts/config.js';
import { simulatorSchema } from '../simulator/config.js';
import { SCRAP_DESTINATIONS } from '../core/reasons.js';
import { reportChannel } from '../core/sink.js';
import { influxdbSinkSchema } from '../sinks/influxdb/config.js';

const MACHINE_PATH_RE = /^[^/\s]+(\/[^/\s]+){2,3}$/;
/** An ISA-95 machine path with three or four levels. */
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
    .meta({
      description:
        'Largest plausible increase per second; a larger jump is counted as implausible and not applied. Unset: a part counter takes its limit from the product\'s `cycleTime`, any other counter learns its own (10 × its peak rate, after 30 spans with production over 10 min); `kpi.counterRateCeiling` holds every counter (`check-config` names those without a set limit).',
    }),
});
const deltaSignal = z.strictObject({
  kind: z.literal('delta').meta({ description: 'Each value is an increment; repeated sequence numbers are dropped as duplicates.' }),
});
const gaugeSignal = z.strictObject({
  kind: z.literal('gauge').meta({ description: 'A level (e.g. a temperature): accepted and checked, never summed; not stored yet.' }),
});
/** One numeric signal's kind (`counter`, `delta` or `gauge`) and its counter settings. */
export const signalSchema = z
  .discriminatedUnion('kind', [counterSignal, deltaSignal, gaugeSignal])
  .meta({ description: 'How the values of this signal become increments; `kind` selects the variant.' });
/** A validated signal kind with its counter settings. */
export type SignalConfig = z.output<typeof signalSchema>;

const signalsSchema = z
  .partialRecord(z.enum(SUMMED_SIGNALS), signalSchema)
  .meta({ description: 'Numeric signals by canonical name, each with its kind.' });

const scrapDestinationSchema = z.enum(SCRAP_DESTINATIONS);


/** What the dashboard holds a machine's yield and scrap rate against (green, amber, red). */
const targetsSchema = z
  .strictObject({
    yield: z.number().min(0).max(1).optional().meta({ description: 'The yield the machine should reach, as a share (0.95 = 95 %): at or above it green.' }),
    scrapRate: z.number().min(0).max(1).optional().meta({ description: 'The scrap rate it should stay within, as a share: at or below it green.' }),
    band: z.number().min(0).max(1).optional().meta({ description: 'How far past a target is still amber, as a share (0.02 = 2 percentage points, the default); beyond it red.' }),
  })
  .meta({ description: 'Targets the dashboard shows a machine against: green when met, amber within `band`, red beyond, with the target shown.' });

/** One scrap reason code of a site. */
export const scrapReasonSchema = z.strictObject({
  label: z
    .strictObject({
      en: z.string().min(1).meta({ description: 'Label in English.' }),
      nl: z.string().min(1).optional().meta({ description: 'Label in Dutch; the English one when unset.' }),
    })
    .meta({ description: 'What the dashboard and the reports call the reason.' }),
  group: z.string().min(1).optional().meta({ description: 'A group of reasons for the Pareto chart and the reports, e.g. `mechanical`.' }),
  destination: scrapDestinationSchema
    .optional()
    .meta({ description: 'Where scrap of this reason goes; wins over the machine\'s and the material\'s (e.g. `contaminated` → `incineration`).' }),
});
/** A validated scrap reason. */
export type ScrapReasonConfig = z.output<typeof scrapReasonSchema>;

const timeOfDaySchema = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { message: 'expected a time of day "HH:MM" (00:00 to 23:59)' });
const siteDateSchema = z.string().refine((s) => parseDate(s) !== undefined, { message: 'expected a date "YYYY-MM-DD"' });
const shiftNameSchema = z.string().regex(/^[A-Za-z0-9._-]+$/, { message: 'expected a shift name of letters, digits, ".", "_" or "-"' });
const weekdayShifts = (day: string) => z.array(shiftNameSchema).default([]).meta({ description: `Shifts that start on a ${day}.` });

/** One version of a site's shift pattern. */
export const shiftCalendarVersionSchema = z
  .strictObject({
    validFrom: siteDateSchema.meta({ description: 'First date (site time) this pattern applies to; it applies until the next version\'s `validFrom`, so a changed pattern does not rewrite the past.' }),
    shifts: z
      .record(
        shiftNameSchema,
        z.strictObject({
          start: timeOfDaySchema.meta({ description: 'Wall-clock start in the site\'s time zone.' }),
          end: timeOfDaySchema.meta({ description: 'Wall-clock end; at or before `start` means the next day (a night shift). On the days the clocks change, a shift is an hour shorter or longer.' }),
        }),
      )
      .refine((s) => Object.keys(s).length > 0, { message: 'expected at least one shift' })
      .meta({ description: 'Shifts by name, e.g. `early: { start: "06:00", end: "14:00" }`.' }),
    week: z
      .strictObject({
        mon: weekdayShifts('Monday'),
        tue: weekdayShifts('Tuesday'),
        wed: weekdayShifts('Wednesday'),
        thu: weekdayShifts('Thursday'),
        fri: weekdayShifts('Friday'),
        sat: weekdayShifts('Saturday'),
        sun: weekdayShifts('Sunday'),
      })
      .meta({ description: 'The shifts that start on each weekday; a night shift belongs to the day it starts.' }),
    exceptions: z
      .array(
        z
          .strictObject({
            from: siteDateSchema.meta({ description: 'First date of the exception.' }),
            to: siteDateSchema.optional().meta({ description: 'Last date (inclusive); default `from`.' }),
            shifts: z.array(shiftNameSchema).default([]).meta({ description: 'The shifts that start on these dates instead of the week\'s: none for a holiday or a shutdown, `[early]` for an extra Saturday shift.' }),
            note: z.string().optional().meta({ description: 'What the exception is, e.g. "Christmas".' }),
          })
          .refine((e) => e.to === undefined || e.to >= e.from, { message: 'expected `to` on or after `from`', path: ['to'] }),
      )
      .default([])
      .meta({ description: 'Dates that differ from the week; a later entry wins over an earlier one for the same date.' }),
  })
  .superRefine((v, ctx) => {
    const names = Object.keys(v.shifts);
    const check = (list: readonly string[], path: (string | number)[]) =>
      list.forEach((n, i) => {
        if (!names.includes(n)) ctx.addIssue({ code: 'custom', path: [...path, i], message: `unknown shift "${n}"; expected one of: ${names.join(', ')}` });
      });
    for (const day of WEEKDAYS) check(v.week[day], ['week', day]);
    v.exceptions.forEach((e, i) => check(e.shifts, ['exceptions', i, 'shifts']));
    for (const [name, s] of Object.entries(v.shifts)) {
      if (s.start === s.end) ctx.addIssue({ code: 'custom', path: ['shifts', name, 'end'], message: 'expected an end other than the start (a shift of 24 hours is two shifts)' });
    }
    // Shifts of one day must not overlap, or a window would count in two of them.
    const spans = Object.entries(v.shifts).map(([name, s]) => {
      const start = minuteOfDay(s.start);
      const end = minuteOfDay(s.end) <= start ? minuteOfDay(s.end) + 1440 : minuteOfDay(s.end);
      return { name, start, end };
    });
    for (const a of spans) {
      for (const b of spans) {
        if (a.name >= b.name) continue;
        const overlap = (x: typeof a, y: typeof a, shift: number) => x.start < y.end + shift && y.start + shift < x.end;
        if (overlap(a, b, 0) || overlap(a, b, 1440) || overlap(a, b, -1440)) {
          ctx.addIssue({ code: 'custom', path: ['shifts', b.name], message: `expected shifts that do not overlap; "${a.name}" and "${b.name}" do` });
        }
      }
    }
  });
/** A validated shift calendar version. */
export type ShiftCalendarVersionConfig = z.output<typeof shiftCalendarVersionSchema>;


/** One site: what its machines share. */
export const siteSchema = z.strictObject({
  timeZone: z
    .string()
    .refine((tz) => isTimeZone(tz), { message: 'expected an IANA time zone such as "Europe/Amsterdam"' })
    .default('UTC')
    .meta({ description: 'IANA time zone of the site: shifts, days, weeks and months of its rollups are counted in it.' }),
  shiftCalendar: z
    .array(shiftCalendarVersionSchema)
    .default([])
    .refine((vs) => vs.every((v, i) => i === 0 || v.validFrom > vs[i - 1]!.validFrom), { message: 'expected versions in order of `validFrom`, each on a later date' })
    .meta({ description: 'The site\'s shift pattern, in versions by date; none: no shift rollups.' }),
  scrapReasons: z
    .record(reasonCodeSchema, scrapReasonSchema)
    .default({})
    .meta({
      description:
        'Scrap reason codes of the site, by code (as the machines report it, e.g. `burr` or `17`). With any defined, scrap under another code counts as unassigned and the code as a rejection (`unknown_reason`); with none, every code is taken as it comes.',
    }),
});

const factorSchema = z.strictObject({
  value: z.number().nonnegative().meta({ description: 'kg CO2e per kg of material.' }),
  source: z.string().min(1).meta({ description: 'Where the factor comes from (publication or supplier declaration).' }),
  year: z.number().int().min(1990).max(2100).meta({ description: 'Reference year of the factor.' }),
  boundary: z.string().optional().meta({ description: 'System boundary of the factor, e.g. "cradle-to-gate".' }),
});

/** One material: prices, emission factor, critical raw material fractions and scrap destination. */
export const materialSchema = z.strictObject({
  pricePerKg: z
    .number()
    .nonnegative()
    .optional()
    .meta({ description: 'Purchase price per kg, in `currency`. Unset: loss costs are not computed for this material.' }),
  scrapValuePerKg: z
    .number()
    .nonnegative()
    .default(0)
    .meta({ description: 'What a kg of scrap is sold or credited for, in `currency`.' }),
  currency: z.string().length(3).default('EUR').meta({ description: 'ISO 4217 currency code of the prices.' }),
  co2ePerKg: factorSchema.optional().meta({ description: 'Embodied emissions of the material, with source and year.' }),
  crm: z
    .record(
      z.string().refine((el) => EU_CRM_ELEMENTS.has(el), {
        message: `expected the symbol of an element on the EU critical raw materials list: ${[...EU_CRM_ELEMENTS].join(', ')}`,
      }),
      z.number().min(0).max(1),
    )
    .prefault({})
    .meta({
      description:
        'Mass fraction (0 to 1) per chemical element symbol, for elements on the EU critical raw materials list (Regulation (EU) 2024/1252), e.g. `{ Cu: 0.92 }`.',
    }),
  recycledContentShare: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .meta({ description: 'Share of recycled or reused (secondary) material in the input, 0 to 1: the secondary share of resource inflows in reports (ESRS E5-4). Unset: not stated, and the report says so.' }),
  hazardousWaste: z
    .boolean()
    .default(false)
    .meta({ description: 'Scrap of this material is hazardous waste (e.g. a leaded alloy, oily swarf): reports count its scrap under hazardous waste (ESRS E5-5).' }),
  scrapDestination: scrapDestinationSchema
    .default('external_recycling')
    .meta({ description: 'Where this material\'s scrap goes, as ESRS E5 waste categories (`internal_reuse` is in-house regrind or remelt).' }),
});
/** A validated material with defaults filled in. */
export type MaterialConfig = z.output<typeof materialSchema>;

/** One product: the mass of a good part and its material. */
export const productSchema = z.strictObject({
  partMassKg: z.number().positive().meta({ description: 'Mass of one good part in kg.' }),
  material: z.string().min(1).meta({ description: 'Name of the material in the material library.' }),
  cycleTime: positiveDuration(
    'Ideal cycle time: the fastest one cycle of the machine making this product takes (ISO 22400). Gives the part counters of a machine making it a rate limit of `partsPerCycle / cycleTime × 2`, unless the signal sets `maxRatePerSecond` (the KPI method, "Counter to delta"). Unset: the counters learn their rate.',
  )
    .optional(),
  partsPerCycle: z
    .number()
    .int()
    .positive()
    .default(1)
    .meta({ description: 'Parts one cycle makes (e.g. the cavities of a mould); with `cycleTime` it gives the part counters\' rate limit.' }),
});

/** One watched machine: its path, what it makes and its own signal kinds. */
export const machineSchema = z.strictObject({
  path: machinePathSchema,
  targets: targetsSchema.optional().meta({ description: 'This machine\'s targets; each key replaces the same one of `machineDefaults.targets`.' }),
  name: z.string().min(1).max(80).optional().meta({ description: 'What people call the machine on the dashboard and in reports (e.g. `Press 1 (Schuler 250 t)`); the path stays its identifier. Default: the last level of the path.' }),
  product: z.string().optional().meta({ description: 'Product made by default (name in `products`); gives part mass and material.' }),
  partMassKg: z.number().positive().optional().meta({ description: 'Part mass in kg when no `product` is named.' }),
  material: z.string().optional().meta({ description: 'Material when no `product` is named.' }),
  scrapDestination: scrapDestinationSchema
    .optional()
    .meta({ description: 'Where this machine\'s scrap goes, over its material\'s (e.g. `internal_reuse` for regrind at an injection-moulding machine); a reason\'s own destination wins.' }),
  signals: signalsSchema
    .optional()
    .meta({ description: 'Signal kinds of this machine by canonical name; each replaces the same signal in `machineDefaults.signals`. A signal no source maps for the machine is not measured: absent from its windows, never 0 (`check-config` warns).' }),
});
/** A validated machine entry. */
export type MachineConfig = z.output<typeof machineSchema>;

/** KPI window and event-time settings, every duration in milliseconds after parsing. */
export const kpiSchema = z
  .strictObject({
    windowSize: positiveDuration('Length of the tumbling KPI windows, aligned to the UTC epoch.').prefault('60s'),
    allowedLateness: duration('How long after its end a window waits for late samples before it is first emitted.').prefault('10s'),
    maxFutureSkew: duration('A timestamp further ahead of the agent clock than this is replaced by the arrival time (counted as skewed).').prefault('5m'),
    correctionHorizon: duration('A timestamp older than this is replaced by the arrival time (counted as too late).').prefault('24h'),
    checkpointInterval: duration('How often counter state and open windows are saved between emissions.').prefault('10s'),
    commitInterval: positiveDuration(
      'Longest a message waits to be saved when its source holds it for that (agent/ARCHITECTURE.md, "The commit"): an MQTT QoS 1 message is acknowledged to the broker only after the commit that holds its effect, and an OPC UA value, which no server sends again, is lost in a crash only if it came within this span. ' +
        'Default 100 ms: a message is acknowledged at most this late and a crash makes the broker send at most this span again, while the store makes at most 10 commits (one fsync each) a second instead of one per message. Each commit rewrites the checkpoint of the machines that changed since the previous one (about 1 kB each; 50 machines sending once a second write about 290 KiB/s at 100 ms), so a longer interval writes less to an SD card, at the price of later acknowledgements and more unacknowledged messages at the broker.',
    ).prefault('100ms'),
    counterRateCeiling: z
      .number()
      .positive()
      .default(1000)
      .meta({
        description:
          'Hard ceiling on the rate of every counter, per second (parts or kg): a larger increase is implausible, whatever other limit the counter has, and also while a counter is still learning its rate. ' +
          'Default 1,000/s: above the fastest discrete machines (a high-speed tablet press makes some 400 tablets/s, a can line 30 cans/s) and any single machine\'s material flow in kg, yet far below a jump from another counter\'s value (a counter of 10^6 read after a counter of 10^3). A line that truly counts faster (a counter of pieces per machine at a packaging line, say) raises it here.',
      }),
    commitMaxMessages: z
      .number()
      .int()
      .positive()
      .default(5000)
      .meta({
        description:
          'Commit at once, before `commitInterval` is up, when this many messages wait to be saved. Default 5,000: half the MQTT source\'s `receiveMaximum` (10,000), so the broker never runs out of in-flight room while a commit is due; at 40,000 msg/s the interval comes first (4,000 per 100 ms).',
      }),
  })
  .prefault({})
  .meta({ description: 'KPI windows and event-time rules (the KPI method: agent/src/kpi/README.md).' });

/** Settings of the local SQLite store. */
export const storeSchema = z
  .strictObject({
    retention: positiveDuration('How long emitted windows are kept in the local store.').prefault('400d'),
    synchronous: z
      .enum(['full', 'normal'])
      .default('full')
      .meta({ description: 'SQLite synchronous mode: `full` survives power loss; `normal` may lose the last commits on power loss, never on a crash.' }),
  })
  .prefault({})
  .meta({ description: 'The local SQLite store in `agent.dataDir`.' });

/** Settings of the HTTP API. */
export const apiSchema = z
  .strictObject({
    enabled: z.boolean().default(true).meta({ description: 'Serve the HTTP API.' }),
    host: z.string().default('127.0.0.1').meta({ description: 'Address to listen on; `0.0.0.0` for all interfaces.' }),
    port: z.number().int().min(0).max(65535).default(8080).meta({ description: 'TCP port; 0 picks a free one.' }),
    tokens: z
      .array(
        z.strictObject({
          name: z.string().min(1).meta({ description: 'Who holds the token; recorded as `acknowledged_by`.' }),
          token: z
            .string()
            .min(16, { message: 'expected at least 16 characters' })
            .meta({ description: 'The bearer token: at least 16 characters (make one with `openssl rand -base64 32`); prefer `${ENV}`. Never logged, and never shown in a config error.' }),
          role: z.enum(['viewer', 'operator', 'admin']).meta({ description: '`viewer` reads; `operator` also acknowledges alerts and records scrap; `admin` may do everything.' }),
        }),
      )
      .default([])
      .meta({
        description:
          'API tokens (`Authorization: Bearer <token>`), for machines and scripts. With neither tokens nor users the API and the dashboard are open to whoever reaches them, so the agent then listens on a loopback `host` only; with any, every `/api/v1` request needs a token or a login.',
      }),
    maxStreams: z
      .number()
      .int()
      .positive()
      .default(200)
      .meta({ description: 'Most live streams (`/api/v1/stream`, one per dashboard tab) open at once; one more is answered 503 with Retry-After. Each holds a socket and up to 1 MiB of unsent events.' }),
    maxStreamsPerLogin: z
      .number()
      .int()
      .positive()
      .default(20)
      .meta({ description: 'Most live streams one API token or one browser session holds open at once; one more is answered 429 with Retry-After. An open API (no users, no tokens) has only `maxStreams`.' }),
    usersFile: z
      .string()
      .min(1)
      .default('users.json')
      .meta({ description: 'The local users who log in to the dashboard (names, roles, scrypt hashes), managed with `yieldwatch user add|passwd|remove|list`; relative to `agent.dataDir`.' }),
    sessionTtl: positiveDuration('A browser session ends after this long unused.').prefault('12h'),
    trustProxy: z
      .array(z.string().min(1))
      .default([])
      .meta({ description: 'Addresses or CIDRs of the reverse proxies in front of the agent (e.g. `[127.0.0.1]`): only their `X-Forwarded-*` headers count, for the client address (login rate limit) and https (session cookies marked `Secure`). Empty: no proxy.' }),
  })
  .prefault({})
  .meta({ description: 'The HTTP API the dashboard reads.' });

/**
 * The union of the config schemas of every registered plugin of one kind, in registry order.
 * Each plugin owns its schema (its folder's config.ts); here they are only put side by side.
 */
async function pluginUnion<D extends { config: () => Promise<z.core.$ZodTypeDiscriminable> }>(defs: readonly D[]) {
  type S = Awaited<ReturnType<D['config']>>;
  const schemas = (await Promise.all(defs.map((d) => d.config()))) as S[];
  return z.discriminatedUnion('type', schemas as [S, ...S[]]);
}

/** One source of samples; `type` selects the plugin whose keys apply. */
export const sourceSchema = (await pluginUnion(Object.values(SOURCE_TYPES))).meta({
  description: 'Source plugin; each `type` has its own keys, listed below.',
});

/** One destination of the aggregates; `type` selects the plugin whose keys apply. */
export const sinkSchema = (await pluginUnion(Object.values(SINK_TYPES))).meta({
  description: 'Sink plugin; each `type` has its own keys, listed below.',
});

export type { SinkConfig, SourceConfig };

const reportFormatSchema = z.enum(['json', 'csv', 'xlsx', 'pdf']);

/** One scheduled report: when, what, and where it goes. */
export const reportScheduleSchema = z.strictObject({
  id: z
    .string()
    .regex(/^[A-Za-z0-9._-]+$/, { message: 'expected letters, digits, ".", "_" or "-"' })
    .meta({ description: 'Name of the schedule; names its files and its delivery records.' }),
  cron: z
    .string()
    .min(1)
    .superRefine((expr, ctx) => {
      try {
        new Cron(expr, { paused: true });
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: `expected a cron expression such as "0 6 * * *" (minute hour day-of-month month day-of-week): ${(err as Error).message}` });
      }
    })
    .meta({ description: 'When the report is made: a cron expression (5 fields, or 6 with seconds) in the site\'s time zone, e.g. `0 6 * * *` for 06:00 every day.' }),
  period: z
    .enum(['yesterday', 'last-shift', 'last-week', 'last-month', 'last-quarter', 'last-year'])
    .default('yesterday')
    .meta({ description: 'The period reported: the last whole one before the report is made.' }),
  catchUp: z
    .number()
    .int()
    .min(0)
    .max(366)
    .default(7)
    .meta({
      description:
        'How many periods before the latest one are made when their report is missing: missed while the agent was down, or failed (retried 1 min after, doubling to once an hour). Oldest first, and only periods since the schedule first ran, so a new schedule makes only its latest period. 0: only the latest period is made or retried.',
    }),
  scope: z.string().default('all').meta({ description: 'What the report covers, as `yieldwatch report --scope` takes it: `all`, `site:SITE`, `area:SITE/AREA`, `line:SITE/LINE` or `line:SITE/AREA/LINE` (as the machine paths have it), `machine:PATH`, `material:NAME`, … joined by commas.' }),
  formats: z.array(reportFormatSchema).min(1).default(['pdf']).meta({ description: 'Formats written, each a file in `reports.folder`.' }),
  language: z.enum(['en', 'nl']).default('en').meta({ description: 'Language of the report.' }),
  webhook: z
    .strictObject({
      url: z
        .string()
        .regex(/^https?:\/\/[^\s]+$/, { message: 'expected an http:// or https:// URL' })
        .meta({ description: 'Where each report file is POSTed: the body is the file, `Content-Type` its format; `X-Yieldwatch-Schedule`, `X-Yieldwatch-Period`, `X-Yieldwatch-Scope`, `X-Yieldwatch-File` and `Content-Disposition` name it, and `Idempotency-Key` is the same on every retry. Never logged.' }),
      headers: z.record(z.string(), z.string()).default({}).meta({ description: 'Extra request headers, e.g. `Authorization`. Values are never logged.' }),
      timeout: positiveDuration('How long one request may take before it is retried.').prefault('30s'),
    })
    .optional()
    .meta({ description: 'Also POST each report file to this URL, through the durable outbox (channel `report.<id>.webhook`): a report made while the network is down is sent when it is back; one the receiver refuses (4xx) goes to the dead-letter table.' }),
  email: z
    .strictObject({
      smtp: z
        .strictObject({
          host: z.string().min(1).meta({ description: 'The SMTP relay.' }),
          port: z.number().int().min(1).max(65535).default(587).meta({ description: 'Its port: 587 (STARTTLS), 465 (TLS) or 25.' }),
          secure: z.boolean().default(false).meta({ description: 'TLS from the start (port 465); otherwise STARTTLS is used when the relay offers it.' }),
          user: z.string().optional().meta({ description: 'Login, when the relay needs one.' }),
          password: z.string().optional().meta({ description: 'Password; prefer `${ENV}`. Never logged.' }),
        })
        .meta({ description: 'The SMTP relay the agent sends through.' }),
      from: z.string().min(3).meta({ description: 'Sender address.' }),
      to: z.array(z.string().min(3)).min(1).meta({ description: 'Recipients.' }),
    })
    .optional()
    .meta({ description: 'Also e-mail the report files (as attachments, one e-mail per report) through an SMTP relay, through the durable outbox (channel `report.<id>.email`): a report made while the relay is unreachable is sent when it is back.' }),
});
export type ReportScheduleConfig = z.output<typeof reportScheduleSchema>;

/** Reports: how the opportunity is judged and which reports are made on a schedule. */
export const reportsSchema = z
  .strictObject({
    folder: z.string().min(1).default('reports').meta({ description: 'Where scheduled reports are written, relative to `agent.dataDir`.' }),
    opportunity: z
      .strictObject({
        minParts: z.number().int().positive().default(200).meta({ description: 'Fewest parts a shift (a day, for a site without shifts) needs to count as a machine\'s demonstrated scrap rate.' }),
        lookback: positiveDuration('How far back from a report\'s end a machine\'s best shift is looked for.').prefault('90d'),
      })
      .prefault({})
      .meta({ description: 'The opportunity: what a period would have saved at each machine\'s own best demonstrated scrap rate.' }),
    schedules: z.array(reportScheduleSchema).default([]).meta({ description: 'Reports made on a schedule, written to `folder` and optionally sent by webhook or e-mail.' }),
  })
  .prefault({})
  .meta({ description: 'Material-efficiency reports (agent/src/reports/README.md).' });

/** `yieldwatch dashboard`: the central view reads what agents' `influxdb` sinks write, with the same connection keys. */
const centralSchema = z
  .strictObject({
    influxdb: influxdbSinkSchema
      .pick({ url: true, database: true, retentionPolicy: true, measurement: true, alertMeasurement: true, auth: true, tls: true, timeout: true })
      .meta({ description: 'The InfluxDB the agents\' `influxdb` sinks write to: the same `url`, `database`, `measurement`, `alertMeasurement`, `auth` and `tls` as theirs. Read with InfluxQL over the v1 `/query` API, so InfluxDB 1.x, 2.x (with a DBRP mapping) and 3 Core work.' }),
    lookback: positiveDuration('How far back the central view looks for machines and their alerts.').prefault('400d'),
  })
  .meta({ description: 'Only for `yieldwatch dashboard --config FILE`: the central dashboard over InfluxDB for a plant with many agents. It shows every machine any agent writes there, by site; `sites`, `materials`, `machineDefaults.targets`, `machines[].name` and `api` of this file apply to it, `sources` and `sinks` are not used.' });
export type CentralConfig = z.output<typeof centralSchema>;

/** "unknown product "x"; expected one of: a, b" — the message of a reference to a name that is not defined. */
function unknownName(what: string, name: string, defined: Record<string, unknown>, key: string): string {
  const names = Object.keys(defined);
  return names.length > 0
    ? `unknown ${what} "${name}"; expected one of: ${names.join(', ')}`
    : `unknown ${what} "${name}"; expected a name defined under \`${key}\` (none are defined)`;
}

/** The whole config file: the single source of parsing, defaults, cross-key checks and the generated docs. */
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
      .prefault({})
      .meta({ description: 'This agent: its name, where it keeps data and how much it logs.' }),
    kpi: kpiSchema,
    materialLibrary: z
      .string()
      .optional()
      .meta({
        description:
          'Material library file (YAML with `version` and `materials`, path relative to the config file), e.g. the shipped `materials.yaml`.',
      }),
    materials: z.record(z.string(), materialSchema).default({}).meta({
      description:
        'Materials by name. A name that is also in the material library is merged key by key: keys given here replace the library\'s (a whole `co2ePerKg` or `crm` at once), the others are kept.',
    }),
    products: z.record(z.string(), productSchema).default({}).meta({ description: 'Products by name: part mass and material.' }),
    sites: z
      .record(z.string().regex(/^[^/\s]+$/, { message: 'expected the first level of machine paths (no "/" or spaces)' }), siteSchema)
      .default({})
      .meta({ description: 'Sites by name (the first level of the machine paths): their time zone, shift calendar and scrap reason codes.' }),
    machineDefaults: z
      .strictObject({
        signals: signalsSchema
          .default({})
          .meta({ description: 'Signal kinds by canonical name; a PLC counter is usually `kind: counter` with its `rollover`. A machine measures an inherited signal only where a source maps it for that machine; elsewhere it is absent from the windows, never 0 (`check-config` warns).' }),
        targets: targetsSchema.optional().meta({ description: 'Targets every machine is shown against unless it has its own.' }),
      })
      .prefault({})
      .meta({ description: 'Signal kinds every machine inherits; a machine\'s own `signals` win per signal.' }),
    machines: z.array(machineSchema).default([]).meta({ description: 'The machines this agent watches.' }),
    // prefault, not default: z.toJSONSchema drops output-side defaults of schemas that transform (durations), and this default is the input.
    sources: z.array(sourceSchema).prefault([]).meta({ description: 'Where samples come from: one entry per broker or server.' }),
    alerts: alertsSchema,
    sinks: z
      .array(sinkSchema)
      .prefault([])
      .meta({ description: 'Where aggregates are forwarded, each through its own durable outbox: one entry per destination.' }),
    store: storeSchema,
    api: apiSchema,
    reports: reportsSchema,
    demo: simulatorSchema.optional().meta({ description: 'Only for `yieldwatch demo`: the embedded broker and simulated machines.' }),
    central: centralSchema.optional(),
  })
  .superRefine((cfg, ctx) => {
    // A late sample for a window already pruned would come back as a window holding only itself.
    const oldestCorrectable = cfg.kpi.correctionHorizon + cfg.kpi.windowSize + cfg.kpi.allowedLateness;
    if (cfg.store.retention <= oldestCorrectable) {
      ctx.addIssue({
        code: 'custom',
        path: ['store', 'retention'],
        message: `expected a retention longer than kpi.correctionHorizon + kpi.windowSize + kpi.allowedLateness (${Math.ceil(oldestCorrectable / 3_600_000)} h)`,
      });
    }
    const seen = new Map<string, number>();
    cfg.machines.forEach((m, i) => {
      const first = seen.get(m.path);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['machines', i, 'path'],
          message: `duplicate machine path "${m.path}" (also machines[${first}].path); expected each machine path once`,
        });
      } else {
        seen.set(m.path, i);
      }
      if (m.product !== undefined && !Object.hasOwn(cfg.products, m.product)) {
        ctx.addIssue({ code: 'custom', path: ['machines', i, 'product'], message: unknownName('product', m.product, cfg.products, 'products') });
      }
      if (m.material !== undefined && cfg.materialLibrary === undefined && !Object.hasOwn(cfg.materials, m.material)) {
        ctx.addIssue({ code: 'custom', path: ['machines', i, 'material'], message: unknownName('material', m.material, cfg.materials, 'materials') });
      }
    });
    // With `materialLibrary` still set the library was not merged (validateConfig without loadConfig), so names cannot be checked.
    for (const [name, p] of Object.entries(cfg.products)) {
      if (cfg.materialLibrary === undefined && !Object.hasOwn(cfg.materials, p.material)) {
        ctx.addIssue({ code: 'custom', path: ['products', name, 'material'], message: unknownName('material', p.material, cfg.materials, 'materials') });
      }
    }
    for (const issue of resolveRules(cfg.alerts, cfg.machines.map((m) => m.path)).issues) {
      ctx.addIssue({ code: 'custom', path: ['alerts', ...issue.path], message: issue.message });
    }
    const scheduleIds = new Set<string>();
    cfg.reports.schedules.forEach((sc, i) => {
      if (scheduleIds.has(sc.id)) ctx.addIssue({ code: 'custom', path: ['reports', 'schedules', i, 'id'], message: `duplicate schedule id "${sc.id}"; expected a unique \`id\` per schedule` });
      scheduleIds.add(sc.id);
    });
    // A schedule's deliveries are outbox channels beside the sinks': a sink must not have one's id.
    const channels = new Map<string, string>();
    for (const sc of cfg.reports.schedules) {
      if (sc.webhook !== undefined) channels.set(reportChannel(sc.id, 'webhook'), sc.id);
      if (sc.email !== undefined) channels.set(reportChannel(sc.id, 'email'), sc.id);
    }
    cfg.sinks.forEach((s, i) => {
      const schedule = channels.get(s.id);
      if (schedule !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['sinks', i, 'id'], message: `sink id "${s.id}" is the delivery channel of report schedule "${schedule}"; expected another id` });
      }
    });
    // A source that reads a machine not listed under `machines` would have every sample rejected at run time.
    const listed = cfg.machines.map((m) => m.path);
    const expected =
      listed.length === 0 ? 'expected a machine path listed under `machines` (none are listed)' : `expected a machine path listed under \`machines\`: ${listed.slice(0, 5).join(', ')}${listed.length > 5 ? ', …' : ''}`;
    for (const { key, machine } of unknownMachines(cfg.sources, cfg.machines)) {
      ctx.addIssue({ code: 'custom', path: key, message: `unknown machine "${machine}"; ${expected}` });
    }
    for (const kind of ['sources', 'sinks'] as const) {
      const ids = new Map<string, number>();
      cfg[kind].forEach((s, i) => {
        const first = ids.get(s.id);
        if (first !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [kind, i, 'id'],
            message: `duplicate ${kind.slice(0, -1)} id "${s.id}" (also ${kind}[${first}].id); expected a unique \`id\` per ${kind.slice(0, -1)}`,
          });
        } else {
          ids.set(s.id, i);
        }
      });
    }
  })
  // Each machine's alert rules with the line and machine overrides applied, resolved once here so
  // that the running agent needs no schema code (agent/src/config/load-isolated.ts).
  .transform((cfg) => ({ ...cfg, alertRules: Object.fromEntries(resolveRules(cfg.alerts, cfg.machines.map((m) => m.path)).rules) as Record<string, AlertRule[]> }))
  .meta({ description: 'Configuration of one yieldwatch agent.' });

/** The config as written in YAML, before defaults. */
export type ConfigInput = z.input<typeof configSchema>;
/** The validated config with every default filled in and durations in milliseconds. */
export type Config = z.output<typeof configSchema>;

/** Schema of a material library file (`materialLibrary`): a version and materials by name. */
export const materialLibrarySchema = z
  .strictObject({
    version: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Version of the library, e.g. `"2026-11"`; recorded with the loaded config so reports can name it.' }),
    materials: z.record(z.string(), materialSchema).default({}).meta({ description: 'Materials by name, same keys as `materials` in the config.' }),
  })
  .meta({ description: 'A material library file, named by `materialLibrary` in the config.' });
