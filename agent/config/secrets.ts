// Secrets come from files or environment variables so the YAML can be world-readable.
// `secretProblems` is what check-config and `run` ask before anything starts: can every secret and
// every TLS file the config names be read? It never returns or prints a secret's value.
import { accessSync, closeSync, constants, fstatSync, openSync } from 'node:fs';
import { WardgateError } from '../errors.js';
import { readAtMost } from './read-bounded.js';
import type { Config, Secret } from './types.js';

/** A password or token is a line, not a file system: a bigger file is a wrong path (/dev/zero, a log). */
const MAX_SECRET_BYTES = 64 * 1024;

function readBounded(file: string): string {
  const fd = openSync(file, 'r');
  try {
    if (fstatSync(fd).isDirectory()) throw new Error(`${file} is a directory`);
    const text = readAtMost(fd, MAX_SECRET_BYTES);
    if (text === undefined) throw new Error(`${file} is larger than ${MAX_SECRET_BYTES} bytes`);
    return text;
  } finally {
    closeSync(fd);
  }
}

export function resolveSecret(secret: Secret | undefined, what: string): string | undefined {
  if (secret === undefined) return undefined;
  if (typeof secret === 'string') return secret;
  if ('env' in secret) {
    const v = process.env[secret.env];
    if (v === undefined)
      throw new WardgateError('WG_ERR_SECRET_MISSING', `${what}: environment variable ${secret.env} is not set`);
    return v;
  }
  try {
    return readBounded(secret.file).trim();
  } catch (err) {
    // The reason (ENOENT, EACCES, too large) names the file, never its content.
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new WardgateError('WG_ERR_SECRET_MISSING', `${what}: cannot read ${secret.file} (${reason})`, { cause: err });
  }
}

/**
 * One line per secret or TLS file that cannot be read, as `path: reason`. Environment variables
 * are looked up in this process's environment: check-config run from a shell does not see what
 * systemd's EnvironmentFile= would give the service.
 */
export function secretProblems(config: Config): string[] {
  const problems: string[] = [];
  const { password, tls } = config.mqtt;
  if (password !== undefined) {
    try {
      if (resolveSecret(password, 'mqtt.password') === '') problems.push('mqtt.password: the secret is empty');
    } catch (err) {
      problems.push((err as Error).message.replace(`${new WardgateError('WG_ERR_SECRET_MISSING').message}: `, ''));
    }
  }
  for (const key of ['ca', 'cert', 'key'] as const) {
    const file = tls?.[key];
    if (file === undefined) continue;
    try {
      accessSync(file, constants.R_OK);
    } catch (err) {
      problems.push(`mqtt.tls.${key}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  return problems;
}
