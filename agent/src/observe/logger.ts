import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

/** Keys whose values never reach a log line. */
// pino's redaction wildcards match one level each, so each secret key is listed at the depths
// log objects reach (up to three levels below the line).
const SECRET_KEYS = ['password', 'token', 'secret', 'authorization'];
export const REDACT_PATHS = [
  ...SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`, `*.*.*.${k}`]),
  'config.sources[*].password',
  'config.sources[*].tls.key',
];

export interface LoggerSettings {
  level: string;
  /** Human-readable output; default: when stdout is a terminal (with a `destination`: only when set). */
  pretty?: boolean;
  /** Pretty output shows each line's message only, not its fields (a command's terminal, where a progress line says the rest). */
  messagesOnly?: boolean;
  /** Destination stream (tests inject one to assert on real output). */
  destination?: NodeJS.WritableStream;
}

/** The agent's root logger: pino JSON with secrets redacted, pretty on a terminal. */
export function createLogger(s: LoggerSettings): Logger {
  const opts: LoggerOptions = {
    level: s.level,
    base: { name: 'yieldwatch' },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  const prettyOptions = { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name' };
  if (s.destination) {
    if (s.pretty !== true) return pino(opts, s.destination as DestinationStream);
    // In this thread, synchronously: the caller's stream sees each line as it is logged. Loaded only here (it is not small).
    const pretty = createRequire(import.meta.url)('pino-pretty') as (o: object) => DestinationStream;
    return pino(opts, pretty({ ...prettyOptions, destination: s.destination, sync: true, hideObject: s.messagesOnly === true }));
  }
  const pretty = s.pretty ?? Boolean(process.stdout.isTTY);
  if (pretty) {
    return pino({ ...opts, transport: { target: 'pino-pretty', options: prettyOptions } });
  }
  return pino(opts);
}
