/**
 * Every error code the agent reports, in one place (fastify's lib/errors.js is the model).
 * The docs table in README.md is checked against this list by a test.
 */
export const ERROR_CODES = {
  YW_ERR_CONFIG_INVALID: 'The configuration does not match the schema.',
  YW_ERR_CONFIG_READ: 'The configuration file could not be read or is not valid YAML.',
  YW_ERR_CONFIG_ENV: 'A ${VAR} placeholder names an environment variable that is not set, or a VAR_FILE that cannot be read.',
  YW_ERR_STORE_OPEN: 'The local store could not be opened or migrated.',
  YW_ERR_STORE_VERSION: 'The local store was written by a newer yieldwatch.',
  YW_ERR_BACKUP_ARCHIVE: 'The backup file is not a yieldwatch backup, or it is damaged or truncated.',
  YW_ERR_RESTORE_TARGET: 'The folders or file a restore would write to are not empty; nothing was changed.',
  YW_ERR_REPLAY_INPUT: 'A line of the replay input is not a recorded message.',
  YW_ERR_API_LISTEN: 'The HTTP API could not listen on its address.',
  YW_ERR_API_OPEN: 'The HTTP API would listen where other machines reach it without any user or token.',
  YW_ERR_OPCUA_TRUST: 'An OPC UA server certificate could not be read or trusted, or its fingerprint did not match.',
  YW_ERR_DASHBOARD_BUILD: 'The dashboard could not be built from its sources (dashboard/src).',
  YW_ERR_REPORT_REQUEST: 'A report was asked for with a period or scope that does not exist.',
  YW_ERR_REPORT_BUSY: 'More reports were asked for at once than wait their turn; the API answers 503 with Retry-After.',
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

/** An error meant for a person: `message` is the plain sentence, `code` the stable identifier. */
export class YieldwatchError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'YieldwatchError';
  }
}
