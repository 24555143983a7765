// The pino root logger. Everything logs through children of this one so that redaction
// applies everywhere: private keys and whole PEMs must never reach a log line.
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'secret', '*.secret', 'password', '*.password',
  'key', '*.key', 'keyPem', '*.keyPem', 'privateKey', '*.privateKey',
  'certificatePem', '*.certificatePem', 'pem', '*.pem',
];

export interface LogOptions {
  level?: string;
  destination?: DestinationStream;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const level = opts.level ?? process.env.GRID_LOG_LEVEL ?? 'info';
  return pino(
    {
      level,
      base: { svc: 'grid-controller' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that discards everything: for tests and CLI tools that print their own lines. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Audit events share one shape so they can be filtered with `jq 'select(.audit)'`. */
export function audit(log: Logger, event: string, fields: Record<string, unknown>, level: 'info' | 'debug' | 'warn' = 'info'): void {
  log[level]({ audit: event, ...fields }, event);
}
