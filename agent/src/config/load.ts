import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parse as parseYaml, parseDocument } from 'yaml';
import type { z } from 'zod';
import { YieldwatchError } from '../core/errors.js';
import { isSecretKey, isSecretPath, urlOrigin } from '../core/secrets.js';
import { simulatorSchema, type SimulatorConfig } from '../simulator/config.js';
import { configSchema, materialLibrarySchema, type Config } from './schema.js';

const ENV_PREFIX = 'YIELDWATCH_';
const ENV_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
const REFERENCE_HINT = 'every key is described in config/REFERENCE.md';

type KeyPath = readonly PropertyKey[];

/** Replaces `${VAR}` and `${VAR:-default}` in every string of a parsed YAML document. */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: (string | number)[] = []): unknown {
  return substitute(value, env, path, (p, name) => {
    throw missingEnv(p, name, '');
  });
}

type OnMissing = (path: (string | number)[], name: string) => void;

function substitute(value: unknown, env: NodeJS.ProcessEnv, path: (string | number)[], onMissing: OnMissing): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_RE, (_m, name: string, def: string | undefined) => {
      const v = envOrFile(env, name, path);
      if (v !== undefined) return v;
      if (def !== undefined) return def;
      onMissing(path, name);
      return '';
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substitute(v, env, [...path, i], onMissing));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, env, [...path, k], onMissing)]));
  }
  return value;
}

/**
 * `VAR`, or the content of the file `VAR_FILE` names: the convention of container images, where
 * secrets arrive as files (`/run/secrets/...`) and a password in the environment would show in
 * `docker inspect`. One trailing newline is dropped, as `echo` and editors add it.
 */
function envOrFile(env: NodeJS.ProcessEnv, name: string, path: KeyPath): string | undefined {
  const file = env[`${name}_FILE`];
  if (file === undefined) return env[name];
  if (env[name] !== undefined) {
    // Which one was meant cannot be guessed; a silent choice would hide a stale secret.
    throw new YieldwatchError('YW_ERR_CONFIG_ENV', `Config key ${formatPath(path)} uses \${${name}}, and both ${name} and ${name}_FILE are set; expected only one of them.`);
  }
  try {
    return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new YieldwatchError(
      'YW_ERR_CONFIG_ENV',
      `Config key ${formatPath(path)} uses \${${name}}, read from ${name}_FILE=${file}, which cannot be read: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function missingEnv(path: KeyPath, name: string, where: string): YieldwatchError {
  return new YieldwatchError(
    'YW_ERR_CONFIG_ENV',
    `Config key ${formatPath(path)}${where} uses \${${name}}, but the environment variable ${name} is not set; ` +
      `expected ${name} to be set, or a default written as \${${name}:-default}, or ${name}_FILE naming a file that holds the value.`,
  );
}

/**
 * Applies `YIELDWATCH_A__B__0__C=value` overrides: the path's segments are matched to existing
 * keys without regard to case (`YIELDWATCH_SOURCES__0__PASSWORD` sets `sources[0].password`);
 * the value is read as a YAML scalar, so `8081` is a number and `true` a boolean. When `origins`
 * is given, it receives each overridden key path (as printed in errors) and the variable that set it.
 */
export function applyEnvOverrides(
  doc: Record<string, unknown>,
  env: NodeJS.ProcessEnv,
  origins?: Map<string, string>,
): Record<string, unknown> {
  // Sorted so that the result does not depend on the order of the environment.
  for (const [name, raw] of Object.entries(env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const segs = name.slice(ENV_PREFIX.length).split('__').filter(Boolean);
    if (segs.length === 0) continue;
    let node: Record<string, unknown> | unknown[] = doc;
    const path: (string | number)[] = [];
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const last = i === segs.length - 1;
      const key: string | number = Array.isArray(node) ? Number(seg) : matchKey(node, seg);
      path.push(key);
      if (last) {
        (node as Record<string | number, unknown>)[key] = parseScalar(raw);
        origins?.set(formatPath(path), name);
      } else {
        let next = (node as Record<string | number, unknown>)[key];
        if (next === undefined || next === null || typeof next !== 'object') {
          next = /^\d+$/.test(segs[i + 1]!) ? [] : {};
          (node as Record<string | number, unknown>)[key] = next;
        }
        node = next as Record<string, unknown>;
      }
    }
  }
  return doc;
}

function matchKey(obj: Record<string, unknown>, seg: string): string {
  const want = seg.toLowerCase().replace(/_/g, '');
  for (const k of Object.keys(obj)) if (k.toLowerCase().replace(/_/g, '') === want) return k;
  // Not present yet: camelCase the segment (DATA_DIR -> dataDir).
  return seg.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function parseScalar(raw: string): unknown {
  try {
    const v: unknown = parseYaml(raw);
    return v !== null && typeof v === 'object' ? raw : v;
  } catch {
    return raw;
  }
}

function formatPath(path: KeyPath): string {
  if (path.length === 0) return '(root)';
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`))
    .join('');
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/**
 * The value found at a key path as an error may show it: a secret's (`password`, `api.tokens`,
 * `secret`, `headers`, …) only by its kind, never its text or length; a URL only by scheme and host.
 */
function describeAt(path: KeyPath, v: unknown): string {
  if (isSecretPath(path)) {
    const kind = typeof v === 'string' ? 'a string' : typeof v === 'number' ? 'a number' : Array.isArray(v) ? 'a list' : v !== null && typeof v === 'object' ? 'a mapping' : describe(v);
    return `${kind} (not shown: a secret)`;
  }
  if (path.at(-1) === 'url' && typeof v === 'string') return JSON.stringify(urlOrigin(v));
  if (v !== null && typeof v === 'object') {
    // A whole section (a sink without its `type`) shows its secrets' keys, not their values.
    return describe(JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === '' ? x : isSecretKey(k) ? '(secret)' : k === 'url' && typeof x === 'string' ? urlOrigin(x) : x))));
  }
  return describe(v);
}

