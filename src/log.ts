// The pino root logger. Everything logs through children of this one so that redaction
// applies everywhere: private keys and whole PEMs must never reach a log line.
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

const SECRET_KEYS = ['secret', 'password', 'key', 'keyPem', 'privateKey', 'certificatePem', 'pem'];
export const REDACT_PATHS = SECRET_KEYS.flatMap((k) => [k, `*.${k}`, `*.*.${k}`]);

const PEM_BLOCK = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?(-----END [A-Z0-9 ]+-----|$)/g;

/**
 * Whatever a remote party sends can end up inside a logged string (an error text, a
 * reason): PEM blocks — keys above all — are cut out of every string, however deep.
 */
export function scrubPem(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.includes('-----BEGIN') ? value.replace(PEM_BLOCK, '[pem redacted]') : value;
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubPem(v, depth + 1));
  if (value instanceof Error) return { type: value.name, message: scrubPem(value.message, depth + 1), stack: scrubPem(value.stack, depth + 1) };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubPem(v, depth + 1);
  return out;
}

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
      formatters: { log: (obj) => scrubPem(obj) as Record<string, unknown> },
      hooks: {
        logMethod(args, method) {
          if (typeof args[args.length - 1] === 'string') args[args.length - 1] = scrubPem(args[args.length - 1]) as string;
          return method.apply(this, args);
        },
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}

/** A logger that discards everything: for tests and CLI tools that print their own lines. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

const AUDIT_TAP = Symbol('grid.auditTap');
type AuditTap = (event: string, fields: Readonly<Record<string, unknown>>) => void;

/**
 * A child of `log` whose descendants (pino children inherit by prototype) hand every audit
 * event to `tap` as well, whatever the log level: how the metrics count decisions without
 * the core knowing of them.
 */
export function tapAudit(log: Logger, tap: AuditTap): Logger {
  const child = log.child({});
  (child as unknown as Record<symbol, AuditTap>)[AUDIT_TAP] = tap;
  return child;
}

/** Audit events share one shape so they can be filtered with `jq 'select(.audit)'`. */
export function audit(log: Logger, event: string, fields: Record<string, unknown>, level: 'info' | 'debug' | 'warn' = 'info'): void {
  log[level]({ audit: event, ...fields }, event);
  const tap = (log as unknown as Record<symbol, AuditTap | undefined>)[AUDIT_TAP];
  if (tap) {
    try {
      tap(event, fields);
    } catch {
      // a metrics failure never stops the audited operation
    }
  }
}
