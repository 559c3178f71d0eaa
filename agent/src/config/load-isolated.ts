import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { YieldwatchError, type ErrorCode } from '../core/errors.js';
import type { LoadedConfig } from './load.js';
import type { Config } from './schema.js';

/**
 * Config loading in a short-lived worker thread. The schema library builds ~400 schema objects
 * of ~25 KB each (zod 4 puts every method on every instance) and the YAML parser comes on top:
 * about 12 MB that a running agent never needs again, on a device that may have 1 GB. In a
 * worker they are freed when it exits; the agent gets the plain validated config (it is plain
 * data: structured clone keeps it whole), and errors come back as the same YieldwatchError.
 */
function run<T>(data: { file?: string; env?: NodeJS.ProcessEnv; doc?: unknown }): Promise<T> {
  // Beside this module: load-worker.js when compiled; load-worker.ts when run from the sources
  // under tsx, whose loader a worker does not inherit, so the worker registers it first.
  const fromSources = import.meta.url.endsWith('.ts');
  const url = new URL(`./load-worker.${fromSources ? 'ts' : 'js'}`, import.meta.url);
  // tsx is resolved from here, not from the working directory the agent was started in.
  const tsx = fromSources ? pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href : '';
  const worker = fromSources
    ? new Worker(`import(${JSON.stringify(tsx)}).then((t) => { t.register(); return import(${JSON.stringify(url.href)}); });`, { eval: true, workerData: data })
    : new Worker(url, { workerData: data });
  return new Promise<T>((resolve, reject) => {
    worker.once('message', (m: { ok: true; value: T } | { ok: false; error: { message: string; stack?: string; code?: ErrorCode } }) => {
      if (m.ok) resolve(m.value);
      else if (m.error.code !== undefined) reject(new YieldwatchError(m.error.code, m.error.message));
      else reject(Object.assign(new Error(m.error.message), { stack: m.error.stack }));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`The config loader stopped (exit code ${code}) without an answer.`)));
  });
}

/** `loadConfig` in a worker: the same result and the same errors, without keeping the schema code. */
export function loadConfigIsolated(file: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  return run<LoadedConfig>({ file, env: { ...env } });
}

/** `validateConfig` of an object in a worker. */
export async function validateConfigIsolated(doc: unknown): Promise<Config> {
  return (await run<{ config: Config }>({ doc })).config;
}
