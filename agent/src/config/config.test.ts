import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { YieldwatchError, type ErrorCode } from '../core/errors.js';
import { renderJsonSchema, renderReference } from './generate-docs.js';
import { loadConfig, loadDemoSection, validateConfig, type LoadedConfig } from './load.js';
import { siteCalendars } from './site-calendars.js';
import { configWarnings } from './warnings.js';
import { machineSignals } from './machine-signals.js';
import type { MqttSourceConfig } from '../sources/mqtt/config.js';

const CONFIG_DIR = fileURLToPath(new URL('../../../config/', import.meta.url));
const REFERENCE_DIR = join(CONFIG_DIR, 'reference');
const tmp = mkdtempSync(join(tmpdir(), 'yieldwatch-config-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let fileNo = 0;
/** Writes `text` as a config file in a fresh folder (with `extra` files beside it) and loads it. */
function load(text: string, env: NodeJS.ProcessEnv = {}, extra: Record<string, string> = {}): LoadedConfig {
  const dir = join(tmp, `case-${++fileNo}`);
  mkdirSync(dir);
  for (const [name, content] of Object.entries(extra)) writeFileSync(join(dir, name), content);
  const file = join(dir, 'config.yaml');
  writeFileSync(file, text);
  return loadConfig(file, env);
}

/** A small valid config, as plain data a test can break before it is written as YAML. */
function baseConfig(): Record<string, unknown> {
  return {
    materials: { steel: {} },
    products: { bracket: { partMassKg: 0.4, material: 'steel' } },
    machineDefaults: { signals: { parts_good: { kind: 'counter', rollover: 65536 }, parts_scrap: { kind: 'counter' } } },
    machines: [
      { path: 'plant1/line1/press-01', product: 'bracket' },
      { path: 'plant1/line1/press-02', product: 'bracket' },
    ],
    sources: [
      {
        type: 'mqtt',
        url: 'mqtt://127.0.0.1:1883',
        topics: [{ topic: 'plant1/{line}/{machine}/counters', site: 'plant1', fields: { parts_good: 'good', parts_scrap: 'scrap' } }],
      },
    ],
  };
}

/** One change to the base config: a dotted key path (`sources.0.url`) and its new value; undefined deletes the key. */
type Edit = [path: string, value: unknown];

/** The base config with `edits` applied, as YAML text. */
function yamlOf(...edits: Edit[]): string {
  const doc = baseConfig();
  for (const [path, value] of edits) {
    const keys = path.split('.');
    let node = doc as Record<string, unknown>;
    for (const k of keys.slice(0, -1)) node = (node[k] ??= {}) as Record<string, unknown>;
    const last = keys[keys.length - 1]!;
    if (value === undefined) delete node[last];
    else node[last] = value;
  }
  return stringify(doc);
}

function thrown(fn: () => unknown): YieldwatchError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(YieldwatchError);
    return err as YieldwatchError;
  }
  throw new Error('expected the config to be rejected, but it loaded');
}

describe('generated config docs', () => {
  it('config/schema.json equals what the schema renders now', () => {
    const committed = readFileSync(join(CONFIG_DIR, 'schema.json'), 'utf8');
    expect(committed, 'config/schema.json is stale: run `npm run gen:config-docs`').toBe(renderJsonSchema());
  });

  it('config/REFERENCE.md equals what the schema renders now', () => {
    const committed = readFileSync(join(CONFIG_DIR, 'REFERENCE.md'), 'utf8');
    expect(committed, 'config/REFERENCE.md is stale: run `npm run gen:config-docs`').toBe(renderReference());
  });

  it('renders deterministically and documents nested key paths and plugin variants', () => {
    expect(renderReference()).toBe(renderReference());
    const ref = renderReference();
    for (const key of ['kpi.windowSize', 'sources[].topics[].timestamp.format', 'machineDefaults.signals.<signal>.rollover', 'materials.<material>.co2ePerKg.source']) {
      expect(ref).toContain(`| \`${key}\` |`);
    }
    expect(ref).toContain('### `sources[]` with `type: mqtt`');
    const schema = JSON.parse(renderJsonSchema()) as { $id: string; title: string; properties: Record<string, unknown> };
    expect(schema.$id).toBe('urn:yieldwatch:config');
    expect(schema.title).toBe('yieldwatch configuration');
    expect(Object.keys(schema.properties)).toContain('materialLibrary');
  });
});

interface BrokenCase {
  name: string;
  text: string;
  env?: NodeJS.ProcessEnv;
  code: ErrorCode;
  /** Every string must appear in the message: the key path and the offending value or variable. */
  names: string[];
  /** What the message must say was expected. */
  expected: RegExp;
}

