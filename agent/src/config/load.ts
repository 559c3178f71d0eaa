import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { YieldwatchError } from '../core/errors.js';
import { configSchema, materialSchema, type Config } from './schema.js';

const ENV_PREFIX = 'YIELDWATCH_';
const ENV_RE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${VAR}` and `${VAR:-default}` in every string of a parsed YAML document. */
export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_RE, (_m, name: string, def: string | undefined) => {
      const v = env[name];
      if (v !== undefined) return v;
      if (def !== undefined) return def;
      throw new YieldwatchError(
        'YW_ERR_CONFIG_ENV',
        `Config key ${formatPath(path)} uses \${${name}}, but the environment variable ${name} is not set.`,
      );
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, [...path, i]));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, [...path, k])]));
  }
  return value;
}

/**
 * Applies `YIELDWATCH_A__B__0__C=value` overrides: the path's segments are matched to existing
 * keys without regard to case (`YIELDWATCH_SOURCES__0__PASSWORD` sets `sources[0].password`);
 * the value is read as a YAML scalar, so `8081` is a number and `true` a boolean.
 */
export function applyEnvOverrides(doc: Record<string, unknown>, env: NodeJS.ProcessEnv): Record<string, unknown> {
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const segs = name.slice(ENV_PREFIX.length).split('__').filter(Boolean);
    if (segs.length === 0) continue;
    let node: Record<string, unknown> | unknown[] = doc;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const last = i === segs.length - 1;
      const key: string | number = Array.isArray(node) ? Number(seg) : matchKey(node, seg);
      if (last) {
        (node as Record<string | number, unknown>)[key] = parseScalar(raw);
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

function formatPath(path: readonly PropertyKey[]): string {
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

function valueAt(doc: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = doc;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/** One line per problem: the key path, what was found and what was expected. */
export function formatIssues(issues: readonly z.core.$ZodIssue[], doc: unknown): string {
  return issues
    .flatMap((iss) => {
      if (iss.code === 'unrecognized_keys') {
        return iss.keys.map((k) => `  - ${formatPath([...iss.path, k])}: unknown key (check the spelling; see config/REFERENCE.md)`);
      }
      if (iss.code === 'invalid_union' && 'errors' in iss && iss.errors.length > 0) {
        const found = valueAt(doc, iss.path);
        return [`  - ${formatPath(iss.path)}: ${iss.message}, got ${describe(found)}`];
      }
      const found = valueAt(doc, iss.path);
      return [`  - ${formatPath(iss.path)}: ${iss.message}${iss.code === 'custom' ? '' : `, got ${describe(found)}`}`];
    })
    .join('\n');
}

/** Validates a parsed config document; throws a YieldwatchError naming every bad key. */
export function validateConfig(doc: unknown, origin = 'config'): Config {
  const res = configSchema.safeParse(doc);
  if (!res.success) {
    throw new YieldwatchError('YW_ERR_CONFIG_INVALID', `Invalid configuration in ${origin}:\n${formatIssues(res.error.issues, doc)}`);
  }
  return res.data;
}

export interface LoadedConfig {
  config: Config;
  /** Folder relative paths in the config are resolved against. */
  baseDir: string;
  /** Absolute folder of the local store. */
  dataDir: string;
}

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new YieldwatchError('YW_ERR_CONFIG_READ', `Cannot read the configuration file ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    return parseYaml(text) ?? {};
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
    throw new YieldwatchError('YW_ERR_CONFIG_READ', `${file} is not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
}

/** Loads a config file: YAML → `${ENV}` substitution → `YIELDWATCH_*` overrides → material library → schema. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const baseDir = dirname(resolve(file));
  const parsed = readYaml(file);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new YieldwatchError('YW_ERR_CONFIG_INVALID', `Invalid configuration in ${file}:\n  - (root): expected a mapping of keys, got ${describe(parsed)}`);
  }
  const doc = applyEnvOverrides(substituteEnv(parsed, env) as Record<string, unknown>, env);
  const libPath = typeof doc.materialLibrary === 'string' ? doc.materialLibrary : undefined;
  if (libPath !== undefined) {
    const libFile = isAbsolute(libPath) ? libPath : resolve(baseDir, libPath);
    const lib = readYaml(libFile) as { materials?: unknown } | null;
    const libMaterials = lib && typeof lib === 'object' && lib.materials && typeof lib.materials === 'object' ? lib.materials : {};
    for (const [name, m] of Object.entries(libMaterials)) {
      const r = materialSchema.safeParse(m);
      if (!r.success) {
        throw new YieldwatchError('YW_ERR_CONFIG_INVALID', `Invalid material library ${libFile}:\n${formatIssues(r.error.issues.map((i) => ({ ...i, path: ['materials', name, ...i.path] })), lib)}`);
      }
    }
    doc.materials = { ...(libMaterials as Record<string, unknown>), ...((doc.materials as Record<string, unknown> | undefined) ?? {}) };
    delete doc.materialLibrary;
  }
  const config = validateConfig(doc, file);
  const dataDir = isAbsolute(config.agent.dataDir) ? config.agent.dataDir : resolve(baseDir, config.agent.dataDir);
  return { config, baseDir, dataDir };
}
