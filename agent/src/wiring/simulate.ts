import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { YieldwatchError } from '../core/errors.js';
import type { SimulatorConfig } from '../simulator/config.js';
import { startSimulator, type Simulator } from '../simulator/publisher.js';

/** What `yieldwatch simulate` was asked for on its command line. */
export interface SimulateOptions {
  /** Broker URL; default the `demo.broker` address, where `yieldwatch demo` runs its own broker. */
  broker?: string | undefined;
  username?: string | undefined;
  /** A file holding the broker password (a container secret), so it is never on a command line. */
  passwordFile?: string | undefined;
}

/**
 * The simulated machines of a config's `demo:` section, publishing to a broker of their own
 * (Mosquitto in the compose stack) instead of the demo's embedded one: what a plant's machines
 * would send, for trying an agent, a broker and a dashboard together.
 */
export function runSimulate(demo: SimulatorConfig, opts: SimulateOptions, logger: Logger): { url: string; simulator: Simulator } {
  const host = demo.broker.host.includes(':') ? `[${demo.broker.host}]` : demo.broker.host;
  const url = opts.broker ?? `mqtt://${host}:${demo.broker.port}`;
  let password: string | undefined;
  if (opts.passwordFile !== undefined) {
    try {
      // As with VAR_FILE in a config: one trailing newline is the editor's, not the password's.
      password = readFileSync(opts.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new YieldwatchError('YW_ERR_CONFIG_READ', `Cannot read the broker password file ${opts.passwordFile}: ${(err as Error).message}`, { cause: err });
    }
  }
  const simulator = startSimulator(demo, {
    url,
    logger,
    ...(opts.username !== undefined ? { username: opts.username } : {}),
    ...(password !== undefined ? { password } : {}),
  });
  return { url, simulator };
}
