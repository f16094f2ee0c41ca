// Load one YAML file, validate it against config/wardgate.schema.json with every error at once,
// then the checks a schema cannot express (duplicate ids, a GPIO line used twice, chip and line
// spelling, outputs and action rules: agent/actions/validate.ts).
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import { outputAndActionProblems } from '../actions/validate.js';
import { shippedFile } from '../paths.js';
import { ConfigError } from './errors.js';
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
      return `${path}: ${JSON.stringify(e.data)} ${hint ?? `does not match ${(e.params as { pattern: string }).pattern}`}`;
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

export function parseConfigText(text: string, file = '<config>'): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => `yaml line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  const result = checkConfig(doc.toJS());
  if (!result.ok) throw new ConfigError(file, result.problems);
  return result.config;
}

export function loadConfig(file: string): Config {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [`(file): cannot read: ${(err as Error).message}`]);
  }
  return parseConfigText(text, file);
}
