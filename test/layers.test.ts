import { ESLint } from 'eslint';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../agent/src/core/package-root.js';

const ROOT = packageRoot();

/** Lints `text` as if it were the file `path` of the repository, with the repository's own ESLint config. */
async function layerErrors(path: string, text: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: ROOT });
  const [result] = await eslint.lintText(text, { filePath: join(ROOT, path) });
  return result!.messages.filter((m) => m.ruleId === 'boundaries/element-types').map((m) => m.message);
}

// The layer rule of agent/ARCHITECTURE.md is enforced by the lint; these pin that it stays so.
describe('layers import downwards only', () => {
  it('a backwards import fails the lint, a type-only one too', async () => {
    expect(await layerErrors('agent/src/core/layer-probe.ts', "import { Store } from '../store/store.js';\nexport const s = Store;\n")).toEqual([
      expect.stringContaining('core may not import store'),
    ]);
    expect(await layerErrors('agent/src/kpi/layer-probe.ts', "import type { Pipeline } from '../pipeline/pipeline.js';\nexport type P = Pipeline;\n")).toEqual([
      expect.stringContaining('kpi may not import pipeline'),
    ]);
    expect(await layerErrors('agent/src/sinks/layer-probe.ts', "import type { Config } from '../config/schema.js';\nexport type C = Config;\n")).toEqual([
      expect.stringContaining('sinks may not import config'),
    ]);
  }, 60_000);

  it('a downward import passes', async () => {
    expect(await layerErrors('agent/src/pipeline/layer-probe.ts', "import type { Store } from '../store/store.js';\nimport type { Sample } from '../core/sample.js';\nexport type X = [Store, Sample];\n")).toEqual([]);
    expect(await layerErrors('agent/src/config/layer-probe.ts', "import { SOURCE_TYPES } from '../sources/registry.js';\nexport const s = SOURCE_TYPES;\n")).toEqual([]);
  }, 60_000);
});