const BROKEN: BrokenCase[] = [
  {
    name: 'a zero window size',
    text: yamlOf(['kpi', { windowSize: '0s' }]),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['kpi.windowSize'],
    expected: /expected a duration above 0/,
  },
  {
    name: 'a reconnect ceiling below the first delay',
    text: yamlOf(['sources.0.reconnectMin', '30s'], ['sources.0.reconnectMax', '5s']),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['sources[0].reconnectMax'],
    expected: /expected reconnectMax to be at least reconnectMin/,
  },
  {
    name: 'a retention shorter than the correction horizon',
    text: yamlOf(['store', { retention: '12h' }]),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['store.retention'],
    expected: /expected a retention longer than kpi\.correctionHorizon \+ kpi\.windowSize \+ kpi\.allowedLateness \(25 h\)/,
  },
  {
    name: 'a critical raw material that is not on the EU list',
    text: yamlOf(['materials.CuSn8', { crm: { Cu: 0.92, Sn: 0.08 } }]),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['materials.CuSn8.crm.Sn'],
    expected: /expected the symbol of an element on the EU critical raw materials list: Al, As/,
  },
  {
    name: 'a duration written in words',
    text: yamlOf(['kpi', { windowSize: '60 seconds' }]),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['kpi.windowSize', 'got "60 seconds"'],
    expected: /expected a duration such as "500ms", "30s"/,
  },
  {
    name: 'a duration as a bare number',
    text: yamlOf(['kpi', { windowSize: 60 }]),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['kpi.windowSize', 'got 60'],
    expected: /expected a duration such as/,
  },
  {
    name: 'a misspelt key',
    text: yamlOf(['kpi', { windowsize: '60s' }]),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['kpi.windowsize'],
    expected: /unknown key \(did you mean "windowSize"\?\); expected one of: windowSize, allowedLateness/,
  },
  {
    name: 'a machine path that is not ISA-95',
    text: yamlOf(['machines.1.path', 'press-02']),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['machines[1].path', 'got "press-02"'],
    expected: /expected an ISA-95 path "site\/line\/machine" or "site\/area\/line\/machine"/,
  },
  {
    name: 'a duplicate machine path',
    text: yamlOf(['machines.1.path', 'plant1/line1/press-01']),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['machines[1].path', '"plant1/line1/press-01"', 'machines[0].path'],
    expected: /expected each machine path once/,
  },
  {
    name: 'a broker URL with the wrong scheme',
    text: yamlOf(['sources.0.url', 'tcp://broker:1883']),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['sources[0].url', 'got "tcp://broker:1883"'],
    expected: /expected a broker URL such as "mqtt:\/\/127\.0\.0\.1:1883"/,
  },
  {
    name: 'a topic with MQTT wildcards',
    text: yamlOf(['sources.0.topics.0.topic', 'plant1/+/{machine}/#']),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['sources[0].topics[0].topic', 'got "plant1/+/{machine}/#"'],
    expected: /expected a topic template with \{site\}, \{area\}, \{line\} or \{machine\} placeholders, not MQTT wildcards/,
  },
  {
    name: 'an unknown product',
    text: yamlOf(['machines.0.product', 'brakcet']),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['machines[0].product', '"brakcet"'],
    expected: /unknown product "brakcet"; expected one of: bracket/,
  },
  {
    name: 'an unknown material',
    text: yamlOf(['products.bracket.material', 'stainless']),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['products.bracket.material', '"stainless"'],
    expected: /expected one of: steel/,
  },
  {
    name: 'a negative part mass',
    text: yamlOf(['products.bracket.partMassKg', -0.4]),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['products.bracket.partMassKg', 'got -0.4'],
    expected: /expected a number > 0/,
  },
  {
    name: 'a counter rollover of 0',
    text: yamlOf(['machineDefaults.signals.parts_good.rollover', 0]),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['machineDefaults.signals.parts_good.rollover', 'got 0'],
    expected: /expected a number > 0/,
  },
  {
    name: 'an OPC UA source that reads a machine not listed under machines',
    text: yamlOf([
      'sources.1',
      {
        type: 'opcua',
        endpointUrl: 'opc.tcp://127.0.0.1:4840',
        machines: [
          { machine: 'plant1/line1/press-01', signals: { parts_good: { nodeId: 'ns=1;s=press-01/Good' } } },
          { machine: 'plant1/line9/press-09', signals: { parts_good: { nodeId: 'ns=1;s=press-09/Good' } } },
        ],
      },
    ]),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['sources[1].machines[1].machine', '"plant1/line9/press-09"'],
    expected: /unknown machine "plant1\/line9\/press-09"; expected a machine path listed under `machines`: plant1\/line1\/press-01, plant1\/line1\/press-02/,
  },
  {
    name: 'QoS 2',
    text: yamlOf(['sources.0.qos', 2]),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['sources[0].qos', 'got 2'],
    expected: /expected one of 0, 1/,
  },
  {
    name: 'a signal name that is not canonical',
    text: yamlOf(['machines.0.signals', { good_parts: { kind: 'counter' } }]),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['machines[0].signals.good_parts'],
    expected: /unknown key \(did you mean "parts_good"\?\); expected one of "parts_total", "parts_good", "parts_scrap"/,
  },
  {
    name: 'a signal kind that does not exist',
    text: yamlOf(['machineDefaults.signals.parts_scrap.kind', 'total']),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['machineDefaults.signals.parts_scrap.kind', 'got "total"'],
    expected: /expected one of "counter", "delta", "gauge"/,
  },
  {
    name: 'a timestamp format that does not exist',
    text: yamlOf(['sources.0.topics.0.timestamp', { field: 'ts', format: 'unix' }]),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['sources[0].topics[0].timestamp.format', 'got "unix"'],
    expected: /expected one of "epoch_ms", "epoch_s", "iso8601"/,
  },
  {
    name: 'a source type that does not exist',
    text: yamlOf(['sources.0.type', 'modbus']),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['sources[0].type', 'got "modbus"'],
    expected: /expected one of "mqtt", "opcua"/,
  },
  {
    name: 'a required key left out',
    text: yamlOf(['sources.0.url', undefined]),
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['sources[0].url'],
    expected: /required key is missing; expected a broker URL/,
  },
  {
    name: 'a YAML syntax error',
    text: 'kpi:\n  windowSize: 60s\n  allowedLateness: [10s\nmachines: []\n',
    code: 'YW_ERR_CONFIG_READ',
    names: ['config.yaml', 'line 4'],
    expected: /is not valid YAML at line 4, column \d+: .*end with a \]/,
  },
  {
    name: 'a ${VAR} whose variable is not set',
    text: yamlOf(['sources.0.password', '${MQTT_PASSWORD}']),
    code: 'YW_ERR_CONFIG_ENV',
    names: ['sources[0].password', '${MQTT_PASSWORD}', 'MQTT_PASSWORD is not set', 'line '],
    expected: /expected MQTT_PASSWORD to be set, or a default written as \$\{MQTT_PASSWORD:-default\}/,
  },
  {
    name: 'a YIELDWATCH_* override of the wrong type',
    text: yamlOf(),
    env: { YIELDWATCH_API__PORT: 'eighty' },
    code: 'YW_ERR_CONFIG_INVALID',
    names: ['api.port', 'set by YIELDWATCH_API__PORT', 'got "eighty"'],
    expected: /expected a number/,
  },
];

