import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ERROR_CODES } from '../core/errors.js';
import { packageRoot } from '../core/package-root.js';
import { duration } from '../core/schema/duration.js';
import { validateConfig } from './load.js';
import { configSchema, materialLibrarySchema } from './schema.js';

// The config docs are rendered from the zod schema only (agent/ARCHITECTURE.md, "Config"): option texts,
// types, defaults and allowed values all come from z.toJSONSchema; this file adds layout and
// the few facts about the loader (env substitution, overrides) that are not options.

const SCHEMA_ID = 'urn:yieldwatch:config';
const SCHEMA_TITLE = 'yieldwatch configuration';
const GENERATOR = 'npm run gen:config-docs';

/** The subset of JSON Schema 2020-12 that z.toJSONSchema produces for our schemas. */
interface JsonSchema {
  $schema?: string;
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  propertyNames?: JsonSchema;
  items?: JsonSchema;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
}

function inputSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input' }) as JsonSchema;
}

// Durations are recognised by the pattern the duration schema itself declares, so this never drifts from duration.ts.
const DURATION_PATTERN = inputSchema(duration('')).pattern;

/** JSON Schema of the YAML config file as a person writes it (before defaults), with `$id` and `title`. */
export function renderJsonSchema(): string {
  const { $schema, ...rest } = inputSchema(configSchema);
  return `${JSON.stringify({ $schema, $id: SCHEMA_ID, title: SCHEMA_TITLE, ...rest }, null, 2)}\n`;
}

interface Row {
  key: string;
  type: string;
  def: string;
  allowed: string;
  description: string;
}

interface Group {
  heading: string;
  intro: string;
  rows: Row[];
}

interface Section {
  key: string;
  rows: Row[];
  groups: Group[];
}

// Safe-integer bounds that zod adds to every `.int()`: true but not worth a reader's attention.
const SAFE_MAX = Number.MAX_SAFE_INTEGER;
const SAFE_MIN = Number.MIN_SAFE_INTEGER;

/** Name of the placeholder for a map key, from the map's own key name (`materials.<material>`). */
const MAP_KEY_NAMES: Record<string, string> = {
  materials: 'material',
  products: 'product',
  signals: 'signal',
  fields: 'signal',
  crm: 'element',
};

function code(v: unknown): string {
  return `\`${typeof v === 'string' ? v : JSON.stringify(v)}\``;
}

function isRecord(s: JsonSchema): s is JsonSchema & { additionalProperties: JsonSchema } {
  return s.properties === undefined && typeof s.additionalProperties === 'object';
}

function variants(s: JsonSchema): JsonSchema[] | undefined {
  return s.oneOf ?? s.anyOf;
}

/** The property every variant of a union fixes with `const`, e.g. `kind` or `type`. */
function discriminator(vs: readonly JsonSchema[]): string | undefined {
  const first = vs[0]?.properties;
  if (first === undefined) return undefined;
  return Object.keys(first).find((k) => vs.every((v) => v.properties?.[k]?.const !== undefined));
}

/** A map value that needs no row of its own: a scalar without a description (its constraints go on the map's row). */
function isPlainValue(s: JsonSchema): boolean {
  return s.description === undefined && s.type !== 'object' && s.type !== 'array' && variants(s) === undefined;
}

function typeOf(s: JsonSchema): string {
  const vs = variants(s);
  if (vs !== undefined) {
    if (vs.every((v) => v.const !== undefined)) return [...new Set(vs.map((v) => v.type ?? 'value'))].join(' or ');
    return 'object';
  }
  if (s.type === 'string' && s.pattern !== undefined && s.pattern === DURATION_PATTERN) return '[duration](#durations)';
  if (s.type === 'array') {
    const items = s.items ?? {};
    return `list of ${plural(typeOf(items))}`;
  }
  if (s.type === 'object' && isRecord(s)) return `map of ${plural(typeOf(s.additionalProperties))}`;
  return s.type ?? 'value';
}

function plural(t: string): string {
  if (t.startsWith('[duration]')) return 'durations';
  if (t.startsWith('list of') || t.startsWith('map of') || t.includes(' or ')) return t;
  return `${t}s`;
}

