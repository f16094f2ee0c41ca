// pino, JSON to stdout (journald). Secrets never reach a log line: known secret keys are redacted.
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'password',
  '*.password',
  'token',
  '*.token',
  'mqtt.password',
  'key',
  '*.key',
  'authorization',
  '*.authorization',
  'req.headers.authorization',
];

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    { level, base: { svc: 'wardgate' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

export type { Logger };