describe('a broken config is refused with the key path and what was expected', () => {
  it.each(BROKEN)('$name', ({ text, env, code, names, expected }) => {
    const err = thrown(() => load(text, env));
    expect(err.code).toBe(code);
    for (const n of names) expect(err.message).toContain(n);
    expect(err.message).toMatch(expected);
  });

  it('scrap reasons: per site, labelled, with an optional destination; "unassigned" and malformed codes are refused naming the key', () => {
    const base = { machines: [{ path: 'p1/l1/m1', partMassKg: 1, scrapDestination: 'internal_reuse' }] };
    const ok = validateConfig({ ...base, sites: { p1: { scrapReasons: { burr: { label: { en: 'Burr', nl: 'Braam' }, group: 'mechanical' }, '17': { label: { en: 'Contaminated' }, destination: 'incineration' } } } } });
    expect(Object.keys(ok.sites.p1!.scrapReasons)).toEqual(['17', 'burr']);
    expect(ok.machines[0]!.scrapDestination).toBe('internal_reuse');
    for (const [sites, key] of [
      [{ p1: { scrapReasons: { unassigned: { label: { en: 'x' } } } } }, 'sites.p1.scrapReasons.unassigned'],
      [{ p1: { scrapReasons: { 'a b': { label: { en: 'x' } } } } }, 'sites.p1.scrapReasons'],
      [{ p1: { scrapReasons: { burr: { label: {} } } } }, 'sites.p1.scrapReasons.burr.label.en'],
      [{ p1: { scrapReasons: { burr: { label: { en: 'x' }, destination: 'sea' } } } }, 'sites.p1.scrapReasons.burr.destination'],
    ] as const) {
      let message = '';
      try {
        validateConfig({ ...base, sites });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, key).toContain(key);
    }
  });

  it('report schedules: a cron expression, unique ids, and no sink with the id of a schedule\'s delivery channel', () => {
    const base = { machines: [{ path: 'p1/l1/m1', partMassKg: 1 }] };
    const hook = { url: 'https://hooks.example/r' };
    const ok = validateConfig({ ...base, sinks: [{ type: 'webhook', id: 'report.daily.email', url: 'https://hooks.example/a' }], reports: { schedules: [{ id: 'daily', cron: '0 6 * * *', webhook: hook }] } });
    expect(ok.reports.schedules[0]).toMatchObject({ id: 'daily', period: 'yesterday', scope: 'all', formats: ['pdf'], language: 'en', webhook: { headers: {}, timeout: 30_000 } });
    for (const [reports, sinks, key, text] of [
      [{ schedules: [{ id: 'daily', cron: '0 6 * *', webhook: hook }] }, [], 'reports.schedules[0].cron', 'cron expression'],
      [{ schedules: [{ id: 'd', cron: '0 6 * * *' }, { id: 'd', cron: '0 7 * * *' }] }, [], 'reports.schedules[1].id', 'duplicate schedule id'],
      [{ schedules: [{ id: 'daily', cron: '0 6 * * *', webhook: hook }] }, [{ type: 'webhook', id: 'report.daily.webhook', url: 'https://hooks.example/a' }], 'sinks[0].id', 'delivery channel of report schedule "daily"'],
    ] as const) {
      let message = '';
      try {
        validateConfig({ ...base, reports, sinks });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, key).toContain(key);
      expect(message, key).toContain(text);
    }
  });

  it('an MQTT topic maps scrap either as one counter or per reason, never both', () => {
    const source = (t: Record<string, unknown>) => ({ machines: [{ path: 'p1/l1/m1', partMassKg: 1 }], sources: [{ type: 'mqtt', url: 'mqtt://127.0.0.1:1883', topics: [{ topic: '{site}/{line}/{machine}', ...t }] }] });
    expect(validateConfig(source({ scrapByReason: { object: 'scrap' } })).sources[0]).toBeDefined();
    for (const [t, key] of [
      [{ fields: { parts_scrap: 's' }, scrapByReason: { object: 'scrap' } }, 'sources[0].topics[0].scrapByReason'],
      [{ scrapByReason: { object: 'scrap', fields: { burr: 'b' } } }, 'sources[0].topics[0].scrapByReason'],
      [{ scrapByReason: { fields: { unassigned: 'b' } } }, 'sources[0].topics[0].scrapByReason.fields.unassigned'],
      [{}, 'sources[0].topics[0].fields'],
    ] as const) {
      let message = '';
      try {
        validateConfig(source(t));
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, JSON.stringify(t)).toContain(key);
    }
  });

  it('a site\'s time zone and shift calendar: versions by date, shifts across midnight, exceptions; mistakes are refused naming the key', () => {
    const version = {
      validFrom: '2026-01-01',
      shifts: { early: { start: '06:00', end: '14:00' }, late: { start: '14:00', end: '22:00' }, night: { start: '22:00', end: '06:00' } },
      week: { mon: ['early', 'late', 'night'], sat: ['early'] },
      exceptions: [{ from: '2026-12-25', to: '2026-12-26', note: 'Christmas' }, { from: '2026-12-19', shifts: ['early', 'late'] }],
    };
    const base = { machines: [{ path: 'p1/l1/m1', partMassKg: 1 }] };
    const ok = validateConfig({ ...base, sites: { p1: { timeZone: 'Europe/Amsterdam', shiftCalendar: [version, { ...version, validFrom: '2026-06-01' }] } } });
    const cal = siteCalendars(ok).get('p1')!;
    expect(cal.timeZone).toBe('Europe/Amsterdam');
    expect(cal.versions[0]!.shifts.night).toEqual({ start: 1320, end: 360 });
    expect(cal.versions[0]!.week.sun).toEqual([]);
    expect(cal.versions[0]!.exceptions[1]).toEqual({ from: '2026-12-19', to: '2026-12-19', shifts: ['early', 'late'] });
    expect(validateConfig(base).sites).toEqual({});
    for (const [site, key] of [
      [{ timeZone: 'Europe/Atlantis' }, 'sites.p1.timeZone'],
      [{ shiftCalendar: [{ ...version, week: { mon: ['evening'] } }] }, 'sites.p1.shiftCalendar[0].week.mon[0]'],
      [{ shiftCalendar: [{ ...version, shifts: { ...version.shifts, late: { start: '13:00', end: '22:00' } } }] }, 'sites.p1.shiftCalendar[0].shifts.late'],
      [{ shiftCalendar: [{ ...version, shifts: { ...version.shifts, night: { start: '21:30', end: '06:00' } } }] }, 'sites.p1.shiftCalendar[0].shifts'],
      [{ shiftCalendar: [{ ...version, shifts: { early: { start: '06:00', end: '25:00' } }, week: {} }] }, 'sites.p1.shiftCalendar[0].shifts.early.end'],
      [{ shiftCalendar: [{ ...version, validFrom: '2026-02-30' }] }, 'sites.p1.shiftCalendar[0].validFrom'],
      [{ shiftCalendar: [version, version] }, 'sites.p1.shiftCalendar'],
      [{ shiftCalendar: [{ ...version, exceptions: [{ from: '2026-12-26', to: '2026-12-25' }] }] }, 'sites.p1.shiftCalendar[0].exceptions[0].to'],
    ] as const) {
      let message = '';
      try {
        validateConfig({ ...base, sites: { p1: site } });
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message, key).toContain(key);
    }
  });

  it('points at the line of the offending key', () => {
    const err = thrown(() => load('agent:\n  id: edge-01\nkpi:\n  windowSize: 1 minute\n'));
    expect(err.message).toContain('  - kpi.windowSize (line 4): expected a duration');
  });

  it('lists every problem, one per line, under one heading', () => {
    const err = thrown(() => load(yamlOf(['kpi', { windowsize: '1m' }], ['sources.0.qos', 2])));
    const lines = err.message.split('\n');
    expect(lines[0]).toMatch(/^Invalid configuration in .*config\.yaml \(2 problems; every key is described in config\/REFERENCE\.md\):$/);
    expect(lines.slice(1).every((l) => l.startsWith('  - '))).toBe(true);
    expect(lines).toHaveLength(3);
  });

  it('never shows the value of a secret: passwords, tokens, webhook secrets and headers by their kind only, URLs by scheme and host', () => {
    const secrets = ['short-tok', 'hunter2-pass', 'tiny-secret', 'XYZSECRETPATH', 'header-secret-1', 'plain-string-token-0123', 'influx-secret-pw', 'env-tok'];
    const cases: [string, NodeJS.ProcessEnv, string][] = [
      [yamlOf(['api.tokens', [{ name: 'scada', token: 'short-tok', role: 'viewer' }]]), {}, 'api.tokens[0].token'],
      [yamlOf(['api.tokens', ['plain-string-token-0123']]), {}, 'api.tokens[0]'],
      [yamlOf(), { YIELDWATCH_API__TOKENS__0__NAME: 'scada', YIELDWATCH_API__TOKENS__0__ROLE: 'viewer', YIELDWATCH_API__TOKENS__0__TOKEN: 'env-tok' }, 'api.tokens[0].token (set by YIELDWATCH_API__TOKENS__0__TOKEN)'],
      [yamlOf(['sources.0.password', ['hunter2-pass']]), {}, 'sources[0].password'],
      [yamlOf(['sinks', [{ type: 'webhook', url: 'https://hooks.example/a', secret: 'tiny-secret' }]]), {}, 'sinks[0].secret'],
      [yamlOf(['sinks', [{ type: 'webhook', url: 'hooks.slack.com/services/T0/B0/XYZSECRETPATH' }]]), {}, 'sinks[0].url'],
      [yamlOf(['sinks', [{ type: 'webhook', url: 'https://hooks.example/a', headers: { Authorization: ['header-secret-1'] } }]]), {}, 'sinks[0].headers.Authorization'],
      [yamlOf(['sinks', [{ type: 'influxdb', url: 'http://127.0.0.1:8086', database: 'db', auth: { type: 'password', userName: 'u', password: 12345678 } }]]), {}, 'sinks[0].auth.password'],
      // A sink without its type: the whole entry is the value found, and its password must not ride along.
      [yamlOf(['sinks', [{ url: 'http://127.0.0.1:8086', database: 'db', auth: { type: 'password', userName: 'u', password: 'influx-secret-pw' } }]]), {}, 'sinks[0].type'],
    ];
    for (const [text, env, key] of cases) {
      const err = thrown(() => load(text, env));
      expect(err.message, key).toContain(key);
      for (const secret of secrets) expect(err.message, key).not.toContain(secret);
    }
    const short = thrown(() => load(cases[0]![0]));
    expect(short.message).toContain('api.tokens[0].token (line');
    expect(short.message).toContain('expected at least 16 characters, got a string (not shown: a secret)');
    expect(thrown(() => load(cases[5]![0])).message).toContain('got "hooks.slack.com/…"');
  });

  it('refuses a file that is not a mapping', () => {
    const err = thrown(() => load('- just\n- a list\n'));
    expect(err.code).toBe('YW_ERR_CONFIG_INVALID');
    expect(err.message).toContain('(root): expected a mapping of keys');
  });
});