function valueAt(doc: unknown, path: KeyPath): unknown {
  let v: unknown = doc;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

function quote(v: unknown): string {
  return typeof v === 'string' ? `"${v}"` : String(v);
}

function oneOf(values: readonly unknown[]): string {
  return values.length === 1 ? quote(values[0]) : `one of ${values.map(quote).join(', ')}`;
}

/** Closest candidate for a misspelt name: same letters ignoring case and `_`, same words in another order, or at most 2 edits away. */
function closest(name: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  const words = (s: string) => s.toLowerCase().split(/[_-]/).sort().join(' ');
  const exact = candidates.find((c) => norm(c) === norm(name)) ?? candidates.find((c) => words(c) === words(name));
  if (exact !== undefined) return exact;
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(norm(name), norm(c));
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_v, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping of keys',
  array: 'a list',
  int: 'an integer',
  record: 'a mapping of keys',
};

function bound(iss: { origin: string; inclusive?: boolean; exact?: boolean }, limit: number | bigint, cmp: '>' | '<'): string {
  const n = Number(limit);
  if (iss.origin === 'string') {
    if (iss.exact) return `exactly ${n} characters`;
    if (cmp === '>' && n === 1) return 'a non-empty string';
    return `${cmp === '>' ? 'at least' : 'at most'} ${n} characters`;
  }
  if (iss.origin === 'array' || iss.origin === 'set') {
    if (iss.exact) return `exactly ${n} entries`;
    return `${cmp === '>' ? 'at least' : 'at most'} ${n} ${n === 1 ? 'entry' : 'entries'}`;
  }
  const what = iss.origin === 'int' ? 'an integer' : 'a number';
  return `${what} ${cmp}${iss.inclusive ? '=' : ''} ${n}`;
}

/**
 * The schema's own "expected ..." message from a refinement or pattern on a value of the wrong
 * type, so `windowSize: 60` says what a duration looks like instead of just "expected a string".
 */
function checkMessage(inst: unknown): string | undefined {
  const checks = (inst as { _zod?: { def?: { checks?: { _zod?: { def?: { error?: (iss?: unknown) => unknown } } }[] } } } | undefined)?._zod?.def?.checks;
  for (const check of checks ?? []) {
    const error = check._zod?.def?.error;
    if (error === undefined) continue;
    const msg: unknown = error();
    if (typeof msg === 'string' && msg.startsWith('expected')) return msg;
  }
  return undefined;
}

/**
 * Zod error map for config documents: each message says what was expected in words a process
 * engineer reads (the found value is added by formatIssues). Messages set on the schema win.
 * Allowed keys of objects with unknown keys go to `knownKeys`, so formatIssues can suggest one.
 */
function configErrorMap(knownKeys: Map<string, readonly string[]>): z.core.$ZodErrorMap {
  return (iss) => {
    switch (iss.code) {
      case 'invalid_type': {
        const expected = checkMessage(iss.inst) ?? `expected ${TYPE_NAMES[iss.expected] ?? `a ${iss.expected}`}`;
        return iss.input === undefined ? `required key is missing; ${expected}` : expected;
      }
      case 'too_small':
        return `expected ${bound(iss, iss.minimum, '>')}`;
      case 'too_big':
        return `expected ${bound(iss, iss.maximum, '<')}`;
      case 'invalid_value':
        return `expected ${oneOf(iss.values)}`;
      case 'not_multiple_of':
        return `expected a multiple of ${iss.divisor}`;
      case 'invalid_format':
        return iss.format === 'regex' && iss.pattern !== undefined ? `expected text matching ${iss.pattern}` : `expected a valid ${iss.format}`;
      case 'unrecognized_keys': {
        const shape = (iss.inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def?.shape;
        const keys = shape ? Object.keys(shape) : [];
        knownKeys.set(formatPath(iss.path ?? []), keys);
        return keys.length > 0 ? `unknown key; expected one of: ${keys.join(', ')}` : 'unknown key';
      }
      case 'invalid_key': {
        const key = String(iss.input);
        const values = iss.issues.flatMap((i) => (i.code === 'invalid_value' ? i.values.map(String) : []));
        const hint = closest(key, values);
        const inner = iss.issues.map((i) => i.message).join('; ');
        return `unknown key${hint !== undefined ? ` (did you mean "${hint}"?)` : ''}; ${inner}`;
      }
      case 'invalid_union': {
        if (iss.discriminator !== undefined) {
          const propValues = (iss.inst as { _zod?: { propValues?: Record<string, Set<unknown>> } } | undefined)?._zod?.propValues;
          const values = [...(propValues?.[iss.discriminator] ?? [])];
          const expected = values.length > 0 ? `expected ${oneOf(values)}` : `expected a known "${iss.discriminator}"`;
          const given = isPlainObject(iss.input) ? iss.input[iss.discriminator] : undefined;
          return given === undefined ? `required key is missing; ${expected}` : expected;
        }
        const alts = iss.errors;
        if (alts.length > 0 && alts.every((a) => a.length === 1 && a[0]!.code === 'invalid_value' && a[0]!.path.length === 0)) {
          return `expected ${oneOf(alts.flatMap((a) => (a[0]!.code === 'invalid_value' ? a[0]!.values : [])))}`;
        }
        return alts.length > 0 ? alts.map((a) => a.map((i) => i.message).join(' and ')).join(', or ') : undefined;
      }
      default:
        return undefined;
    }
  };
}

/** What formatIssues may know beyond the issues: source lines, overridden keys, allowed keys. */
export interface IssueHints {
  /** Line in the YAML file of the value (or nearest existing parent) at a key path. */
  lineOf?: (path: KeyPath) => number | undefined;
  /** Key path (as printed) → the `YIELDWATCH_*` variable that set it. */
  envOrigins?: ReadonlyMap<string, string>;
  /** Key path (as printed) of an object → its allowed keys. */
  knownKeys?: ReadonlyMap<string, readonly string[]>;
}

function locate(path: KeyPath, hints: IssueHints): string {
  for (let n = path.length; n > 0 && hints.envOrigins; n--) {
    const origin = hints.envOrigins.get(formatPath(path.slice(0, n)));
    if (origin !== undefined) return ` (set by ${origin})`;
  }
  const line = hints.lineOf?.(path);
  return line !== undefined ? ` (line ${line})` : '';
}

/** One line per problem, in file order: the key path, where it is, what was expected and what was found. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], doc: unknown, hints: IssueHints = {}): string {
  const lines = issues.flatMap((iss): { path: KeyPath; text: string }[] => {
    if (iss.code === 'unrecognized_keys') {
      const known = hints.knownKeys?.get(formatPath(iss.path));
      return iss.keys.map((k) => {
        const hint = known ? closest(k, known) : undefined;
        const msg = iss.message.startsWith('unknown key') ? iss.message : `unknown key; ${iss.message}`;
        return { path: [...iss.path, k], text: hint !== undefined ? msg.replace(/^unknown key/, `unknown key (did you mean "${hint}"?)`) : msg };
      });
    }
    const found = valueAt(doc, iss.path);
    // The found value is said once: a schema message that already quotes it, a missing key and a bad key name need no "got".
    const got =
      iss.code === 'invalid_key' || found === undefined || (iss.code === 'custom' && iss.message.includes(describe(found)) && !isSecretPath(iss.path))
        ? ''
        : `, got ${describeAt(iss.path, found)}`;
    // A message of the schema's own that quotes a secret (a refinement's) keeps its sentence, not the secret.
    const message = isSecretPath(iss.path) && typeof found === 'string' && found.length > 0 ? iss.message.split(found).join('[redacted]') : iss.message;
    return [{ path: iss.path, text: `${message}${got}` }];
  });
  // Top to bottom, as a person fixes the file; keys set only by the environment come last.
  const lineOf = (path: KeyPath) => (locate(path, { envOrigins: hints.envOrigins }) === '' ? hints.lineOf?.(path) : undefined) ?? Infinity;
  return lines
    .map((l, i) => ({ ...l, i, line: lineOf(l.path) }))
    .sort((a, b) => a.line - b.line || a.i - b.i)
    .map((l) => `  - ${formatPath(l.path)}${locate(l.path, hints)}: ${l.text}`)
    .join('\n');
}

function invalid(origin: string, issues: readonly z.core.$ZodIssue[], doc: unknown, hints: IssueHints): YieldwatchError {
  const n = issues.reduce((sum, i) => sum + (i.code === 'unrecognized_keys' ? i.keys.length : 1), 0);
  return new YieldwatchError(
    'YW_ERR_CONFIG_INVALID',
    `Invalid configuration in ${origin} (${n} problem${n === 1 ? '' : 's'}; ${REFERENCE_HINT}):\n${formatIssues(issues, doc, hints)}`,
  );
}

/** Validates a parsed config document; throws a YieldwatchError naming every bad key. */
export function validateConfig(doc: unknown, origin = 'config', hints: Omit<IssueHints, 'knownKeys'> = {}): Config {
  const knownKeys = new Map<string, readonly string[]>();
  const res = configSchema.safeParse(doc, { error: configErrorMap(knownKeys) });
  if (!res.success) throw invalid(origin, res.error.issues, doc, { ...hints, knownKeys });
  return res.data;
}

/** A loaded config with the folders its relative paths resolve against. */
export interface LoadedConfig {
  config: Config;
  /** Folder relative paths in the config are resolved against. */
  baseDir: string;
  /** Absolute folder of the local store. */
  dataDir: string;
  /** `version` of the material library file named by `materialLibrary`, when it has one. */
  materialLibraryVersion?: string;
}

interface YamlFile {
  value: unknown;
  lineOf: (path: KeyPath) => number | undefined;
}

function readYaml(file: string, what: string): YamlFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new YieldwatchError('YW_ERR_CONFIG_READ', `Cannot read ${what} ${file}: ${(err as Error).message}`, { cause: err });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const err = doc.errors[0];
  if (err !== undefined) {
    const where = err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
    // yaml's first message line repeats the position and ends with a code frame; keep the sentence only.
    const reason = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
    throw new YieldwatchError('YW_ERR_CONFIG_READ', `${file} is not valid YAML${where}: ${reason}.`, { cause: err });
  }
  const lineAt = (node: unknown): number | undefined => {
    const range = (node as { range?: [number, number, number] } | null)?.range;
    return range ? lines.linePos(range[0]).line : undefined;
  };
  const lineOf = (path: KeyPath): number | undefined => {
    let node: unknown = doc.contents;
    let line = lineAt(node);
    for (const seg of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => String(isScalar(p.key) ? p.key.value : p.key) === String(seg));
        if (pair === undefined) break;
        line = lineAt(pair.key) ?? line;
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        const item = node.items[seg];
        if (item === undefined) break;
        line = lineAt(item) ?? line;
        node = item;
      } else {
        break;
      }
    }
    return line;
  };
  return { value: doc.toJS() ?? {}, lineOf };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Loads a config file: YAML → `${ENV}` substitution → `YIELDWATCH_*` overrides → material library → schema. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const baseDir = dirname(resolve(file));
  const { value: parsed, lineOf } = readYaml(file, 'the configuration file');
  if (!isPlainObject(parsed)) {
    throw new YieldwatchError(
      'YW_ERR_CONFIG_INVALID',
      `Invalid configuration in ${file} (1 problem; ${REFERENCE_HINT}):\n  - (root): expected a mapping of keys, got ${describeAt([], parsed)}`,
    );
  }
  const missing: { path: (string | number)[]; name: string }[] = [];
  const substituted = substitute(parsed, env, [], (path, name) => missing.push({ path, name }));
  const envOrigins = new Map<string, string>();
  const doc = applyEnvOverrides(substituted as Record<string, unknown>, env, envOrigins);
  const hints: Omit<IssueHints, 'knownKeys'> = { lineOf, envOrigins };
  // A placeholder is only an error if no YIELDWATCH_* override replaced its key: setting
  // YIELDWATCH_SOURCES__0__PASSWORD must be enough even when the file says ${MQTT_PASSWORD}.
  const unresolved = missing.find((m) => locate(m.path, { envOrigins }) === '');
  if (unresolved !== undefined) {
    const line = lineOf(unresolved.path);
    throw missingEnv(unresolved.path, unresolved.name, line !== undefined ? ` (${file}, line ${line})` : ` (${file})`);
  }

  let materialLibraryVersion: string | undefined;
  const libPath = doc.materialLibrary;
  if (typeof libPath === 'string') {
    const libFile = isAbsolute(libPath) ? libPath : resolve(baseDir, libPath);
    const lib = readYaml(libFile, `the material library (materialLibrary${locate(['materialLibrary'], hints)})`);
    const knownKeys = new Map<string, readonly string[]>();
    const res = materialLibrarySchema.safeParse(lib.value, { error: configErrorMap(knownKeys) });
    if (!res.success) {
      const issues = res.error.issues;
      const n = issues.length;
      throw new YieldwatchError(
        'YW_ERR_CONFIG_INVALID',
        `Invalid material library ${libFile} (${n} problem${n === 1 ? '' : 's'}; ${REFERENCE_HINT}):\n` +
          formatIssues(issues, lib.value, { lineOf: lib.lineOf, knownKeys }),
      );
    }
    materialLibraryVersion = res.data.version;
    // The raw entries are merged, not the parsed ones, so the config schema applies defaults once, after the merge.
    const libMaterials = isPlainObject(lib.value) && isPlainObject(lib.value.materials) ? lib.value.materials : {};
    const own = doc.materials ?? {};
    if (isPlainObject(own)) {
      const merged: Record<string, unknown> = { ...libMaterials };
      for (const [name, m] of Object.entries(own)) {
        const base = libMaterials[name];
        merged[name] = isPlainObject(base) && isPlainObject(m) ? { ...base, ...m } : m;
      }
      doc.materials = merged;
    }
    delete doc.materialLibrary;
  }

  const config = validateConfig(doc, file, hints);
  const dataDir = isAbsolute(config.agent.dataDir) ? config.agent.dataDir : resolve(baseDir, config.agent.dataDir);
  return materialLibraryVersion !== undefined ? { config, baseDir, dataDir, materialLibraryVersion } : { config, baseDir, dataDir };
}

