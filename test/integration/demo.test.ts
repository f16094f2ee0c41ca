// The README's first command: `wardgate demo` starts everything simulated with an embedded broker
// and the page; the printed curl line presses a button that a subscriber on that broker sees.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/agent-process.js';
import { useCleanups } from '../helpers/cleanup.js';
import { tempDir } from '../helpers/config.js';
import { waitFor } from '../helpers/ports.js';

const cleanup = useCleanups();

function kill(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

describe('wardgate demo', () => {
  it('runs with an embedded broker and the web page, and a printed press reaches a subscriber', async () => {
    const proc = spawn(process.execPath, [CLI, 'demo', '--port', '0', '--mqtt-port', '0', '--data-dir', tempDir()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanup(() => kill(proc));
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor(() => out.includes('Ctrl-C stops it.'), 20_000, 'demo banner');
    const web = /web page: +(http:\/\/[^/\s]+)\/#token=(\S+)/.exec(out);
    const broker = /broker: +(mqtt:\/\/\S+)/.exec(out);
    expect(web).not.toBeNull();
    expect(broker).not.toBeNull();
    const [, base, token] = web as RegExpExecArray;

    const sub = await mqtt.connectAsync((broker as RegExpExecArray)[1] as string, { protocolVersion: 4 });
    cleanup(() => sub.endAsync());
    const got: string[] = [];
    sub.on('message', (topic) => got.push(topic));
    await sub.subscribeAsync('wardgate/v1/#', { qos: 1 });

    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>wardgate</title>');
    const press = await fetch(`${base}/api/sim/panic-ed-triage-1/button`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{"active":true}',
    });
    expect(press.status).toBe(200);
    await waitFor(() => got.includes('wardgate/v1/demo-ward/events/panic-button/panic-ed-triage-1'), 10_000, 'press');
    // The demo's local action lights the sounder.
    const outputs = await (
      await fetch(`${base}/api/outputs`, { headers: { authorization: `Bearer ${token}` } })
    ).json();
    expect(
      (outputs as { outputs: Array<{ id: string; active: boolean }> }).outputs.find((o) => o.id === 'sounder-ae')
        ?.active,
    ).toBe(true);
    await kill(proc);
    expect(proc.exitCode).toBe(0);
  });
});

describe('wardgate token / passwd', () => {
  it('token prints a token and the sha256 line that matches it', () => {
    const r = spawnSync(process.execPath, [CLI, 'token'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/token .*: \S{20,}\nconfig line \(web\.tokens\): "sha256:[0-9a-f]{64}"/);
  });

  it('passwd hashes stdin with scrypt and refuses a short password', () => {
    const ok = spawnSync(process.execPath, [CLI, 'passwd'], { input: 'long enough password\n', encoding: 'utf8' });
    expect(ok.status).toBe(0);
    expect(ok.stdout).toMatch(/^scrypt:16384:8:1:\S+:\S+\n$/);
    const short = spawnSync(process.execPath, [CLI, 'passwd'], { input: 'short\n', encoding: 'utf8' });
    expect(short.status).toBe(64);
    expect(short.stderr).toContain('at least 8 characters');
  });

  it('an unknown command prints usage and exits 64', () => {
    const r = spawnSync(process.execPath, [CLI, 'frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('wardgate check-config FILE');
  });
});