describe('environment', () => {
  it('substitutes ${VAR} and falls back to ${VAR:-default}', () => {
    const text = yamlOf(
      ['sources.0.url', '${MQTT_URL:-mqtt://127.0.0.1:1883}'],
      ['sources.0.username', '${MQTT_USER:-yieldwatch}'],
      ['sources.0.password', 'pw-${MQTT_PASSWORD}'],
    );
    const defaults = load(text, { MQTT_PASSWORD: 'x' }).config.sources[0] as MqttSourceConfig;
    expect(defaults.url).toBe('mqtt://127.0.0.1:1883');
    expect(defaults.username).toBe('yieldwatch');
    expect(defaults.password).toBe('pw-x');
    const set = load(text, { MQTT_URL: 'mqtts://broker:8883', MQTT_USER: 'edge', MQTT_PASSWORD: 'y' }).config.sources[0] as MqttSourceConfig;
    expect(set.url).toBe('mqtts://broker:8883');
    expect(set.username).toBe('edge');
    expect(set.password).toBe('pw-y');
  });

  it('overrides sources[0].password with YIELDWATCH_SOURCES__0__PASSWORD, even where the file names an unset ${VAR}', () => {
    const text = yamlOf(['sources.0.password', '${MQTT_PASSWORD}']);
    expect((load(text, { YIELDWATCH_SOURCES__0__PASSWORD: 's3cret' }).config.sources[0] as MqttSourceConfig).password).toBe('s3cret');
    expect((load(text, { MQTT_PASSWORD: 'file', YIELDWATCH_SOURCES__0__PASSWORD: 'env' }).config.sources[0] as MqttSourceConfig).password).toBe('env');
  });

  it('fills ${VAR} from the file VAR_FILE names (a container secret), without its trailing newline', () => {
    const text = yamlOf(['sources.0.password', '${MQTT_PASSWORD}']);
    const secret = join(tmp, 'mqtt_password');
    writeFileSync(secret, 'from a file\n');
    expect((load(text, { MQTT_PASSWORD_FILE: secret }).config.sources[0] as MqttSourceConfig).password).toBe('from a file');
  });

  it('refuses VAR_FILE naming a missing file, and VAR and VAR_FILE set together, naming the key', () => {
    const text = yamlOf(['sources.0.password', '${MQTT_PASSWORD}']);
    const missing = thrown(() => load(text, { MQTT_PASSWORD_FILE: join(tmp, 'no-such-secret') }));
    expect(missing.code).toBe('YW_ERR_CONFIG_ENV');
    expect(missing.message).toContain('sources[0].password');
    expect(missing.message).toContain('MQTT_PASSWORD_FILE');
    const secret = join(tmp, 'mqtt_password_both');
    writeFileSync(secret, 'in the file');
    const both = thrown(() => load(text, { MQTT_PASSWORD: 'in the env', MQTT_PASSWORD_FILE: secret }));
    expect(both.code).toBe('YW_ERR_CONFIG_ENV');
    expect(both.message).toContain('both MQTT_PASSWORD and MQTT_PASSWORD_FILE');
    expect(both.message).not.toContain('in the file');
  });

  it('reads YIELDWATCH_API__PORT=9090 as a number and creates keys the file does not have', () => {
    const { config } = load(yamlOf(), { YIELDWATCH_API__PORT: '9090', YIELDWATCH_AGENT__LOG_LEVEL: 'debug' });
    expect(config.api.port).toBe(9090);
    expect(typeof config.api.port).toBe('number');
    expect(config.agent.logLevel).toBe('debug');
  });

  it('names the variable when a YIELDWATCH_* variable matches no key', () => {
    const err = thrown(() => load(yamlOf(), { YIELDWATCH_KPI__WINDOW: '1m' }));
    expect(err.message).toContain('kpi.window (set by YIELDWATCH_KPI__WINDOW): unknown key');
  });
});

