import { z } from 'zod';
import { duration } from '../core/schema/duration.js';
import { lineOf } from '../core/alert.js';

const ruleId = z
  .string()
  .regex(/^[A-Za-z0-9._-]+$/, { message: 'expected letters, digits, ".", "_" or "-"' })
  .meta({ description: 'Name of the rule. The rules that fire on one machine share its one open alert (an incident), each listed in it.' });
const rate = (description: string) => z.number().gt(0).lt(1).meta({ description });

/** Keys every rule has. */
const common = {
  id: ruleId,
  severity: z.enum(['info', 'warning', 'critical']).default('warning').meta({ description: 'Severity; channels filter on it.' }),
  enabled: z.boolean().default(true).meta({ description: 'Set `false` to switch the rule off (e.g. for one machine).' }),
  minDuration: duration('The condition must hold this long (event time) before the alert fires; 0 fires at the first breach.').prefault('0s'),
  cooldown: duration('After this rule cleared on a machine, it does not fire there again for this long (against flapping).').prefault('10m'),
  hysteresis: z
    .number()
    .min(0)
    .lt(1)
    .default(0.2)
    .meta({ description: 'An alert resolves only when the value is below `limit × (1 − hysteresis)`, so a value hovering at the limit does not flap.' }),
};

export const thresholdRuleSchema = z.strictObject({
  type: z.literal('threshold').meta({ description: 'Scrap rate of a window above `scrapRate`, counted only for windows with at least `minParts` parts.' }),
  ...common,
  scrapRate: rate('Limit on the window\'s scrap rate (parts_scrap / parts_total).'),
  minParts: z.number().int().positive().default(20).meta({ description: 'Windows with fewer parts are not judged.' }),
});

export const pChartRuleSchema = z.strictObject({
  type: z
    .literal('pChart')
    .meta({ description: 'Scrap proportion of a window above the p-chart upper control limit `p̄ + k·sqrt(p̄(1−p̄)/n)`.' }),
  ...common,
  k: z.number().positive().default(3).meta({ description: 'Width of the control limit in standard errors.' }),
  target: rate('Fixed p̄ (e.g. the quality plan\'s scrap target); without it p̄ is the machine\'s own trailing baseline.').optional(),
  baselineWindows: z.number().int().min(2).default(60).meta({ description: 'Trailing windows of the machine p̄ is computed from (windows that were alerting are left out).' }),
  minBaselineWindows: z
    .number()
    .int()
    .positive()
    .default(20)
    .meta({ description: 'Without `target`, the rule judges nothing until the baseline has this many windows.' }),
  minParts: z.number().int().positive().default(1).meta({ description: 'Windows with fewer parts are not judged.' }),
  minScrapParts: z
    .number()
    .int()
    .min(0)
    .default(2)
    .meta({ description: 'A window with fewer scrap parts never breaches: one scrap part on a machine that almost never scraps is significant, but not worth waking anyone.' }),
  minExpectedScrap: z
    .number()
    .min(0)
    .default(0.5)
    .meta({ description: 'A window is judged only when n·p̄ (the scrap parts expected in it) is at least this: below it the normal approximation behind the limit does not hold and false alarms multiply. The `threshold` and `fast` rules cover such windows.' }),
});

export const sustainedRuleSchema = z.strictObject({
  type: z.literal('sustained').meta({ description: '`m` of the last `n` judged windows have a scrap rate above `scrapRate`.' }),
  ...common,
  scrapRate: rate('Limit on each window\'s scrap rate.'),
  m: z.number().int().positive().default(3).meta({ description: 'How many of the last `n` windows must be above the limit.' }),
  n: z.number().int().positive().default(5).meta({ description: 'How many recent windows are looked at.' }),
  minParts: z.number().int().positive().default(1).meta({ description: 'Windows with fewer parts are not judged.' }),
});

export const fastRuleSchema = z.strictObject({
  type: z
    .literal('fast')
    .meta({ description: 'Scrap rate over the last `parts` parts, updated on every sample: a spike is caught before its window closes.' }),
  ...common,
  scrapRate: rate('Limit on the scrap rate of the last `parts` parts.'),
  parts: z.number().int().min(10).default(50).meta({ description: 'How many recent parts the rate is taken over.' }),
});

const RULE_SCHEMAS = { threshold: thresholdRuleSchema, pChart: pChartRuleSchema, sustained: sustainedRuleSchema, fast: fastRuleSchema } as const;

/** Checks between keys of one rule, for the rules as written and as merged with overrides. */
function crossChecks(r: AlertRule): RuleIssue[] {
  const out: RuleIssue[] = [];
  if (r.type === 'sustained' && r.m > r.n) out.push({ path: ['m'], message: `expected m (${r.m}) to be at most n (${r.n})` });
  if (r.type === 'pChart' && r.minBaselineWindows > r.baselineWindows) {
    out.push({ path: ['minBaselineWindows'], message: `expected at most baselineWindows (${r.baselineWindows})` });
  }
  return out;
}

export const alertRuleSchema = z
  .discriminatedUnion('type', [thresholdRuleSchema, pChartRuleSchema, sustainedRuleSchema, fastRuleSchema])
  .superRefine((r, ctx) => {
    for (const i of crossChecks(r)) ctx.addIssue({ code: 'custom', path: i.path, message: i.message });
  })
  .meta({ description: 'One alert rule; `type` selects the variant.' });
