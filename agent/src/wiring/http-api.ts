import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ApiDeps } from '../api/deps.js';
import { Sessions } from '../api/auth/sessions.js';
import type { UserFile } from '../api/auth/users.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../core/clock.js';
import { YieldwatchError } from '../core/errors.js';
import { isLoopbackHost } from '../core/loopback.js';

/** Who may use the API, from the config's `api` keys: the same for the agent and the central dashboard. */
export function authDeps(config: Config, users: UserFile, clock: Clock, logger: Logger): Pick<ApiDeps, 'tokens' | 'users' | 'sessions' | 'trustProxy' | 'alwaysLogin' | 'logger'> {
  return {
    tokens: config.api.tokens,
    users,
    sessions: new Sessions(config.api.sessionTtl, () => clock.now()),
    trustProxy: config.api.trustProxy,
    alwaysLogin: !isLoopbackHost(config.api.host) || users.count() > 0,
    logger,
  };
}

/** What an agent's open API would give anyone, for YW_ERR_API_OPEN. */
export const AGENT_API_EXPOSES = 'the KPIs, acknowledge alerts and record scrap';

/**
 * YW_ERR_API_OPEN naming `api.host` when the API would listen where other machines reach it with
 * no user and no token, else undefined. `start` refuses to listen then, and `check-config` says so
 * beforehand, from the same users file.
 */
export function openApiError(config: Config, users: Pick<UserFile, 'count'>, what: string): YieldwatchError | undefined {
  const { enabled, host, tokens } = config.api;
  if (!enabled || isLoopbackHost(host) || tokens.length > 0 || users.count() > 0) return undefined;
  return new YieldwatchError(
    'YW_ERR_API_OPEN',
    `api.host is "${host}", which other machines reach, but the API has no users and no api.tokens: anyone could read ${what}. Add a user ("yieldwatch user add <name> --role admin --config <file>") or an api.tokens entry, or set api.host to 127.0.0.1.`,
  );
}

/**
 * Listens on `api.host`/`api.port`; returns the URL. An open API is for the machine itself: where
 * other machines reach it, it needs a user or a token, else YW_ERR_API_OPEN names the key.
 */
export async function listenApi(app: FastifyInstance, config: Config, users: UserFile, what: string): Promise<string> {
  const { host, port } = config.api;
  const open = openApiError(config, users, what);
  if (open !== undefined) throw open;
  try {
    return await app.listen({ host, port });
  } catch (err) {
    // A part of the app that failed on its own (the dashboard's build) says so itself.
    if (err instanceof YieldwatchError) throw err;
    throw new YieldwatchError('YW_ERR_API_LISTEN', `The HTTP API cannot listen on ${host}:${port}: ${(err as Error).message}. Set api.port (or YIELDWATCH_API__PORT) to a free port.`, { cause: err });
  }
}
