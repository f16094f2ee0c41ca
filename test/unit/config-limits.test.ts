// Config files that try to cost the agent time or memory, through the real CLI: each is refused
// with a clear message and exit 78 (EX_CONFIG: systemd's RestartPreventExitStatus stops the loop),
// by check-config and by run alike.
import { spawnSync } from 'node:child_process';
import { mkdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { MAX_CONFIG_BYTES } from '../../agent/config/load.js';
import { CLI } from '../helpers/agent-process.js';
import { tempDir, testConfigDoc } from '../helpers/config.js';

const dir = tempDir('wg-cfg-limits-');
const validYaml = () =>
  stringify(testConfigDoc({ brokers: ['mqtt://127.0.0.1:1'], dataDir: join(dir, 'data'), buttons: 1 }));

function cli(...args: string[]) {
  // A bound on the child: a refusal that reads or parses the whole input would hit it.
  return spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });
}

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** "Billion laughs": 10^6 expansions from 5 lines. */
const ALIAS_BOMB = [
  'a: &a [x, x, x, x, x, x, x, x, x, x]',
  'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
  'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
  'd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
  'e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
  'f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]',
].join('\n');

const CASES: Array<{ name: string; path: () => string; expect: RegExp }> = [
  {
    name: 'a YAML alias bomb',
    path: () => file('bomb.yaml', `${ALIAS_BOMB}\n`),
    expect: /\(file\): refused: more than 100 YAML alias expansions/,
  },
  {
    // Sparse: 100 MB on paper, nothing on disk. Refused from its size, before any byte is read.
    name: 'a 100 MB file',
    path: () => {
      const p = file('huge.yaml', '');
      truncateSync(p, 100 * 1024 * 1024);
      return p;
    },
    expect: /\(file\): too large: 100\.0 MiB \(104857600 bytes\); a config file may be at most 1\.0 MiB/,
  },
  {
    name: 'one byte over the limit',
    path: () => file('over.yaml', `${validYaml()}#${'x'.repeat(MAX_CONFIG_BYTES)}\n`),
    expect: /too large: .*a config file may be at most 1\.0 MiB/,
  },
  {
    // No size to stat: only the limit plus one byte is read (an unbounded read would never end).
    name: 'an endless device (/dev/zero)',
    path: () => '/dev/zero',
    expect: /\(file\): too large: more than 1\.0 MiB/,
  },
  {
    name: 'deeply nested flow collections',
    path: () => file('deep.yaml', '['.repeat(50_000)),
    expect: /yaml line 1: .*\n(.*\n){19}… and \d+ more/,
  },
  { name: 'a missing file', path: () => join(dir, 'absent.yaml'), expect: /\(file\): cannot read: ENOENT/ },
  {
    name: 'a directory',
    path: () => {
      mkdirSync(join(dir, 'a-dir'), { recursive: true });
      return join(dir, 'a-dir');
    },
    expect: /\(file\): is a directory/,
  },
];

describe('config limits', () => {
  it.each(CASES)('check-config and run refuse $name with exit 78', (c) => {
    const path = c.path();
    for (const args of [
      ['check-config', path],
      ['run', '--config', path],
    ]) {
      const r = cli(...args);
      expect(r.error).toBeUndefined(); // not killed by the timeout
      expect(r.status).toBe(78);
      expect(r.stderr).toMatch(c.expect);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // a message, not a stack trace
    }
  });

  it('a valid file padded to exactly the limit is accepted', () => {
    const yaml = validYaml();
    const path = file('at-limit.yaml', `${yaml}#${'x'.repeat(MAX_CONFIG_BYTES - yaml.length - 2)}\n`);
    const r = cli('check-config', path);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
