// Load one YAML file, validate it against config/wardgate.schema.json with every error at once,
// then the checks a schema cannot express (duplicate ids, a GPIO line used twice, chip and line
// spelling, outputs and action rules: agent/actions/validate.ts).
//
// Every refusal is a ConfigError (exit 78, EX_CONFIG): a file too large, unreadable, YAML that
// does not parse, an alias bomb, a schema or semantic problem. Nothing here echoes a value that
// may be a secret (a raw token in web.tokens, a password in a broker URL): see redact.ts.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { outputAndActionProblems } from '../actions/validate.js';
import { commandProblems } from '../commands/config-check.js';
import { driverKinds } from '../devices/driver-kinds.js';
import { shippedFile } from '../paths.js';
import { ConfigError } from './errors.js';
import { readAtMost } from './read-bounded.js';
import { redactedData } from './redact.js';
import { secretProblems } from './secrets.js';
import type { Config } from './types.js';

export { ConfigError, EXIT_CONFIG } from './errors.js';

let validator: ReturnType<Ajv['compile']> | undefined;
function validate(doc: unknown): ErrorObject[] {
  if (!validator) {
    const schema = JSON.parse(readFileSync(shippedFile('config', 'wardgate.schema.json'), 'utf8'));
    validator = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true }).compile(schema);
  }
  return validator(doc) ? [] : [...(validator.errors ?? [])];
}

/** `/devices/2/input/line` → `devices[2].input.line` */
export function formatPath(instancePath: string): string {
  const parts = instancePath.split('/').slice(1);
  let out = '';
  for (const raw of parts) {
    const p = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  }
  return out || '(root)';
}

function describe(e: ErrorObject): string | undefined {
  const path = formatPath(e.instancePath);
  switch (e.keyword) {
    case 'if':
    case 'oneOf':
    case 'anyOf':
      return undefined; // the branch's own errors say what is wrong
    case 'additionalProperties': {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      return `${path === '(root)' ? key : `${path}.${key}`}: unknown key`;
    }
    case 'required':
      return `${path === '(root)' ? '' : `${path}.`}${(e.params as { missingProperty: string }).missingProperty}: is required`;
    case 'enum':
      return `${path}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'pattern': {
      const hint = (e.parentSchema as { errorHint?: string } | undefined)?.errorHint;
      const shown = redactedData(path, e.data);
      return `${path}: ${shown === undefined ? '' : `${shown} `}${hint ?? `does not match ${(e.params as { pattern: string }).pattern}`}`;
    }
    default:
      return `${path}: ${e.message}`;
  }
}

type Loose = Record<string, unknown>;
const obj = (v: unknown): Loose | undefined =>
  v && typeof v === 'object' && !Array.isArray(v) ? (v as Loose) : undefined;

/** Checks across entries. Tolerant of a document that failed the schema, so every error shows at once. */
function semanticProblems(doc: unknown): string[] {
  const problems: string[] = [];
  const root = obj(doc) ?? {};
  const devices = Array.isArray(root.devices) ? root.devices : [];
  const defaultChip = String(obj(root.gpio)?.chip ?? 'gpiochip0');
  const seenIds = new Map<string, number>();
  const seenLines = new Map<string, string>();
  const backend = obj(root.gpio)?.backend;
  const gpioChip = obj(root.gpio)?.chip;
  if (typeof gpioChip === 'string') problems.push(...chipProblems('gpio.chip', gpioChip));
  // Inputs and outputs share one pool of lines: a line is either read or driven, and by one owner.
  const claimLine = (path: string, line: Loose) => {
    if (!(typeof line.line === 'number' || typeof line.line === 'string')) return;
    if (typeof line.chip === 'string') problems.push(...chipProblems(`${path}.chip`, line.chip));
    if (typeof line.line === 'string') problems.push(...lineNameProblems(`${path}.line`, line.line, backend));
    const key = `${normaliseChip(typeof line.chip === 'string' ? line.chip : defaultChip)}:${line.line}`;
    const owner = seenLines.get(key);
    if (owner) problems.push(`${path}.line: GPIO line ${key} is already used by ${owner}`);
    else seenLines.set(key, path);
  };
  devices.forEach((raw, i) => {
    const d = obj(raw);
    if (!d) return;
    if (typeof d.id === 'string') {
      const first = seenIds.get(d.id);
      if (first !== undefined)
        problems.push(`devices[${i}].id: duplicate device id "${d.id}" (also devices[${first}])`);
      else seenIds.set(d.id, i);
    }
    for (const [name, v] of Object.entries(d)) {
      const input = obj(v);
      if (input && 'line' in input) claimLine(`devices[${i}].${name}`, input);
    }
  });
  (Array.isArray(root.outputs) ? root.outputs : []).forEach((raw, i) => {
    const o = obj(raw);
    if (o) claimLine(`outputs[${i}]`, o);
  });
  problems.push(...outputAndActionProblems(root));
  problems.push(...commandProblems(root));
  // Each driver kind checks its own section (Modbus: buses, door profiles, unit clashes, unlock bounds).
  for (const kind of driverKinds()) problems.push(...(kind.configProblems?.(root) ?? []));
  const mqtt = obj(root.mqtt);
  const b = obj(mqtt?.backoff);
  if (typeof b?.minMs === 'number' && typeof b.maxMs === 'number' && b.minMs > b.maxMs)
    problems.push('mqtt.backoff.minMs: must not exceed mqtt.backoff.maxMs');
  const tls = obj(mqtt?.tls);
  if (tls && (tls.cert === undefined) !== (tls.key === undefined))
    problems.push('mqtt.tls: cert and key must be given together (mTLS client certificate)');
  const clock = obj(obj(root.gateway)?.clock);
  if (clock?.sync === 'file' && !clock.file)
    problems.push('gateway.clock.file: is required when gateway.clock.sync is "file"');
  return problems;
}

/** gpiod accepts "0", "gpiochip0" and "/dev/gpiochip0" for one chip: compare lines by one spelling. */
function normaliseChip(chip: string): string {
  if (/^\d+$/.test(chip)) return `gpiochip${chip}`;
  return /^\/dev\/(gpiochip\d+)$/.exec(chip)?.[1] ?? chip;
}

function chipProblems(path: string, chip: string): string[] {
  if (/^(\d+|gpiochip\d+|\/dev\/gpiochip\d+)$/.test(chip)) return [];
  // Anything else must be a chip label as the kernel prints it (e.g. "pinctrl-bcm2711").
  if (!chip.startsWith('/') && !/^gpiochip/.test(chip) && /^[A-Za-z0-9][A-Za-z0-9_.:,@-]*$/.test(chip)) return [];
  return [`${path}: "${chip}" is not a GPIO chip (gpiochipN, N, /dev/gpiochipN or the chip's label)`];
}

function lineNameProblems(path: string, line: string, backend: unknown): string[] {
  if (/^\d+$/.test(line.trim()))
    return [`${path}: write the offset as a number (${line.trim()}), not a string: a string is a line name`];
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.:/-]*$/.test(line))
    return [`${path}: "${line}" is not a line offset or a line name (letters, digits, _ . : / -)`];
  if (backend === 'onoff') return [`${path}: the onoff backend (sysfs) has no line names; give the line's offset`];
  return [];
}

