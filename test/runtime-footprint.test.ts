import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../agent/src/core/package-root.js';

const ROOT = packageRoot();
// Static imports that are not type-only: what loads when the module loads. Dynamic import() is lazy.
const IMPORT_RE = /^\s*(?:import|export)\s+(?!type\b)(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]/gm;

/** Every module a file loads at start (ours by path, packages by name), following our own files. */
function loadedAtStart(entry: string): { ours: Set<string>; packages: Map<string, string> } {
  const ours = new Set<string>();
  const packages = new Map<string, string>();
  const todo = [resolve(ROOT, entry)];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (ours.has(file)) continue;
    ours.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT_RE)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
      else if (!spec.startsWith('node:')) packages.set(spec.split('/').slice(0, spec.startsWith('@') ? 2 : 1).join('/'), file.slice(ROOT.length + 1));
    }
  }
  return { ours, packages };
}

describe('what the running agent loads', () => {
  // Schema and YAML code costs ~12 MB that a running agent never needs again: it is loaded only
  // in the short-lived config worker (agent/src/config/load-isolated.ts) and by plugins' schema
  // loaders, which are dynamic imports. A plugin whose definition imported its config.ts
  // statically would break this.
  it('the agent and the CLI load no schema or YAML library at start, and no plugin config schema', () => {
    for (const entry of ['agent/src/agent.ts', 'agent/src/cli.ts']) {
      const { ours, packages } = loadedAtStart(entry);
      expect([...ours].some((f) => f.endsWith(join('sources', 'mqtt', 'index.ts'))), `${entry} reaches the plugins`).toBe(true);
      expect(packages.get('zod'), `${entry} loads zod at start (through ${packages.get('zod')})`).toBeUndefined();
      expect(packages.get('yaml'), `${entry} loads yaml at start (through ${packages.get('yaml')})`).toBeUndefined();
      const schemas = [...ours].filter((f) => /[\\/](sources|sinks)[\\/][^\\/]+[\\/]config\.ts$/.test(f) || f.endsWith(join('config', 'schema.ts')));
      expect(schemas.map((f) => f.slice(ROOT.length + 1))).toEqual([]);
    }
  });

  // exceljs and pdfkit are several MB that only a report in XLSX or PDF needs: render.ts imports
  // each writer with import() when one is asked for.
  it('nothing loads exceljs or pdfkit at start, not even the report renderer; the writers do', () => {
    for (const entry of ['agent/src/agent.ts', 'agent/src/cli.ts', 'agent/src/reports/render.ts']) {
      const { packages } = loadedAtStart(entry);
      expect(packages.get('exceljs'), `${entry} loads exceljs at start (through ${packages.get('exceljs')})`).toBeUndefined();
      expect(packages.get('pdfkit'), `${entry} loads pdfkit at start (through ${packages.get('pdfkit')})`).toBeUndefined();
    }
    expect(loadedAtStart('agent/src/reports/xlsx.ts').packages.has('exceljs')).toBe(true);
    expect(loadedAtStart('agent/src/reports/pdf.ts').packages.has('pdfkit')).toBe(true);
  });

  // fastify with its plugins and the dashboard's bundler (esbuild) are a third of the agent's
  // memory at start (bench: RSS at ready): an agent with api.enabled false must not carry them.
  it('the agent loads the HTTP API and the dashboard bundler only when it starts the API; the dashboard loads esbuild only to build', () => {
    const { packages } = loadedAtStart('agent/src/agent.ts');
    for (const pkg of ['fastify', '@fastify/swagger-ui', '@fastify/compress', 'esbuild', 'csv-stringify']) {
      expect(packages.get(pkg), `agent.ts loads ${pkg} at start (through ${packages.get(pkg)})`).toBeUndefined();
    }
    expect(loadedAtStart('agent/src/api/app.ts').packages.has('fastify')).toBe(true);
    expect(loadedAtStart('dashboard/server/plugin.ts').packages.has('esbuild')).toBe(false);
  });

  it('the config worker does load the schema with every plugin config (the check above can see it)', () => {
    const { packages } = loadedAtStart('agent/src/config/load-worker.ts');
    expect(packages.has('zod')).toBe(true);
    expect(packages.has('yaml')).toBe(true);
  });
});