/**
 * Only the `demo:` section of a config file, for `yieldwatch simulate`: the simulators need
 * nothing else, and the rest of the file may name secrets (`${MQTT_PASSWORD}` of the agent's
 * source) that the simulators' container does not have. `${VAR}` in the section is filled as usual.
 */
export function loadDemoSection(file: string, env: NodeJS.ProcessEnv = process.env): SimulatorConfig {
  const { value: parsed, lineOf } = readYaml(file, 'the configuration file');
  const section = isPlainObject(parsed) ? parsed.demo : undefined;
  if (section === undefined) {
    throw new YieldwatchError('YW_ERR_CONFIG_INVALID', `Invalid configuration in ${file} (1 problem; ${REFERENCE_HINT}):\n  - demo: required key is missing; expected the simulated machines (a \`demo:\` section)`);
  }
  const doc = substituteEnv(section, env, ['demo']);
  const knownKeys = new Map<string, readonly string[]>();
  const res = simulatorSchema.safeParse(doc, { error: configErrorMap(knownKeys) });
  if (res.success) return res.data;
  const issues = res.error.issues.map((i) => ({ ...i, path: ['demo', ...i.path] }));
  const prefixed = new Map([...knownKeys].map(([k, v]) => [k === '(root)' ? 'demo' : `demo${k.startsWith('[') ? '' : '.'}${k}`, v]));
  throw invalid(file, issues, { demo: doc }, { lineOf, knownKeys: prefixed });
}
