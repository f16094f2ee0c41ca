// `wardgate keygen` and `wardgate sign` (issue 10, DESIGN §10): an integrator can make a key and
// send a valid command before writing any crypto code of their own.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { errorMessage } from '../errors.js';
import { newKeyPair, privateKeyFromPem } from './keys.js';
import { signEnvelope } from './sign.js';

export interface CliIo {
  out(s: string): void;
  err(s: string): void;
}

const stdio: CliIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };
const ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const EX_USAGE = 64;
const EX_DATAERR = 65;
const EX_CANTCREAT = 73;

export function keygen(argv: string[], io: CliIo = stdio): number {
  let values: { out?: string; id?: string };
  try {
    ({ values } = parseArgs({ args: argv, options: { out: { type: 'string' }, id: { type: 'string' } } }));
  } catch (err) {
    io.err(`keygen: ${errorMessage(err)}\nusage: wardgate keygen --out DIR --id ID\n`);
    return EX_USAGE;
  }
  if (!values.out || !values.id || !ID.test(values.id)) {
    io.err('usage: wardgate keygen --out DIR --id ID   (ID: letters, digits, _ . -)\n');
    return EX_USAGE;
  }
  const file = join(values.out, `${values.id}.key`);
  if (existsSync(file)) {
    io.err(`keygen: ${file} exists; not overwritten (a key in use would stop verifying)\n`);
    return EX_CANTCREAT;
  }
  const pair = newKeyPair();
  mkdirSync(values.out, { recursive: true, mode: 0o700 });
  writeFileSync(file, pair.privatePem, { mode: 0o600, flag: 'wx' });
  io.err(`wrote ${file} (PKCS#8 PEM, mode 0600): keep it with the control room, never on a gateway\n`);
  io.out(`{ id: ${values.id}, publicKey: "${pair.publicKey}" }\n`);
  return 0;
}

export function sign(argv: string[], io: CliIo = stdio): number {
  const usage = 'usage: wardgate sign --key FILE --key-id ID --device DEV --action ACTION [--args JSON] [--ttl SEC]\n';
  let v: Record<string, string | undefined>;
  try {
    v = parseArgs({
      args: argv,
      options: {
        key: { type: 'string' },
        'key-id': { type: 'string' },
        device: { type: 'string' },
        action: { type: 'string' },
        args: { type: 'string' },
        ttl: { type: 'string' },
      },
    }).values;
  } catch (err) {
    io.err(`sign: ${errorMessage(err)}\n${usage}`);
    return EX_USAGE;
  }
  if (!v.key || !v['key-id'] || !v.device || !v.action) {
    io.err(usage);
    return EX_USAGE;
  }
  let args: unknown = {};
  if (v.args !== undefined) {
    try {
      args = JSON.parse(v.args);
    } catch {
      io.err('sign: --args is not JSON\n');
      return EX_DATAERR;
    }
    if (!args || typeof args !== 'object' || Array.isArray(args)) {
      io.err('sign: --args must be a JSON object\n');
      return EX_DATAERR;
    }
  }
  const ttl = v.ttl === undefined ? 60 : Number(v.ttl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) {
    io.err('sign: --ttl must be whole seconds from 1 to 86400\n');
    return EX_DATAERR;
  }
  let key: ReturnType<typeof privateKeyFromPem>;
  try {
    key = privateKeyFromPem(readFileSync(v.key));
  } catch (err) {
    io.err(`sign: ${v.key}: ${errorMessage(err)}\n`);
    return EX_DATAERR;
  }
  const env = signEnvelope(key, {
    keyId: v['key-id'],
    device: v.device,
    action: v.action,
    args: args as Record<string, unknown>,
    ttlSec: ttl,
  });
  io.out(`${JSON.stringify(env)}\n`);
  return 0;
}
