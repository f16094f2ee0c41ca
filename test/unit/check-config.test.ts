// check-config (and run) on secrets, through the real CLI: every `{file}`/`{env}` secret and TLS
// file must be readable, a missing one is a refusal (exit 78) naming its path, and no output ever
// carries a secret's value, a raw token or a broker URL's password.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { CLI } from '../helpers/agent-process.js';
import { tempDir, testConfigDoc } from '../helpers/config.js';

// biome-ignore lint/suspicious/noExplicitAny: the table mutates arbitrary paths of a raw YAML document
type Doc = Record<string, any>;
const dir = tempDir('wg-check-config-');
const base = (): Doc => testConfigDoc({ brokers: ['mqtt://127.0.0.1:1'], dataDir: join(dir, 'data'), buttons: 1 });

const FILE_SECRET = 'file-secret-Zq81xv';
const ENV_SECRET = 'env-secret-Pw93kd';
const RAW_TOKEN = 'raw-token-Hy62mc';
const URL_PASSWORD = 'url-password-Kd47qa';
const SECRETS = [FILE_SECRET, ENV_SECRET, RAW_TOKEN, URL_PASSWORD];
const secretFile = join(dir, 'mqtt-password');
writeFileSync(secretFile, `${FILE_SECRET}\n`);

function cli(doc: Doc, name: string, command: 'check-config' | 'run' = 'check-config') {
  const path = join(dir, `${name.replace(/\W+/g, '-')}.yaml`);
  writeFileSync(path, stringify(doc));
  const args = command === 'run' ? ['run', '--config', path] : ['check-config', path];
  return spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: 20_000,
    env: { ...process.env, WG_TEST_MQTT_PASSWORD: ENV_SECRET },
  });
}

const REFUSED: Array<{ name: string; mutate: (d: Doc) => void; expect: string[] }> = [
  {
    name: 'a {file} secret that does not exist',
    mutate: (d) => (d.mqtt.password = { file: join(dir, 'no-such-secret') }),
    expect: [`mqtt.password: cannot read ${join(dir, 'no-such-secret')} (ENOENT)`],
  },
  {
    name: 'a {file} secret that is a directory',
    mutate: (d) => (d.mqtt.password = { file: dir }),
    expect: [`mqtt.password: cannot read ${dir}`],
  },
  {
    name: 'a {file} secret that never ends (/dev/zero)',
    mutate: (d) => (d.mqtt.password = { file: '/dev/zero' }),
    expect: ['mqtt.password: cannot read /dev/zero (/dev/zero is larger than 65536 bytes)'],
  },
  {
    name: 'an {env} secret that is not set',
    mutate: (d) => (d.mqtt.password = { env: 'WG_TEST_NOT_SET' }),
    expect: ['mqtt.password: environment variable WG_TEST_NOT_SET is not set'],
  },
  {
    name: 'a TLS CA file that does not exist',
    mutate: (d) => (d.mqtt.tls = { ca: join(dir, 'no-ca.pem') }),
    expect: [`mqtt.tls.ca: cannot read ${join(dir, 'no-ca.pem')} (ENOENT)`],
  },
  {
    name: 'a raw token in web.tokens',
    mutate: (d) => (d.web = { tokens: [RAW_TOKEN] }),
    expect: ['web.tokens[0]: is not sha256:<64 hex>'],
  },
  {
    name: 'a broker URL with a password and a wrong scheme',
    mutate: (d) => (d.mqtt.brokers = [`http://central:${URL_PASSWORD}@broker:1883`]),
    expect: ['mqtt.brokers[0]: "http://central:***@broker:1883" is not a broker URL'],
  },
  {
    name: 'a valid broker URL with a password next to an unrelated error',
    mutate: (d) => {
      d.mqtt.brokers = [`mqtt://central:${URL_PASSWORD}@broker:1883`];
      d.mqtt.password = { file: secretFile };
      d.mqtt.inflight = 0;
    },
    expect: ['mqtt.inflight: must be >= 1'],
  },
];

describe('check-config and secrets', () => {
  it.each(REFUSED)('refuses $name: exit 78, the path named, no secret printed', (c) => {
    const doc = base();
    c.mutate(doc);
    for (const command of ['check-config', 'run'] as const) {
      const r = cli(doc, `${command}-${c.name}`, command);
      expect(r.status).toBe(78);
      for (const e of c.expect) expect(r.stderr).toContain(e);
      for (const s of SECRETS) expect(`${r.stdout}${r.stderr}`).not.toContain(s);
    }
  });

  it('reads {file} and {env} secrets (and a broker URL password) without printing them: exit 0', () => {
    for (const password of [{ file: secretFile }, { env: 'WG_TEST_MQTT_PASSWORD' }]) {
      const doc = base();
      doc.mqtt.brokers = [`mqtt://central:${URL_PASSWORD}@127.0.0.1:1`];
      doc.mqtt.password = password;
      const r = cli(doc, `ok-${Object.keys(password)[0]}`);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/: ok \(gateway test-gw, 1 devices\)/);
      for (const s of SECRETS) expect(r.stdout).not.toContain(s);
    }
  });

  it('an empty secret is refused', () => {
    const empty = join(dir, 'empty-secret');
    writeFileSync(empty, '\n');
    const doc = base();
    doc.mqtt.password = { file: empty };
    const r = cli(doc, 'empty-secret');
    expect(r.status).toBe(78);
    expect(r.stderr).toContain('mqtt.password: the secret is empty');
  });
});
