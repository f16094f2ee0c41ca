// The runtime log level (issue 12): set from the page or a `log.level` command, never written to
// the config, so a restart goes back to `log.level` there. Child loggers follow the root's level
// (pino children read it through the prototype unless given their own).
import type { Logger } from 'pino';
import { WardgateError } from '../errors.js';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function setLogLevel(log: Logger, level: string, by = 'unknown'): { from: string; to: string } {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new WardgateError('WG_ERR_CONFIG_INVALID', `log level must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const from = log.level;
  log.level = level;
  // Said at warn so that it is seen whatever the new level (a change to `error` is logged too).
  log.warn({ from, to: level, by }, 'log level changed (until restart)');
  return { from, to: level };
}
