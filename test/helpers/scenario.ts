import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ConfigInput } from '../../agent/src/config/schema.js';
import type { RecordedMessage } from '../../agent/src/replay.js';

/** Reference scenarios (copied from the project's shared reference data). */
export const SCENARIO_DIR = fileURLToPath(new URL('../fixtures/scenarios/', import.meta.url));

export interface Scenario {
  name: string;
  features: string[];
  config: {
    window_ms: number;
    lateness_ms: number;
    max_future_skew_ms: number;
    correction_horizon_ms: number;
    epoch_ms: number;
    machines: Record<string, { part_mass_kg: number; material: string; signals: Record<string, { kind: 'counter' | 'delta' | 'gauge'; rollover?: number; max_rate_per_s?: number }> }>;
    materials: Record<string, { price_per_kg: number; scrap_value_per_kg: number; co2e_per_kg: number; crm: Record<string, number> }>;
    mqtt_mapping: { topic: string; fields: Record<string, string>; ts_field: string; seq_field: string };
  };
  mqtt: { arrival_ms: number; topic: string; payload: Record<string, unknown> }[];
  events: { arrival_ms: number; machine: string; ts: number | null; values: Record<string, number>; seq?: number }[];
  expected: { aggregates: Record<string, number | string>[]; stats: Record<string, number> };
}

export function scenarioNames(): string[] {
  return readdirSync(SCENARIO_DIR)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.replace(/\.json$/, ''))
    .sort();
}

export function loadScenario(name: string): Scenario {
  return JSON.parse(readFileSync(`${SCENARIO_DIR}${name}.json`, 'utf8')) as Scenario;
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** The yieldwatch config (as written in YAML) that a scenario's config describes. */
export function scenarioConfig(s: Scenario, brokerUrl = 'mqtt://127.0.0.1:1883'): ConfigInput {
  const c = s.config;
  const mapping = c.mqtt_mapping;
  return {
    kpi: {
      windowSize: seconds(c.window_ms),
      allowedLateness: seconds(c.lateness_ms),
      maxFutureSkew: seconds(c.max_future_skew_ms),
      correctionHorizon: seconds(c.correction_horizon_ms),
    },
    materials: Object.fromEntries(
      Object.entries(c.materials).map(([name, m]) => [
        name,
        {
          pricePerKg: m.price_per_kg,
          scrapValuePerKg: m.scrap_value_per_kg,
          co2ePerKg: { value: m.co2e_per_kg, source: 'made up for testing', year: 2026 },
          crm: m.crm,
        },
      ]),
    ),
    machines: Object.entries(c.machines).map(([path, m]) => ({
      path,
      partMassKg: m.part_mass_kg,
      material: m.material,
      signals: Object.fromEntries(
        Object.entries(m.signals).map(([sig, k]) => [
          sig,
          k.kind === 'counter'
            ? { kind: 'counter', ...(k.rollover !== undefined ? { rollover: k.rollover } : {}), ...(k.max_rate_per_s !== undefined ? { maxRatePerSecond: k.max_rate_per_s } : {}) }
            : { kind: k.kind },
        ]),
      ),
    })),
    sources: [
      {
        type: 'mqtt',
        id: 'scenario',
        url: brokerUrl,
        topics: [
          {
            topic: mapping.topic.replace(/^[^/]+/, '{site}'),
            fields: mapping.fields,
            timestamp: { field: mapping.ts_field, format: 'epoch_ms' },
            seqField: mapping.seq_field,
          },
        ],
      },
    ],
  } as ConfigInput;
}

/** The scenario's MQTT messages with absolute times: arrival and payload `ts` moved by `epoch_ms`. */
export function scenarioMessages(s: Scenario, tsField = s.config.mqtt_mapping.ts_field): RecordedMessage[] {
  const epoch = s.config.epoch_ms;
  return s.mqtt.map((m) => {
    const payload: Record<string, unknown> = { ...m.payload };
    if (typeof payload[tsField] === 'number') payload[tsField] = (payload[tsField] as number) + epoch;
    return { arrival: m.arrival_ms + epoch, topic: m.topic, payload };
  });
}

/** Expected windows with absolute window times, keyed `machine@start`. */
export function expectedWindows(s: Scenario): Map<string, Record<string, number | string>> {
  const epoch = s.config.epoch_ms;
  return new Map(
    s.expected.aggregates.map((a) => {
      const w: Record<string, number | string> = { ...a, window_start: (a.window_start as number) + epoch, window_end: (a.window_end as number) + epoch };
      // The reference states the results of yieldwatch-kpi/1; what /2 adds is derived here from the reference's own values.
      if (typeof w.parts_rework === 'number' && typeof w.parts_good === 'number' && typeof w.parts_total === 'number' && w.parts_total > 0 && !('first_pass_yield' in w)) {
        w.first_pass_yield = w.parts_good / w.parts_total;
      }
      return [`${w.machine}@${w.window_start}`, w];
    }),
  );
}

/** Relative difference check used for every KPI comparison (1e-9). */
export function closeTo(a: number, b: number, rel = 1e-9): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b));
}

/** Equal values: numbers within `closeTo`, objects (scrap by reason, …) key by key, anything else strictly. */
function sameValue(a: unknown, e: unknown): boolean {
  if (typeof e === 'number') return typeof a === 'number' && closeTo(a, e);
  if (e !== null && typeof e === 'object') {
    if (a === null || typeof a !== 'object') return false;
    const ak = Object.keys(a).sort();
    const ek = Object.keys(e).sort();
    return ak.length === ek.length && ak.every((k, i) => k === ek[i] && sameValue((a as Record<string, unknown>)[k], (e as Record<string, unknown>)[k]));
  }
  return a === e;
}

/** Compares actual windows (flat JSON, absolute times) with the expected ones; returns the differences found. */
export function diffWindows(actual: Record<string, unknown>[], expected: Map<string, Record<string, number | string>>): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const a of actual) {
    const key = `${String(a.machine)}@${String(a.window_start)}`;
    seen.add(key);
    const e = expected.get(key);
    if (!e) {
      problems.push(`unexpected window ${key}`);
      continue;
    }
    for (const [k, ev] of Object.entries(e)) {
      const av = a[k];
      if (!sameValue(av, ev)) {
        problems.push(`${key} ${k}: expected ${JSON.stringify(ev)}, got ${JSON.stringify(av)}`);
      }
    }
    // KPI keys we emit but the method says are absent (e.g. a ratio with a zero denominator).
    for (const k of Object.keys(a)) {
      if (typeof a[k] === 'number' && !(k in e) && k !== 'revision') problems.push(`${key} ${k}: expected absent, got ${String(a[k])}`);
    }
  }
  for (const key of expected.keys()) if (!seen.has(key)) problems.push(`missing window ${key}`);
  return problems;
}