describe('the demo: section alone (yieldwatch simulate)', () => {
  const write = (text: string): string => {
    const file = join(tmp, `demo-${++fileNo}.yaml`);
    writeFileSync(file, text);
    return file;
  };

  it('reads the simulated machines without the agent\'s secrets: an unset ${VAR} outside demo: does not stop it', () => {
    const file = write(`${yamlOf(['sources.0.password', '${MQTT_PASSWORD}'])}\ndemo:\n  machines:\n    - path: demo/line1/press1\n`);
    expect(() => loadConfig(file, {})).toThrow(/MQTT_PASSWORD/);
    const demo = loadDemoSection(file, {});
    expect(demo.machines.map((m) => m.path)).toEqual(['demo/line1/press1']);
    expect(demo.publishInterval).toBe(1000);
  });

  it('names a misspelt key of the section by its full path and line', () => {
    const file = write('demo:\n  machines:\n    - path: demo/line1/press1\n      partsPerMinut: 30\n');
    const err = thrown(() => loadDemoSection(file, {}));
    expect(err.code).toBe('YW_ERR_CONFIG_INVALID');
    expect(err.message).toContain('demo.machines[0].partsPerMinut (line 4): unknown key (did you mean "partsPerMinute"?)');
  });
});

describe('shipped configs', () => {
  it('config/example.yaml loads when MQTT_PASSWORD is set', () => {
    const loaded = loadConfig(join(CONFIG_DIR, 'example.yaml'), { MQTT_PASSWORD: 'from-env' });
    const { config } = loaded;
    expect(loaded.materialLibraryVersion).toBe('2026-11');
    expect((config.sources[0] as MqttSourceConfig).password).toBe('from-env');
    expect(config.machines.length).toBeGreaterThanOrEqual(4);
    expect(new Set(config.machines.map((m) => m.path.split('/')[2])).size).toBe(2);
    expect(config.machineDefaults.signals.parts_good).toEqual({ kind: 'counter', rollover: 65536, maxRatePerSecond: 20 });
    // Inline `pp` changes only the scrap destination; the library's factor stays.
    expect(config.materials.pp!.scrapDestination).toBe('internal_reuse');
    expect(config.materials.pp!.co2ePerKg?.value).toBe(2.0);
  });

  it('config/example.yaml refuses to load without MQTT_PASSWORD', () => {
    const err = thrown(() => loadConfig(join(CONFIG_DIR, 'example.yaml'), {}));
    expect(err.code).toBe('YW_ERR_CONFIG_ENV');
    expect(err.message).toContain('sources[0].password');
  });

  it('config/demo.yaml loads', () => {
    const { config } = loadConfig(join(CONFIG_DIR, 'demo.yaml'), {});
    expect(config.demo).toBeDefined();
    expect(config.machines.length).toBeGreaterThan(0);
  });
});

