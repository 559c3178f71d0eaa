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
  /** Human-readable output; default: when stdout is a terminal. */
  pretty?: boolean;
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
  if (s.destination) return pino(opts, s.destination as DestinationStream);
  const pretty = s.pretty ?? Boolean(process.stdout.isTTY);
  if (pretty) {
    return pino({ ...opts, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname,name' } } });
  }
  return pino(opts);
}
