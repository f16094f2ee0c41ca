// Bad config: each broken config yields its path-qualified message and exit 78, from the real CLI.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkConfig, formatPath, parseConfigText } from '../../agent/config/load.js';
import { shippedFile } from '../../agent/paths.js';
import { CLI } from '../helpers/agent-process.js';
import { tempDir, testConfigDoc } from '../helpers/config.js';

// biome-ignore lint/suspicious/noExplicitAny: the table mutates arbitrary paths of a raw YAML document
type Doc = Record<string, any>;
const base = (): Doc => testConfigDoc({ brokers: ['mqtt://127.0.0.1:1883'], dataDir: '/tmp/x', buttons: 2 });

const CASES: Array<{ name: string; mutate: (d: Doc) => void; expect: string[] }> = [
  { name: 'wrong type', mutate: (d) => (d.mqtt.inflight = 'many'), expect: ['mqtt.inflight: must be integer'] },
  { name: 'unknown top-level key', mutate: (d) => (d.mqttt = {}), expect: ['mqttt: unknown key'] },
  {
    name: 'typo in a device key',
    mutate: (d) => (d.devices[1].debounce = 5),
    expect: ['devices[1].debounce: unknown key'],
  },
  { name: 'missing gateway id', mutate: (d) => delete d.gateway.id, expect: ['gateway.id: is required'] },
  { name: 'missing device id', mutate: (d) => delete d.devices[0].id, expect: ['devices[0].id: is required'] },
  {
    name: 'duplicate device ids',
    mutate: (d) => (d.devices[1].id = d.devices[0].id),
    expect: ['devices[1].id: duplicate device id "panic-0" (also devices[0])'],
  },
  {
    name: 'bad broker URL',
    mutate: (d) => (d.mqtt.brokers = ['http://broker:1883']),
    expect: ['mqtt.brokers[0]: "http://broker:1883" is not a broker URL'],
  },
  {
    name: 'no brokers',
    mutate: (d) => (d.mqtt.brokers = []),
    expect: ['mqtt.brokers: must NOT have fewer than 1 items'],
  },
  {
    name: 'unknown device type',
    mutate: (d) => (d.devices[0].type = 'panic-buton'),
    expect: ['devices[0].type: must be one of'],
  },
  {
    name: 'gateway id with a slash',
    mutate: (d) => (d.gateway.id = 'ward/3'),
    expect: ['gateway.id: "ward/3" is not a valid id'],
  },
  {
    name: 'same GPIO line twice',
    mutate: (d) => (d.devices[1].input.line = d.devices[0].input.line),
    expect: ['devices[1].input.line: GPIO line gpiochip0:100 is already used by devices[0].input'],
  },
  {
    name: 'negative debounce',
    mutate: (d) => (d.devices[0].debounceMs = -1),
    expect: ['devices[0].debounceMs: must be >= 0'],
  },
  {
    name: 'bad severity',
    mutate: (d) => (d.devices[0].severity = 'urgent'),
    expect: ['devices[0].severity: must be one of'],
  },
  {
    name: 'token not hashed',
    mutate: (d) => (d.web = { tokens: ['plain-token'] }),
    // The raw token is a secret: named by its path, never echoed (check-config.test.ts).
    expect: ['web.tokens[0]: is not sha256:<64 hex>'],
  },
  {
    name: 'backoff min above max',
    mutate: (d) => (d.mqtt.backoff = { minMs: 5000, maxMs: 100 }),
    expect: ['mqtt.backoff.minMs: must not exceed mqtt.backoff.maxMs'],
  },
];

describe('config validation', () => {
  it('accepts the test config and the shipped demo config', () => {
    expect(checkConfig(base())).toMatchObject({ ok: true });
    const demo = parseConfigText(readFileSync(shippedFile('config', 'demo.yaml'), 'utf8'), 'demo.yaml');
    expect(demo.devices.length).toBeGreaterThan(0);
  });

  it('formats JSON pointers as paths', () => {
    expect(formatPath('/devices/2/input/line')).toBe('devices[2].input.line');
    expect(formatPath('')).toBe('(root)');
  });

  it('reports every problem at once', () => {
    const d = base();
    d.mqtt.inflight = 'x';
    d.devices[1].id = d.devices[0].id;
    d.extra = 1;
    const r = checkConfig(d);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.length).toBe(3);
  });

  it('reports YAML syntax errors with the line', () => {
    expect(() => parseConfigText('gateway: {id: a\nmqtt: [', 'x.yaml')).toThrow(/yaml line \d+/);
  });

  const dir = tempDir();
  it.each(CASES)('check-config: $name → path-qualified message, exit 78', (c) => {
    const doc = base();
    c.mutate(doc);
    const file = join(dir, `${c.name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, stringify(doc));
    const r = spawnSync(process.execPath, [CLI, 'check-config', file], { encoding: 'utf8' });
    expect(r.status).toBe(78);
    for (const e of c.expect) expect(r.stderr).toContain(e);
  });

  it('run refuses an invalid config with the same output and exit 78', () => {
    const doc = base();
    doc.mqtt.inflight = 0;
    const file = join(dir, 'run-invalid.yaml');
    writeFileSync(file, stringify(doc));
    const r = spawnSync(process.execPath, [CLI, 'run', '--config', file], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('mqtt.inflight: must be >= 1');
  });

  it('check-config on a valid file exits 0', () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, stringify(base()));
    const r = spawnSync(process.execPath, [CLI, 'check-config', file], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
