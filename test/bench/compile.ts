/**
 * Compiles the bench's child processes and every agent file they reach to plain JavaScript in a
 * temp folder, so the consumers run as production does (`npm run build`, then `node`), without
 * tsx's loader thread and on-the-fly compilation in the measured processes. The files are
 * transpiled one by one (not bundled), so CPU profiles keep the source file names.
 *
 * Run on its own (`node --import tsx test/bench/compile.ts`) it prints the folder of a compiled
 * tree and leaves it in place, to try a change there and measure it with `--compiled-dir`.
 */
import { build } from 'esbuild';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The bench's child processes, relative to the repository root. */
export const CHILD_ENTRIES: readonly string[] = [
  'consumer-bare.ts',
  'consumer-yieldwatch.ts',
  'load.ts',
  'microbench.ts',
  'agent-config.ts',
  'opcua-sim.ts',
  'consumer-opcua.ts',
]
  .map((f) => `test/bench/${f}`)
  // Reached through `new URL()`, not an import: the config loader's worker.
  .concat('agent/src/config/load-worker.ts');

export interface CompiledTree {
  /** Root of the compiled tree: `<dir>/test/bench/*.js`, `<dir>/agent/src/**\/*.js`. */
  dir: string;
  remove(): void;
}

/** Compiles `entries` (paths relative to `root`) and everything they import from the repository. */
export async function compileTree(root: string, entries: readonly string[]): Promise<CompiledTree> {
  const dir = mkdtempSync(join(tmpdir(), 'yw-bench-js-'));
  const remove = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    // Pass 1 only finds the files the entries reach (packages stay outside).
    const scan = await build({
      absWorkingDir: root,
      entryPoints: [...entries],
      bundle: true,
      packages: 'external',
      platform: 'node',
      format: 'esm',
      outdir: dir,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const files = Object.keys(scan.metafile.inputs).filter((f) => f.endsWith('.ts'));
    // Pass 2 transpiles each of them to its own .js file, keeping the folder layout.
    await build({
      absWorkingDir: root,
      entryPoints: files.map((f) => resolve(root, f)),
      outbase: root,
      outdir: dir,
      bundle: false,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      logLevel: 'silent',
    });
    writeFileSync(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');
    // Packages resolve from the compiled files as from the sources.
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'), 'dir');
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, remove };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const tree = await compileTree(resolve(fileURLToPath(new URL('.', import.meta.url)), '../..'), CHILD_ENTRIES);
  console.log(tree.dir);
}