function range(s: JsonSchema): string | undefined {
  const lo = s.minimum !== undefined && s.minimum !== SAFE_MIN ? s.minimum : undefined;
  const hi = s.maximum !== undefined && s.maximum !== SAFE_MAX ? s.maximum : undefined;
  const xlo = s.exclusiveMinimum;
  const xhi = s.exclusiveMaximum;
  if (lo !== undefined && hi !== undefined) return `${lo} to ${hi}`;
  const parts = [
    lo !== undefined ? `>= ${lo}` : undefined,
    xlo !== undefined ? `> ${xlo}` : undefined,
    hi !== undefined ? `<= ${hi}` : undefined,
    xhi !== undefined ? `< ${xhi}` : undefined,
  ].filter((p): p is string => p !== undefined);
  return parts.length > 0 ? parts.join(' and ') : undefined;
}

function allowedOf(s: JsonSchema): string {
  const out: string[] = [];
  const vs = variants(s);
  if (vs !== undefined && vs.every((v) => v.const !== undefined)) out.push(vs.map((v) => code(v.const)).join(', '));
  if (s.enum !== undefined) out.push(s.enum.map(code).join(', '));
  if (s.const !== undefined) out.push(code(s.const));
  const r = range(s);
  if (r !== undefined) out.push(r);
  if (s.type === 'string') {
    if (s.minLength !== undefined && s.minLength === s.maxLength) out.push(`exactly ${s.minLength} characters`);
    else if (s.minLength === 1) out.push('non-empty');
    if (s.pattern !== undefined && s.pattern !== DURATION_PATTERN) out.push(`matches ${code(s.pattern)}`);
  }
  if (s.minItems !== undefined) out.push(`at least ${s.minItems} ${s.minItems === 1 ? 'entry' : 'entries'}`);
  if (s.type === 'object' && isRecord(s)) {
    const names = s.propertyNames;
    if (names?.enum !== undefined) out.push(`keys: ${names.enum.map(code).join(', ')}`);
    else if (names?.pattern !== undefined) out.push(`keys match ${code(names.pattern)}`);
    if (isPlainValue(s.additionalProperties)) {
      const values = allowedOf(s.additionalProperties);
      if (values !== '') out.push(`values: ${values}`);
    }
  }
  return out.join('; ');
}

function defaultOf(s: JsonSchema, required: boolean): string {
  if (s.default !== undefined) {
    const json = JSON.stringify(s.default);
    // A whole object's default just repeats its keys' defaults, listed in their own rows.
    return json.length > 40 && typeof s.default === 'object' ? 'per key' : code(s.default);
  }
  return required ? '**required**' : '';
}

/** Adds the rows of one key and everything below it; union variants become groups of their own. */
function walk(s: JsonSchema, key: string, required: boolean, rows: Row[], groups: Group[], element = false): void {
  const vs = variants(s);
  const disc = vs !== undefined ? discriminator(vs) : undefined;
  // A list item or map value is its own row only when it says something its container does not.
  if (!element || s.description !== undefined || (s.type !== 'object' && disc === undefined)) {
    rows.push({ key, type: typeOf(s), def: defaultOf(s, required), allowed: allowedOf(s), description: s.description ?? '' });
  }
  if (vs !== undefined && disc !== undefined) {
    rows.push({
      key: `${key}.${disc}`,
      type: 'string',
      def: '**required**',
      allowed: vs.map((v) => code(v.properties![disc]!.const)).join(', '),
      description: `Selects the variant; the keys of each are listed under \`${key}\` with \`${disc}: …\`.`,
    });
    for (const v of vs) {
      const value = v.properties![disc]!.const;
      const group: Group = { heading: `\`${key}\` with \`${disc}: ${String(value)}\``, intro: v.properties![disc]!.description ?? '', rows: [] };
      groups.push(group);
      for (const [name, child] of Object.entries(v.properties ?? {})) {
        if (name === disc) continue;
        walk(child, `${key}.${name}`, isRequired(v, name, child), group.rows, groups);
      }
    }
    return;
  }
  if (s.type === 'object' && s.properties !== undefined) {
    for (const [name, child] of Object.entries(s.properties)) walk(child, `${key}.${name}`, isRequired(s, name, child), rows, groups);
  } else if (s.type === 'object' && isRecord(s) && !isPlainValue(s.additionalProperties)) {
    const last = key.split('.').pop()!.replace(/\[\]$/, '');
    walk(s.additionalProperties, `${key}.<${MAP_KEY_NAMES[last] ?? 'name'}>`, false, rows, groups, true);
  } else if (s.type === 'array' && s.items !== undefined) {
    walk(s.items, `${key}[]`, false, rows, groups, true);
  }
}

function isRequired(parent: JsonSchema, name: string, child: JsonSchema): boolean {
  return (parent.required ?? []).includes(name) && child.default === undefined;
}