export type AlertRule = z.output<typeof alertRuleSchema>;

/** The keys an override sets, parsed with the rule's own schema (durations to ms, defaults not applied). */
function parseOverride(rule: AlertRule, ov: Record<string, unknown>): { data?: Partial<AlertRule>; issues: RuleIssue[] } {
  const schema = (RULE_SCHEMAS[rule.type] as z.ZodObject).omit({ id: true, type: true }).partial();
  const r = schema.safeParse(ov);
  if (r.success) {
    // Only the keys written: partial() still fills in defaults of keys that have one.
    const data = Object.fromEntries(Object.entries(r.data).filter(([k]) => k in ov)) as Partial<AlertRule>;
    return { data, issues: [] };
  }
  return { issues: r.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === 'symbol' ? String(p) : p)), message: i.message })) };
}

/** Changed keys of a rule for one line or machine (anything but `id` and `type`). */
const overrideSchema = z.record(z.string(), z.record(z.string(), z.unknown())).meta({
  description: 'Rule id → the keys that differ here, e.g. `{ scrap-threshold: { scrapRate: 0.2 } }` or `{ scrap-fast: { enabled: false } }`.',
});

export const alertsSchema = z
  .strictObject({
    rules: z.array(alertRuleSchema).default([]).meta({ description: 'Rules every machine gets, unless a line or machine override changes or disables them.' }),
    lines: z.record(z.string(), overrideSchema).default({}).meta({ description: 'Per line (`site/line` or `site/area/line`): rule id → changed keys.' }),
    machines: z.record(z.string(), overrideSchema).default({}).meta({ description: 'Per machine path: rule id → changed keys; wins over the line\'s.' }),
  })
  .prefault({})
  .meta({ description: 'Scrap-spike alert rules (agent/src/alerts/README.md).' });
export type AlertsConfig = z.output<typeof alertsSchema>;


export interface RuleIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Each machine's rules with the line's and then the machine's overrides applied; every problem
 * (unknown line, machine or rule, a changed key that does not fit the rule) names its key.
 */
export function resolveRules(cfg: AlertsConfig, machinePaths: readonly string[]): { rules: Map<string, AlertRule[]>; issues: RuleIssue[] } {
  const issues: RuleIssue[] = [];
  const ids = new Set<string>();
  cfg.rules.forEach((r, i) => {
    if (ids.has(r.id)) issues.push({ path: ['rules', i, 'id'], message: `duplicate rule id "${r.id}"; expected a unique id per rule` });
    ids.add(r.id);
  });
  const lines = new Set(machinePaths.map(lineOf));
  const machines = new Set(machinePaths);
  const checkKeys = (scope: 'lines' | 'machines', known: Set<string>, what: string) => {
    for (const [key, byRule] of Object.entries(cfg[scope])) {
      if (!known.has(key)) issues.push({ path: [scope, key], message: `unknown ${what} "${key}"; expected one of: ${[...known].join(', ') || '(none configured)'}` });
      for (const ruleIdKey of Object.keys(byRule)) {
        if (!ids.has(ruleIdKey)) issues.push({ path: [scope, key, ruleIdKey], message: `unknown rule "${ruleIdKey}"; expected one of: ${[...ids].join(', ') || '(no rules under alerts.rules)'}` });
        for (const k of ['id', 'type']) {
          if (k in byRule[ruleIdKey]!) issues.push({ path: [scope, key, ruleIdKey, k], message: `"${k}" cannot be overridden; define another rule instead` });
        }
      }
    }
  };
  checkKeys('lines', lines, 'line');
  checkKeys('machines', machines, 'machine');

  const out = new Map<string, AlertRule[]>();
  for (const m of machinePaths) {
    const line = lineOf(m);
    const list: AlertRule[] = [];
    for (const rule of cfg.rules) {
      const lineOv = cfg.lines[line]?.[rule.id];
      const machineOv = cfg.machines[m]?.[rule.id];
      if (lineOv === undefined && machineOv === undefined) {
        if (rule.enabled) list.push(rule);
        continue;
      }
      const line1 = lineOv === undefined ? { data: {}, issues: [] } : parseOverride(rule, lineOv);
      const machine1 = machineOv === undefined ? { data: {}, issues: [] } : parseOverride(rule, machineOv);
      for (const i of line1.issues) issues.push({ path: ['lines', line, rule.id, ...i.path], message: i.message });
      for (const i of machine1.issues) issues.push({ path: ['machines', m, rule.id, ...i.path], message: i.message });
      if (line1.issues.length > 0 || machine1.issues.length > 0) continue;
      const merged = { ...rule, ...line1.data, ...machine1.data } as AlertRule;
      const cross = crossChecks(merged);
      for (const i of cross) issues.push({ path: [...(machineOv !== undefined ? ['machines', m] : ['lines', line]), rule.id, ...i.path], message: `${i.message} (after the overrides)` });
      if (cross.length > 0) continue;
      if (merged.enabled) list.push(merged);
    }
    out.set(m, list);
  }
  return { rules: out, issues };
}
