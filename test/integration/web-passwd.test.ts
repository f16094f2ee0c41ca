// `wardgate passwd`: on a terminal (a real pty through util-linux `script`) it asks twice and
// echoes nothing typed; from a pipe it hashes the first line. The hash verifies with scrypt.
import { type ChildProcess, spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../../agent/web/password.js';
import { CLI } from '../helpers/agent-process.js';
import { useCleanups } from '../helpers/cleanup.js';
import { waitFor } from '../helpers/ports.js';

const cleanup = useCleanups();

function run(args: string[], stdin?: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => {
      out += d;
    });
    p.stderr.on('data', (d) => {
      err += d;
    });
    p.on('close', (code) => resolve({ code, out, err }));
    p.stdin.end(stdin ?? '');
  });
}

function onTerminal(): { proc: ChildProcess; output: () => string } {
  // script gives the command a pty; what we write to script's stdin is typed on that terminal.
  const proc = spawn('script', ['-qfec', `${process.execPath} ${CLI} passwd`, '/dev/null'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  cleanup(async () => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  let out = '';
  proc.stdout?.on('data', (d) => {
    out += d;
  });
  proc.stderr?.on('data', (d) => {
    out += d;
  });
  return { proc, output: () => out };
}

describe('wardgate passwd', () => {
  it('hashes the first line of a pipe', async () => {
    const r = await run(['passwd'], 'a long enough password\nignored\n');
    expect(r.code).toBe(0);
    const hash = r.out.trim();
    expect(hash).toMatch(/^scrypt:16384:8:1:/);
    expect(await verifyPassword('a long enough password', hash)).toBe(true);
    expect((await run(['passwd'], 'short\n')).code).toBe(64);
  });

  it('on a terminal asks twice without echo, and refuses two different answers', async () => {
    const t = onTerminal();
    await waitFor(() => t.output().includes('New technician password: '), 20_000, 'first prompt');
    t.proc.stdin?.write('typed-secret-123\r');
    await waitFor(() => t.output().includes('Repeat it: '), 10_000, 'second prompt');
    t.proc.stdin?.write('typed-secret-123\r');
    await waitFor(() => /scrypt:\S+/.test(t.output()), 10_000, 'hash');
    expect(t.output()).not.toContain('typed-secret-123');
    const hash = /scrypt:\S+/.exec(t.output())?.[0] as string;
    expect(await verifyPassword('typed-secret-123', hash)).toBe(true);

    const u = onTerminal();
    await waitFor(() => u.output().includes('New technician password: '), 20_000, 'first prompt');
    u.proc.stdin?.write('typed-secret-123\r');
    await waitFor(() => u.output().includes('Repeat it: '), 10_000, 'second prompt');
    u.proc.stdin?.write('typed-secret-456\r');
    await waitFor(() => u.output().includes('differ'), 10_000, 'refusal');
    expect(u.output()).not.toMatch(/scrypt:/);
  });
});
