import { parentPort, workerData } from 'node:worker_threads';
import { YieldwatchError } from '../core/errors.js';
import { loadConfig, validateConfig, type LoadedConfig } from './load.js';

/** The worker side of load-isolated.ts: validate, post the plain result or the error, exit. */
const job = workerData as { file?: string; env?: NodeJS.ProcessEnv; doc?: unknown };
try {
  const value: LoadedConfig | { config: unknown } = job.file !== undefined ? loadConfig(job.file, job.env ?? {}) : { config: validateConfig(job.doc) };
  parentPort!.postMessage({ ok: true, value });
} catch (err) {
  const e = err as Error;
  parentPort!.postMessage({ ok: false, error: { message: e.message, stack: e.stack, code: err instanceof YieldwatchError ? err.code : undefined } });
}