/** Validate an already-parsed document. Returns the problems, or the typed config. */
export function checkConfig(doc: unknown): { ok: true; config: Config } | { ok: false; problems: string[] } {
  const problems = [
    ...new Set([...validate(doc).map(describe), ...semanticProblems(doc)].filter((p): p is string => p !== undefined)),
  ];
  return problems.length > 0 ? { ok: false, problems } : { ok: true, config: doc as Config };
}

/**
 * A config is a page of YAML (the shipped ward example is 4 KiB): 1 MiB is generous, and bounds
 * the time and memory the parser can be made to spend (a 100 MB string took 28 s and 3.6 GB).
 */
export const MAX_CONFIG_BYTES = 1024 * 1024;
/** A handful of anchors is normal YAML; hundreds are a "billion laughs" document. */
const MAX_ALIAS_COUNT = 100;
/** A file that fails to parse at every nesting level would print thousands of lines. */
const MAX_YAML_ERRORS = 20;

export function parseConfigText(text: string, file = '<config>'): Config {
  let doc: unknown;
  try {
    const parsed = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    if (parsed.errors.length > 0) {
      const lines = parsed.errors
        .slice(0, MAX_YAML_ERRORS)
        .map((e) => `yaml line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`);
      if (parsed.errors.length > MAX_YAML_ERRORS) lines.push(`… and ${parsed.errors.length - MAX_YAML_ERRORS} more`);
      throw new ConfigError(file, lines);
    }
    doc = parsed.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    // yaml throws (not reports) on an alias bomb; a stack overflow is possible on deep nesting.
    const reason = (err as Error).message.split('\n')[0];
    throw new ConfigError(file, [
      /alias/i.test(reason ?? '')
        ? `(file): refused: more than ${MAX_ALIAS_COUNT} YAML alias expansions (${reason})`
        : `(file): refused: ${reason}`,
    ]);
  }
  let result: ReturnType<typeof checkConfig>;
  try {
    result = checkConfig(doc);
  } catch (err) {
    throw new ConfigError(file, [`(file): refused: ${(err as Error).message.split('\n')[0]}`]);
  }
  if (!result.ok) throw new ConfigError(file, result.problems);
  return result.config;
}

/**
 * Read at most MAX_CONFIG_BYTES. A regular file is refused by its size before any byte is read;
 * anything else (a pipe, /dev/stdin, a device) is read only up to the limit plus one byte.
 */
export function readConfigFile(file: string, limit = MAX_CONFIG_BYTES): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    throw new ConfigError(file, [`(file): cannot read: ${(err as Error).message}`]);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw new ConfigError(file, ['(file): is a directory, not a config file']);
    if (st.isFile() && st.size > limit) throw new ConfigError(file, [tooLarge(st.size, limit)]);
    const text = readAtMost(fd, limit);
    if (text === undefined) throw new ConfigError(file, [tooLarge(undefined, limit)]);
    return text;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(file, [`(file): cannot read: ${(err as Error).message}`]);
  } finally {
    closeSync(fd);
  }
}

function tooLarge(size: number | undefined, limit: number): string {
  const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;
  const what = size === undefined ? `more than ${mib(limit)}` : `${mib(size)} (${size} bytes)`;
  return `(file): too large: ${what}; a config file may be at most ${mib(limit)}`;
}

export function loadConfig(file: string): Config {
  return parseConfigText(readConfigFile(file), file);
}

/** loadConfig, then every secret and TLS file must be readable: what `run` and check-config refuse. */
export function loadConfigWithSecrets(file: string): Config {
  const config = loadConfig(file);
  const problems = secretProblems(config);
  if (problems.length > 0) throw new ConfigError(file, problems);
  return config;
}
