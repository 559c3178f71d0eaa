import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { sourceSchema } from '../agent/src/config/schema.js';
import { ERROR_CODES } from '../agent/src/core/errors.js';
import { packageRoot } from '../agent/src/core/package-root.js';
import { SOURCE_TYPES } from '../agent/src/sources/registry.js';

const ROOT = packageRoot();
const SOURCES = join(ROOT, 'agent', 'src', 'sources');
const folders = readdirSync(SOURCES).filter((f) => statSync(join(SOURCES, f)).isDirectory());

describe('source plugin registry', () => {
  it('every source folder is registered under its folder name, and every registration has a folder', () => {
    expect(Object.keys(SOURCE_TYPES).sort()).toEqual([...folders].sort());
    for (const [type, def] of Object.entries(SOURCE_TYPES)) expect(def.type).toBe(type);
  });

  for (const folder of folders) {
    it(`${folder}: has its README, sample config and tests, and the sample validates`, () => {
      for (const f of ['README.md', 'sample.yaml', 'index.ts', 'config.ts', `${folder}.test.ts`]) {
        expect(existsSync(join(SOURCES, folder, f)), `${folder}/${f}`).toBe(true);
      }
      const sample = parse(readFileSync(join(SOURCES, folder, 'sample.yaml'), 'utf8')) as unknown;
      const entries = Array.isArray(sample) ? sample : ((sample as { sources?: unknown[] }).sources ?? [sample]);
      expect(entries.length).toBeGreaterThan(0);
      for (const e of entries) {
        const r = sourceSchema.safeParse(e);
        expect(r.success, r.success ? '' : JSON.stringify(r.error.issues)).toBe(true);
        expect((e as { type: string }).type).toBe(folder);
      }
    });
  }
});

describe('error codes', () => {
  it('the README table lists exactly the codes of core/errors.ts, with the same text', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const rows = [...readme.matchAll(/^\| `(YW_ERR_[A-Z_]+)` \| (.+) \|$/gm)].map((m) => [m[1], m[2]]);
    expect(Object.fromEntries(rows)).toEqual(ERROR_CODES);
  });
});
