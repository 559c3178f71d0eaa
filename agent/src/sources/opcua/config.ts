import { z } from 'zod';
import { SUMMED_SIGNALS, CONTEXT_SIGNALS } from '../../core/signals.js';
import { positiveDuration } from '../../core/schema/duration.js';
import { reasonCodeSchema } from '../../core/schema/reason-code.js';

/** A NodeId in the OPC UA string form: `ns=1;s=Line1/Press1/GoodCount`, `i=2258`, `nsu=urn:x;s=...` (g= GUID, b= opaque). */
const NODE_ID_RE = /^((ns=\d+|nsu=[^;]+);)?[isgb]=.+$/;
const MACHINE_PATH_RE = /^[^/\s]+(\/[^/\s]+){2,3}$/;

export const OPCUA_SIGNALS = [...SUMMED_SIGNALS, ...CONTEXT_SIGNALS] as const;

/**
 * A browse path in the OPC UA RelativePath text form (Part 4, Annex A), from the Root folder:
 * `/Objects/2:Machines/2:Press1.2:GoodCount`. Each element is `/` (hierarchical references),
 * `.` (components and properties) or `<[#][!]ReferenceType>`, then an optional `<ns>:` namespace
 * index and a browse name in which `&` escapes a reserved character.
 */
const BP_NAME = String.raw`(?:[^/.<>:#!&]|&.)+`;
const BP_ELEMENT = String.raw`(?:[/.]|<#?!?(?:\d+:)?${BP_NAME}>)(?:\d+:)?${BP_NAME}`;
const BROWSE_PATH_RE = new RegExp(`^(?:${BP_ELEMENT})+$`);

export const opcuaSignalSchema = z
  .strictObject({
    nodeId: z
      .string()
      .regex(NODE_ID_RE, { message: 'expected a NodeId such as "ns=1;s=plant1/line1/press1/GoodCount" or "ns=2;i=1001"' })
      .optional()
      .meta({ description: 'NodeId of the variable, in the OPC UA string form (`ns=<index>;s=<name>`, `ns=<index>;i=<number>`, `nsu=<uri>;s=<name>`). Give `nodeId` or `browsePath`.' }),
    browsePath: z
      .string()
      .regex(BROWSE_PATH_RE, { message: 'expected a browse path from the Root folder such as "/Objects/1:Machines/1:press1/1:GoodCount"' })
      .optional()
      .meta({ description: 'Browse path of the variable from the Root folder, in the OPC UA RelativePath text form (`/Objects/1:Machines/1:press1/1:GoodCount`; `<ns>:` is a namespace index). Resolved to a NodeId at connect and again after every reconnect. Give `nodeId` or `browsePath`.' }),
    samplingInterval: positiveDuration('Sampling interval of this item; default: the source\'s `samplingInterval`.').optional(),
    queueSize: z.number().int().positive().optional().meta({ description: 'Server-side queue size of this item; default: the source\'s `queueSize`.' }),
  })
  .refine((s) => (s.nodeId === undefined) !== (s.browsePath === undefined), { message: 'expected exactly one of nodeId or browsePath' });
export type OpcuaSignalConfig = z.output<typeof opcuaSignalSchema>;

export const opcuaMachineSchema = z.strictObject({
  machine: z
    .string()
    .regex(MACHINE_PATH_RE, { message: 'expected an ISA-95 path "site/line/machine" or "site/area/line/machine"' })
    .meta({ description: 'ISA-95 machine path (`site/line/machine` or `site/area/line/machine`); must be listed under `machines:` (a config error otherwise).' }),
  signals: z
    .partialRecord(z.enum(OPCUA_SIGNALS), opcuaSignalSchema)
    .default({})
    .meta({ description: 'Canonical signal → the OPC UA variable that holds it.' }),
  scrapByReason: z
    .record(reasonCodeSchema, opcuaSignalSchema)
    .optional()
    .meta({
      description:
        'Reason code → the OPC UA variable that counts the scrap of that reason (agent/src/kpi/README.md, "Scrap by reason and destination"). Each reason is its own counter of the kind of the machine\'s `parts_scrap`, and `parts_scrap` is their sum: map it here or under `signals`, not both.',
    }),
}).superRefine((m, ctx) => {
  if (Object.keys(m.signals).length === 0 && m.scrapByReason === undefined) {
    ctx.addIssue({ code: 'custom', path: ['signals'], message: 'expected at least one signal mapped to a NodeId' });
  }
  if (m.scrapByReason !== undefined && m.signals.parts_scrap !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['scrapByReason'], message: 'expected either `signals.parts_scrap` or `scrapByReason`, not both: the reason counters add up to the scrap count' });
  }
});
export type OpcuaMachineConfig = z.output<typeof opcuaMachineSchema>;

