import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { sinkSchema, sourceSchema } from '../agent/src/config/schema.js';
import { ERROR_CODES } from '../agent/src/core/errors.js';
import { packageRoot } from '../agent/src/core/package-root.js';
import { SINK_TYPES } from '../agent/src/sinks/registry.js';
import { SOURCE_TYPES } from '../agent/src/sources/registry.js';

const ROOT = packageRoot();

/** Each plugin kind: its folder, its registry and the schema a sample entry must pass. */
const KINDS = [
  { kind: 'source', dir: join(ROOT, 'agent', 'src', 'sources'), registry: SOURCE_TYPES as Record<string, { type: string }>, schema: sourceSchema, key: 'sources' },
  { kind: 'sink', dir: join(ROOT, 'agent', 'src', 'sinks'), registry: SINK_TYPES as Record<string, { type: string }>, schema: sinkSchema, key: 'sinks' },
] as const;

for (const { kind, dir, registry, schema, key } of KINDS) {
  const folders = readdirSync(dir).filter((f) => statSync(join(dir, f)).isDirectory());

  describe(`${kind} plugin registry`, () => {
    it(`every ${kind} folder is registered under its folder name, and every registration has a folder`, () => {
      expect(Object.keys(registry).sort()).toEqual([...folders].sort());
      for (const [type, def] of Object.entries(registry)) expect(def.type).toBe(type);
    });

    for (const folder of folders) {
      it(`${folder}: has its README, sample config and tests, and the sample validates`, () => {
        for (const f of ['README.md', 'sample.yaml', 'index.ts', 'config.ts', `${folder}.test.ts`]) {
          expect(existsSync(join(dir, folder, f)), `${folder}/${f}`).toBe(true);
        }
        const sample = parse(readFileSync(join(dir, folder, 'sample.yaml'), 'utf8')) as unknown;
        const entries = Array.isArray(sample) ? sample : ((sample as Record<string, unknown[] | undefined>)[key] ?? [sample]);
        expect(entries.length).toBeGreaterThan(0);
        for (const e of entries) {
          const r = schema.safeParse(e);
          expect(r.success, r.success ? '' : JSON.stringify(r.error.issues)).toBe(true);
          expect((e as { type: string }).type).toBe(folder);
        }
      });
    }
  });
}

describe('error codes', () => {
  it('the README table lists exactly the codes of core/errors.ts, with the same text', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `(YW_ERR_[A-Z_]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(rows)).toEqual(ERROR_CODES);
  });
});
