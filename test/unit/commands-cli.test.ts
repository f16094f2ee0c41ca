// `wardgate keygen` / `wardgate sign` (issue 10): the printed config entry and envelope are what a
// gateway accepts — the envelope passes the router with the printed key, and is contract-valid.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keygen, sign } from '../../agent/commands/cli-keys.js';
import { assertContract } from '../helpers/central.js';
import { routerHarness } from '../helpers/commands.js';
import { tempDir } from '../helpers/config.js';

function capture() {
  const io = {
    stdout: '',
    stderr: '',
    out: (s: string) => {
      io.stdout += s;
    },
    err: (s: string) => {
      io.stderr += s;
    },
  };
  return io;
}

describe('keygen and sign', () => {
  it('keygen writes DIR/ID.key (0600), prints the config entry, and never overwrites', () => {
    const dir = join(tempDir('wg-keys-'), 'keys');
    const io = capture();
    expect(keygen(['--out', dir, '--id', 'control-room-1'], io)).toBe(0);
    expect(io.stdout).toMatch(/^\{ id: control-room-1, publicKey: "[A-Za-z0-9+/]{43}=" \}\n$/);
    const file = join(dir, 'control-room-1.key');
    expect(readFileSync(file, 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = capture();
    expect(keygen(['--out', dir, '--id', 'control-room-1'], again)).toBe(73);
    expect(again.stderr).toContain('not overwritten');
    expect(keygen(['--out', dir, '--id', '../x'], capture())).toBe(64);
  });

  it('sign prints an envelope the gateway accepts with that key', async () => {
    const dir = tempDir('wg-keys-');
    const gen = capture();
    keygen(['--out', dir, '--id', 'ops'], gen);
    const publicKey = /publicKey: "([^"]+)"/.exec(gen.stdout)?.[1] as string;
    const io = capture();
    const code = sign(
      [
        '--key',
        join(dir, 'ops.key'),
        '--key-id',
        'ops',
        '--device',
        'sounder-1',
        '--action',
        'output.pulse',
        '--args',
        '{"ms":200}',
        '--ttl',
        '30',
      ],
      io,
    );
    expect(code).toBe(0);
    const env = JSON.parse(io.stdout);
    assertContract('cmd', env);
    expect(Date.parse(env.expiresAt) - Date.parse(env.issuedAt)).toBe(30_000);
    const h = routerHarness([{ id: 'ops', publicKey, allow: [{ action: 'output.pulse', devices: ['sounder-*'] }] }]);
    expect(await h.router.handle('sounder-1', io.stdout)).toMatchObject({ ok: true, commandId: env.commandId });
    expect(h.runs).toEqual([{ action: 'output.pulse', device: 'sounder-1', args: { ms: 200 } }]);
  });

  it('sign refuses bad arguments with a clear message', () => {
    const dir = tempDir('wg-keys-');
    keygen(['--out', dir, '--id', 'ops'], capture());
    const base = ['--key', join(dir, 'ops.key'), '--key-id', 'ops', '--device', 'd', '--action', 'log.level'];
    const cases: Array<[string[], number, RegExp]> = [
      [['--key-id', 'ops'], 64, /usage/],
      [[...base, '--args', '[1]'], 65, /JSON object/],
      [[...base, '--args', '{'], 65, /not JSON/],
      [[...base, '--ttl', '0'], 65, /--ttl/],
      [['--key', join(dir, 'missing.key'), ...base.slice(2)], 65, /missing\.key/],
    ];
    for (const [argv, exit, msg] of cases) {
      const io = capture();
      expect(sign(argv, io)).toBe(exit);
      expect(io.stderr).toMatch(msg);
    }
  });
});