const userIdentitySchema = z
  .discriminatedUnion('type', [
    z.strictObject({ type: z.literal('anonymous').meta({ description: 'No user: anonymous session.' }) }),
    z.strictObject({
      type: z.literal('userName').meta({ description: 'User name and password.' }),
      userName: z.string().min(1).meta({ description: 'User name.' }),
      password: z.string().meta({ description: 'Password; prefer `${ENV}`. Never logged.' }),
    }),
    z.strictObject({
      type: z.literal('certificate').meta({ description: 'X.509 user certificate.' }),
      certificateFile: z.string().min(1).meta({ description: 'PEM or DER user certificate file, relative to the config file.' }),
      privateKeyFile: z.string().min(1).meta({ description: 'PEM private key of the user certificate, relative to the config file.' }),
    }),
  ])
  .meta({ description: 'Who the session logs in as; `type` selects the variant.' });
export type OpcuaUserIdentity = z.output<typeof userIdentitySchema>;

export const opcuaSourceSchema = z
  .strictObject({
    type: z.literal('opcua'),
    id: z.string().regex(/^[A-Za-z0-9._-]+$/).default('opcua').meta({ description: 'Name of this source in logs, metrics and samples.' }),
    endpointUrl: z
      .string()
      .regex(/^opc\.tcp:\/\/[^\s]+$/, { message: 'expected an endpoint URL such as "opc.tcp://plc1.plant1.example:4840"' })
      .meta({ description: 'OPC UA server endpoint: `opc.tcp://host:port/path`.' }),
    securityMode: z
      .enum(['SignAndEncrypt', 'Sign', 'None'])
      .default('SignAndEncrypt')
      .meta({ description: 'Message security mode; `None` requires `allowInsecure: true`.' }),
    securityPolicy: z
      .enum(['Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss', 'None'])
      .default('Basic256Sha256')
      .meta({ description: 'Security policy; `None` requires `allowInsecure: true`.' }),
    allowInsecure: z
      .boolean()
      .default(false)
      .meta({ description: 'Allow `securityMode: None` or `securityPolicy: None` (plain text, no server authentication). Only for tests and isolated networks.' }),
    userIdentity: userIdentitySchema.prefault({ type: 'anonymous' }),
    pkiDir: z
      .string()
      .min(1)
      .default('./pki')
      .meta({ description: 'PKI folder (relative to the config file): `own/` client certificate, `trusted/` and `rejected/` server certificates.' }),
    samplingInterval: positiveDuration('Default sampling interval of the monitored items; the subscription publishes at the shortest one.').prefault('1s'),
    queueSize: z.number().int().positive().default(10).meta({ description: 'Default server-side queue size of each monitored item.' }),
    reconnectMin: positiveDuration('First reconnect delay; grows up to `reconnectMax`.').prefault('1s'),
    reconnectMax: positiveDuration('Longest reconnect delay.').prefault('30s'),
    rejectLogInterval: positiveDuration('A rejection reason of a machine is logged at most once per this interval (every one is counted).').prefault('60s'),
    machines: z.array(opcuaMachineSchema).min(1).meta({ description: 'Machines read from this server and their signals.' }),
  })
  .superRefine((c, ctx) => {
    if (c.securityPolicy === 'None' && c.securityMode !== 'None') {
      ctx.addIssue({ code: 'custom', path: ['securityPolicy'], message: `securityPolicy "None" cannot sign or encrypt; use securityMode "None" (with allowInsecure: true) or a real policy with securityMode "${c.securityMode}"` });
    }
    if (c.allowInsecure) return;
    if (c.securityMode === 'None') {
      ctx.addIssue({ code: 'custom', path: ['securityMode'], message: 'securityMode "None" sends everything unsigned and unencrypted; set allowInsecure: true to allow it' });
    }
    if (c.securityPolicy === 'None') {
      ctx.addIssue({ code: 'custom', path: ['securityPolicy'], message: 'securityPolicy "None" sends everything unsigned and unencrypted; set allowInsecure: true to allow it' });
    }
  })
  .refine((c) => c.reconnectMax >= c.reconnectMin, { message: 'expected reconnectMax to be at least reconnectMin', path: ['reconnectMax'] });
export type OpcuaSourceConfig = z.output<typeof opcuaSourceSchema>;
