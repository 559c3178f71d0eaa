import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

const DATA_DIR_VAR = 'YIELDWATCH_AGENT__DATA_DIR';

/**
 * The demo's folder in the user's state folder (XDG Base Directory): an installed package is
 * often not writable, and a store inside it would vanish with the next upgrade.
 */
export function demoStateDir(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_STATE_HOME;
  // The specification has a relative XDG_STATE_HOME ignored.
  const base = xdg !== undefined && xdg !== '' && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), '.local', 'state');
  return join(base, 'yieldwatch', 'demo');
}

/** Whether `name` overrides agent.dataDir, spelt any way the config loader accepts (YIELDWATCH_AGENT__DATADIR too). */
function setsDataDir(name: string): boolean {
  if (!name.startsWith('YIELDWATCH_')) return false;
  const segs = name.slice('YIELDWATCH_'.length).split('__').filter(Boolean).map((s) => s.toLowerCase().replace(/_/g, ''));
  return segs.length === 2 && segs[0] === 'agent' && segs[1] === 'datadir';
}

/**
 * The environment `yieldwatch demo` loads its config with, deciding where the demo writes:
 * `--data-dir DIR` first; then agent.dataDir as the environment or a config named with
 * `--config` sets it (as for any config); the shipped demo config otherwise uses the user's
 * state folder, never the package's own folder.
 */
export function demoEnv(opts: { dataDir: string | undefined; config: string | undefined; cwd: string }, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (opts.dataDir !== undefined) {
    const rest = Object.fromEntries(Object.entries(env).filter(([k]) => !setsDataDir(k)));
    return { ...rest, [DATA_DIR_VAR]: resolve(opts.cwd, opts.dataDir) };
  }
  if (opts.config !== undefined || Object.keys(env).some(setsDataDir)) return env;
  return { ...env, [DATA_DIR_VAR]: demoStateDir(env) };
}