/** Rows of a simple CSV file with quoted fields, as objects by header name. */
function readCsv(file: string): Record<string, string>[] {
  const [header, ...rows] = readFileSync(file, 'utf8').trim().split('\n').map((line) => {
    const cells: string[] = [];
    for (const m of line.matchAll(/(?:^|,)(?:"([^"]*)"|([^,]*))/g)) cells.push(m[1] ?? m[2] ?? '');
    return cells;
  });
  return rows.map((r) => Object.fromEntries(header!.map((h, i) => [h, r[i] ?? ''])));
}

describe('material library', () => {
  const LIBRARY_NAMES: Record<string, string> = {
    steel_crude_world_avg: 'steel',
    aluminium_primary_world_avg: 'aluminium_primary',
    copper_primary_mine_avg: 'copper',
    pet: 'pet',
    hdpe: 'hdpe',
    ldpe: 'ldpe',
    pp: 'pp',
    pvc: 'pvc',
    ps: 'ps',
    recycled_plastics_typical: 'recycled_plastics',
  };

  it('config/materials.yaml has one cited factor per row of config/reference/emission-factors.csv and no prices', () => {
    const { config, materialLibraryVersion } = load(`materialLibrary: ${join(CONFIG_DIR, 'materials.yaml')}\n`);
    expect(materialLibraryVersion).toBe('2026-11');
    const rows = readCsv(join(REFERENCE_DIR, 'emission-factors.csv'));
    expect(Object.keys(config.materials).sort()).toEqual(rows.map((r) => LIBRARY_NAMES[r.material!]).sort());
    for (const row of rows) {
      const m = config.materials[LIBRARY_NAMES[row.material!]!]!;
      expect(m.co2ePerKg?.value).toBe(Number(row.kg_co2e_per_kg));
      expect(m.co2ePerKg?.year).toBe(Number(row.year));
      expect(m.co2ePerKg?.source).toBe(row.source);
      expect(m.co2ePerKg?.boundary).toBeTruthy();
      expect(m.pricePerKg).toBeUndefined();
    }
  });

  it('claims critical raw materials only for elements on the EU list', () => {
    const { config } = load(`materialLibrary: ${join(CONFIG_DIR, 'materials.yaml')}\n`);
    const onList = new Set(readCsv(join(REFERENCE_DIR, 'eu-critical-raw-materials-2024.csv')).flatMap((r) => r.elements!.split(' ').filter(Boolean)));
    const claimed = Object.entries(config.materials).flatMap(([, m]) => Object.keys(m.crm));
    for (const el of claimed) expect(onList.has(el)).toBe(true);
    expect(config.materials.aluminium_primary!.crm).toEqual({ Al: 1 });
    expect(config.materials.copper!.crm).toEqual({ Cu: 1 });
    expect(config.materials.steel!.crm).toEqual({});
  });

  it('merges inline materials over library entries key by key', () => {
    const library = stringify({
      version: 'test-1',
      materials: {
        steel: { co2ePerKg: { value: 1.91, source: 'lib', year: 2022 }, scrapDestination: 'external_recycling' },
        copper: { co2ePerKg: { value: 2.6, source: 'lib', year: 2013 }, crm: { Cu: 1 } },
      },
    });
    const config = stringify({
      materialLibrary: 'lib.yaml',
      materials: {
        steel: { pricePerKg: 0.9, scrapDestination: 'internal_reuse' },
        copper: { co2ePerKg: { value: 1.5, source: 'supplier EPD', year: 2025 } },
        pa6: { scrapDestination: 'incineration' },
      },
      products: { part: { partMassKg: 1, material: 'copper' }, other: { partMassKg: 1, material: 'pa6' } },
    });
    const loaded = load(config, {}, { 'lib.yaml': library });
    const m = loaded.config.materials;
    expect(loaded.materialLibraryVersion).toBe('test-1');
    expect(m.steel).toMatchObject({ pricePerKg: 0.9, scrapDestination: 'internal_reuse', co2ePerKg: { value: 1.91, source: 'lib' } });
    expect(m.copper).toMatchObject({ co2ePerKg: { value: 1.5, source: 'supplier EPD', year: 2025 }, crm: { Cu: 1 } });
    expect(m.pa6!.scrapDestination).toBe('incineration');
  });

  it('refuses a broken library entry, naming the library file and the key', () => {
    const library = stringify({ version: 'x', materials: { steel: { co2ePerKg: { value: 1.9, source: 's', year: 22 } } } });
    const err = thrown(() => load('materialLibrary: lib.yaml\n', {}, { 'lib.yaml': library }));
    expect(err.code).toBe('YW_ERR_CONFIG_INVALID');
    expect(err.message).toContain('lib.yaml');
    expect(err.message).toMatch(/materials\.steel\.co2ePerKg\.year \(line \d+\): expected a number >= 1990, got 22/);
  });

  it('refuses a library with unknown top-level keys', () => {
    const err = thrown(() => load('materialLibrary: lib.yaml\n', {}, { 'lib.yaml': 'version: "1"\nmaterial:\n  steel: {}\n' }));
    expect(err.message).toContain('material (line 2): unknown key (did you mean "materials"?)');
  });

  it('reports a library file that cannot be read with the key that names it', () => {
    const err = thrown(() => load('materialLibrary: missing.yaml\n'));
    expect(err.code).toBe('YW_ERR_CONFIG_READ');
    expect(err.message).toMatch(/Cannot read the material library \(materialLibrary \(line 1\)\) .*missing\.yaml/);
  });
});

describe('config warnings', () => {
  const base = {
    machines: [{ path: 'p/l/m1', partMassKg: 1, signals: { parts_good: { kind: 'counter' } } }],
    sources: [{ type: 'mqtt', url: 'mqtt://127.0.0.1:1883', topics: [{ topic: '{site}/{line}/{machine}', fields: { parts_good: 'good' } }] }],
  };
  const LEARNED = /^p\/l\/m1 parts_good runs without a set rate limit: .*ceiling \(kpi\.counterRateCeiling, 1000\/s\).*30 spans with production over 10 min.*10 x its peak rate/;
  it('warns, naming the topic and the counters, when counters have neither a timestamp nor a set rate limit; and names the counters that run on the learned limit', () => {
    const w = configWarnings(validateConfig(base));
    expect(w).toEqual([expect.stringMatching(LEARNED), expect.stringMatching(/^sources\[0\]\.topics\[0\] \(\{site\}\/\{line\}\/\{machine\}\) has no timestamp.*p\/l\/m1 parts_good.*learned limit/)]);
  });
  it('with a timestamp mapped only the learned limit is named; a hand-set limit or the product\'s cycle time quiets both', () => {
    const withTs = structuredClone(base) as typeof base & { sources: { topics: Record<string, unknown>[] }[] };
    withTs.sources[0]!.topics[0]!.timestamp = { field: 'ts' };
    expect(configWarnings(validateConfig(withTs))).toEqual([expect.stringMatching(LEARNED)]);
    const limited = structuredClone(base) as { machines: { signals: { parts_good: Record<string, unknown> } }[] };
    limited.machines[0]!.signals.parts_good.maxRatePerSecond = 10;
    expect(configWarnings(validateConfig({ ...base, machines: limited.machines }))).toEqual([]);
    const cycled = {
      ...base,
      materials: { steel: { pricePerKg: 1 } },
      products: { bracket: { partMassKg: 1, material: 'steel', cycleTime: '12s' } },
      machines: [{ path: 'p/l/m1', product: 'bracket', signals: { parts_good: { kind: 'counter' }, material_in_kg: { kind: 'counter' } } }],
      sources: [{ ...base.sources[0]!, topics: [{ ...base.sources[0]!.topics[0]!, fields: { parts_good: 'good', material_in_kg: 'kg' }, timestamp: { field: 'ts' } }] }],
    };
    // The cycle time limits part counters only: material_in_kg still learns.
    expect(configWarnings(validateConfig(cycled))).toEqual([expect.stringMatching(/^p\/l\/m1 material_in_kg runs without a set rate limit/)]);
  });
  it('warns of a hand-set limit above the ceiling, which caps it', () => {
    const high = { ...base, kpi: { counterRateCeiling: 500 }, machines: [{ path: 'p/l/m1', partMassKg: 1, signals: { parts_good: { kind: 'counter', maxRatePerSecond: 800 } } }] };
    expect(configWarnings(validateConfig(high))).toEqual([expect.stringMatching(/^p\/l\/m1 parts_good: maxRatePerSecond 800 is above kpi\.counterRateCeiling \(500\/s\)/)]);
  });
});

describe('signals no source maps', () => {
  const topic = (t: Record<string, unknown>) => ({ type: 'mqtt', url: 'mqtt://127.0.0.1:1883', topics: [{ fields: { parts_good: 'good' }, timestamp: { field: 'ts' }, ...t }] });
  const measuredOf = (sources: unknown[], paths: string[]) => {
    const cfg = validateConfig({ machineDefaults: { signals: { parts_good: { kind: 'delta' } } }, machines: paths.map((path) => ({ path })), sources });
    return Object.fromEntries([...machineSignals(cfg)].map(([path, s]) => [path, Object.keys(s.measured)]));
  };

  it('a topic template maps its signals for the machines whose fixed levels it matches and whose levels it captures', () => {
    const paths = ['p1/l1/m1', 'p1/l2/m2', 'p2/l1/m3', 'p1/a1/l1/m4'];
    expect(measuredOf([topic({ topic: 'p1/{line}/{machine}', site: 'p1' })], paths)).toEqual({ 'p1/l1/m1': ['parts_good'], 'p1/l2/m2': ['parts_good'], 'p2/l1/m3': [], 'p1/a1/l1/m4': [] });
    expect(measuredOf([topic({ topic: '{site}/x/{machine}', line: 'l1' })], paths)).toEqual({ 'p1/l1/m1': ['parts_good'], 'p1/l2/m2': [], 'p2/l1/m3': ['parts_good'], 'p1/a1/l1/m4': [] });
    expect(measuredOf([topic({ topic: '{site}/{area}/{line}/{machine}' })], paths)).toEqual({ 'p1/l1/m1': [], 'p1/l2/m2': [], 'p2/l1/m3': [], 'p1/a1/l1/m4': ['parts_good'] });
    expect(measuredOf([topic({ topic: '{site}/{line}/{machine}', area: 'a1' })], paths)).toEqual({ 'p1/l1/m1': [], 'p1/l2/m2': [], 'p2/l1/m3': [], 'p1/a1/l1/m4': ['parts_good'] });
  });

  it('scrap counted per reason maps parts_scrap, over MQTT and OPC UA', () => {
    const cfg = validateConfig({
      machineDefaults: { signals: { parts_good: { kind: 'counter' }, parts_scrap: { kind: 'counter' } } },
      machines: [{ path: 'p1/l1/m1' }, { path: 'p1/l2/m2' }],
      sources: [
        topic({ topic: 'p1/l1/{machine}', site: 'p1', line: 'l1', fields: {}, scrapByReason: { object: 'scrap' } }),
        { type: 'opcua', endpointUrl: 'opc.tcp://127.0.0.1:4840', machines: [{ machine: 'p1/l2/m2', signals: { parts_good: { nodeId: 'ns=1;s=g' } }, scrapByReason: { burr: { nodeId: 'ns=1;s=b' } } }] },
      ],
    });
    const s = machineSignals(cfg);
    expect(Object.keys(s.get('p1/l1/m1')!.measured)).toEqual(['parts_scrap']);
    expect(s.get('p1/l1/m1')!.notMeasured).toEqual([{ signal: 'parts_good', declaredIn: 'machineDefaults.signals' }]);
    expect(Object.keys(s.get('p1/l2/m2')!.measured)).toEqual(['parts_good', 'parts_scrap']);
    expect(configWarnings(cfg).filter((w) => w.includes('no source maps'))).toEqual([expect.stringMatching(/^p1\/l1\/m1 declares parts_good \(inherited from machineDefaults\.signals\), but no source maps it for this machine: it is not measured/)]);
  });

  it('a machine\'s own unmapped signal is named with its key', () => {
    const cfg = validateConfig({ machines: [{ path: 'p1/l1/m1', signals: { parts_good: { kind: 'delta' }, material_in_kg: { kind: 'counter', maxRatePerSecond: 1 } } }], sources: [topic({ topic: '{site}/{line}/{machine}' })] });
    expect(configWarnings(cfg)).toEqual([expect.stringMatching(/^p1\/l1\/m1 declares material_in_kg \(in machines\[0\]\.signals\), but no source maps it.*remove it from machines\[0\]\.signals\.$/)]);
  });

  it('a config without sources measures what it declares (a program feeds its pipeline), and warns of nothing', () => {
    const cfg = validateConfig({ machineDefaults: { signals: { parts_good: { kind: 'delta' }, material_in_kg: { kind: 'delta' } } }, machines: [{ path: 'p1/l1/m1' }] });
    expect(Object.keys(machineSignals(cfg).get('p1/l1/m1')!.measured)).toEqual(['parts_good', 'material_in_kg']);
    expect(configWarnings(cfg)).toEqual([]);
  });

  it('the shipped configs map every signal their machines declare', () => {
    for (const file of ['example.yaml', 'demo.yaml']) {
      const { config } = loadConfig(join(CONFIG_DIR, file), { MQTT_PASSWORD: 'x' });
      expect(configWarnings(config).filter((w) => w.includes('no source maps')), file).toEqual([]);
    }
  });
});

describe('EU critical raw materials', () => {
  it('the elements the schema accepts are exactly those of the shipped list (Regulation (EU) 2024/1252)', async () => {
    const { EU_CRM_ELEMENTS } = await import('../kpi/crm.js');
    const csv = readFileSync(join(CONFIG_DIR, 'reference', 'eu-critical-raw-materials-2024.csv'), 'utf8');
    const fromCsv = new Set(
      csv
        .trim()
        .split('\n')
        .slice(1)
        .flatMap((row) => (row.split(',')[1] ?? '').split(' ').filter(Boolean)),
    );
    expect([...EU_CRM_ELEMENTS].sort()).toEqual([...fromCsv].sort());
  });
});