function sections(root: JsonSchema): Section[] {
  return Object.entries(root.properties ?? {}).map(([key, s]) => {
    const section: Section = { key, rows: [], groups: [] };
    walk(s, key, isRequired(root, key, s), section.rows, section.groups);
    return section;
  });
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function table(rows: readonly Row[]): string {
  const head = '| Key | Type | Default | Allowed values | Description |\n|---|---|---|---|---|';
  const body = rows.map((r) => `| \`${cell(r.key)}\` | ${cell(r.type)} | ${cell(r.def)} | ${cell(r.allowed)} | ${cell(r.description)} |`);
  return [head, ...body].join('\n');
}

function renderSection(s: Section): string {
  const parts = [`## \`${s.key}\``, table(s.rows)];
  for (const g of s.groups) {
    parts.push(`### ${g.heading}`);
    if (g.intro !== '') parts.push(g.intro);
    parts.push(g.rows.length > 0 ? table(g.rows) : 'No other keys.');
  }
  return parts.join('\n\n');
}

/** The error a small broken config produces, so the reference shows the loader's real message format. */
function sampleError(): string {
  try {
    validateConfig(
      {
        kpi: { windowsize: '60s', allowedLateness: '10 seconds' },
        machines: [{ path: 'plant1/line1/press-01', partMassKg: -0.4 }],
      },
      'config.yaml',
    );
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('the sample broken config unexpectedly validated');
}

const INTRO = `# yieldwatch configuration reference

<!-- Generated by \`${GENERATOR}\` from the zod schemas in agent/src/config/schema.ts and the
     plugin schemas it composes. Do not edit: change the schema and run the generator; a test
     fails when this file and the schema disagree. -->

One YAML file configures one agent: \`yieldwatch start --config config/example.yaml\`
(\`yieldwatch check-config FILE\` only validates it). \`config/example.yaml\` is a commented
example for a plant; \`config/schema.json\` is the JSON Schema of the file, for editors: put
\`# yaml-language-server: $schema=schema.json\` (path relative to the YAML file) on the first
line to get completion and checks while typing.

The file is read in this order; each step works on the result of the one before:

1. YAML is parsed (a syntax error names the line and column).
2. \`\${VAR}\` placeholders in values are replaced from the environment.
3. \`YIELDWATCH_*\` environment variables override single keys.
4. The material library named by \`materialLibrary\` is merged into \`materials\`.
5. The result is checked against the schema and defaults are filled in.

Relative paths (\`agent.dataDir\`, \`materialLibrary\`) are resolved against the folder of the
config file, not the working directory.

An error names the key, where it is (line, or the \`YIELDWATCH_*\` variable that set it), what
was expected and the value found, except a secret's: under a key such as \`password\`,
\`token\`/\`tokens\`, \`secret\`, \`auth\` or \`headers\` only its kind is shown ("got a string (not
shown: a secret)"), never its text or length, and a \`url\` only by scheme and host (a webhook's
path is its secret). \`check-config\` also refuses what \`start\` would: an \`api.host\` other
machines reach while there is no user and no \`api.tokens\` entry (\`YW_ERR_API_OPEN\`).

## Environment variables

### \`\${VAR}\` and \`\${VAR:-default}\` in values

Any string value may contain \`\${VAR}\`, replaced by the environment variable \`VAR\`, or
\`\${VAR:-default}\`, which uses \`default\` when \`VAR\` is not set. A \`\${VAR}\` without a default
whose variable is not set stops loading with \`YW_ERR_CONFIG_ENV\`, naming the key and the
variable. The result is always a string, so use placeholders for strings (passwords, host
names, URLs, paths) and the overrides below for numbers and booleans. Keys and YAML comments
are not substituted.

When \`VAR\` is not set but \`VAR_FILE\` is, the placeholder takes the content of the file it
names, without one trailing newline: how containers receive secrets (Docker and Compose
secrets under \`/run/secrets/\`, Kubernetes secret volumes), so that a password never sits in
the environment. \`MQTT_PASSWORD_FILE=/run/secrets/mqtt_password\` fills \`\${MQTT_PASSWORD}\`.
Setting both \`VAR\` and \`VAR_FILE\`, or naming a file that cannot be read, stops loading with
\`YW_ERR_CONFIG_ENV\`.

\`\`\`yaml
sources:
  - type: mqtt
    url: \${MQTT_URL:-mqtt://127.0.0.1:1883}
    password: \${MQTT_PASSWORD}
\`\`\`

### \`YIELDWATCH_A__B__0__C\` overrides

Every environment variable whose name starts with \`YIELDWATCH_\` sets one key. The rest of
the name, split at \`__\` (two underscores), is the key path; a number selects a list entry.
Each part matches an existing key without regard to case or single underscores, and a key
that is not in the file yet is written in camelCase (\`DATA_DIR\` → \`dataDir\`). The value is
read as a YAML scalar: \`9090\` is a number, \`true\` a boolean, anything else a string.
Overrides are applied after \`\${VAR}\` substitution, so they win.

| Variable | Sets |
|---|---|
| \`YIELDWATCH_API__PORT=9090\` | \`api.port: 9090\` (a number) |
| \`YIELDWATCH_SOURCES__0__PASSWORD=s3cret\` | \`sources[0].password\` |
| \`YIELDWATCH_AGENT__LOG_LEVEL=debug\` | \`agent.logLevel\` |

Because every \`YIELDWATCH_*\` variable is read this way, a variable that names no key is
reported as an unknown key, with the variable's name.

## Durations

Durations are strings: a number and a unit, without a space — \`ms\`, \`s\`, \`m\`, \`h\`, \`d\` or
\`w\` (\`"500ms"\`, \`"30s"\`, \`"1.5h"\`, \`"7d"\`). A bare number is refused rather than guessed.

## Units and shares

Every other number carries its unit in its key name: \`partMassKg\` is kilograms,
\`maxRatePerSecond\` is counts per second, \`maxPayloadBytes\` bytes, \`pricePerKg\` money per
kilogram in \`currency\`. Shares (\`scrapRate\`, \`recycledContentShare\`, the fractions in
\`crm\`) are fractions from 0 to 1, not percentages.

## Errors

A config that does not load stops the agent with one of these codes and a message listing
every problem on its own line: the key path, the line in the file (or the \`YIELDWATCH_*\`
variable that set the key), what was expected and what was found. For example:`;

function errorCodes(): string {
  const rows = Object.entries(ERROR_CODES)
    .filter(([c]) => c.startsWith('YW_ERR_CONFIG_'))
    .map(([c, text]) => `| \`${c}\` | ${cell(text)} |`);
  return ['| Code | Meaning |', '|---|---|', ...rows].join('\n');
}

function topLevelTable(root: JsonSchema): string {
  const rows = Object.entries(root.properties ?? {}).map(([k, s]) => `| [\`${k}\`](#${k.toLowerCase()}) | ${cell(s.description ?? '')} |`);
  return ['| Key | What it configures |', '|---|---|', ...rows].join('\n');
}

function renderLibrary(): string {
  const lib = inputSchema(materialLibrarySchema);
  const rows: Row[] = Object.entries(lib.properties ?? {}).map(([k, s]) => ({
    key: k,
    type: typeOf(s),
    def: defaultOf(s, isRequired(lib, k, s)),
    allowed: allowedOf(s),
    description: s.description ?? '',
  }));
  return [
    '## Material library file',
    `${lib.description ?? ''} Each entry under \`materials\` has the keys of \`materials.<material>\` above; the library shipped in \`config/materials.yaml\` is built from the cited sources in \`config/reference/\`.`,
    table(rows),
  ].join('\n\n');
}

/** The configuration reference (markdown): loader behaviour, then every key path with type, default, allowed values and description. */
export function renderReference(): string {
  const root = inputSchema(configSchema);
  const parts = [
    INTRO,
    `\`\`\`text\n${sampleError()}\n\`\`\``,
    errorCodes(),
    `## Top-level keys\n\n${root.description ?? ''} Every key below is optional unless its default says **required**; \`<name>\` stands for a name you choose, \`[]\` for each entry of a list.`,
    topLevelTable(root),
    ...sections(root).map(renderSection),
    renderLibrary(),
  ];
  return `${parts.join('\n\n')}\n`;
}

/** Writes config/schema.json and config/REFERENCE.md; returns the paths written. */
export function writeConfigDocs(configDir = join(packageRoot(), 'config')): string[] {
  const files: [string, string][] = [
    [resolve(configDir, 'schema.json'), renderJsonSchema()],
    [resolve(configDir, 'REFERENCE.md'), renderReference()],
  ];
  for (const [file, text] of files) writeFileSync(file, text);
  return files.map(([file]) => file);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const file of writeConfigDocs()) process.stdout.write(`wrote ${file}\n`);
}
