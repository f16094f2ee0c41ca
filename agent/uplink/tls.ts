// TLS material for the broker connection, read once at start (files, never inline PEM in YAML).
import { readFileSync } from 'node:fs';
import type { Config } from '../config/types.js';

export function readTls(tls: NonNullable<Config['mqtt']['tls']>) {
  const read = (f: string | undefined) => (f ? readFileSync(f) : undefined);
  const ca = read(tls.ca);
  const cert = read(tls.cert);
  const key = read(tls.key);
  return {
    ...(ca ? { ca } : {}),
    ...(cert ? { cert } : {}),
    ...(key ? { key } : {}),
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    ...(tls.servername ? { servername: tls.servername } : {}),
  };
}
