import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { YieldwatchError } from '../../agent/src/core/errors.js';
import { packageRoot } from '../../agent/src/core/package-root.js';

/** One built asset: its bytes, its type and a strong ETag. */
export interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** The dashboard's assets by URL path under `/assets/`. */
export type Assets = ReadonlyMap<string, Asset>;

const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

let built: Promise<Assets> | undefined;

/**
 * Bundles the UI (`dashboard/src/main.tsx`: Preact, uPlot and our code, one script and one style
 * sheet, minified) in memory with esbuild, once per process: `npm start` needs no build step of
 * its own, and nothing is loaded from another host.
 */
export function dashboardAssets(): Promise<Assets> {
  // esbuild is loaded when the dashboard is first asked for, not with the API: a process that never serves it does not carry the bundler.
  built ??= import('esbuild').then(({ build }) => build({
    entryPoints: { app: join(packageRoot(), 'dashboard', 'src', 'main.tsx') },
    bundle: true,
    minify: true,
    format: 'esm',
    // Browsers of the last five years: an old shop-floor PC or tablet still runs it.
    target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir: 'assets',
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  })).then((r) => {
    const out = new Map<string, Asset>();
    for (const f of r.outputFiles) {
      const name = f.path.slice(f.path.lastIndexOf('/') + 1);
      const ext = name.slice(name.lastIndexOf('.') + 1);
      const body = Buffer.from(f.contents);
      out.set(name, { body, type: TYPES[ext] ?? 'application/octet-stream', etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });
    }
    return out;
  }, (err: Error) => {
    throw new YieldwatchError('YW_ERR_DASHBOARD_BUILD', `The dashboard could not be built from dashboard/src: ${err.message}`, { cause: err });
  });
  return built;
}
