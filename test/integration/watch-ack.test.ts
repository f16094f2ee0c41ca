// Issue 15: acknowledging an alarm from the control room lights the button's LED, through a real
// Mosquitto with mTLS and the shipped ACL (issue 10's config/mosquitto-wardgate.acl). Once from a
// script (`wardgate ack`), once by a key press on the console (`wardgate watch` on a real pty
// through util-linux `script`); `wardgate watch --json` shows the cmd-result and the
// alarm.acknowledged event (ledLit) coming back.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { newKeyPair, privateKeyFromPem } from '../../agent/commands/keys.js';
import { CLI } from '../helpers/agent-process.js';
import { type CentralPki, centralBroker, provisionPki } from '../helpers/central.js';
import { useCleanups } from '../helpers/cleanup.js';
import { type GatewayKeys, gatewayDoc, LINES, startGateway } from '../helpers/command-gateway.js';
import { testKey } from '../helpers/commands.js';
import { tempDir } from '../helpers/config.js';
import { waitFor } from '../helpers/ports.js';
import { WatchProcess } from '../helpers/watch-process.js';

const cleanup = useCleanups();

function opsKey(dir: string) {
  const pair = newKeyPair();
  const file = join(dir, 'control-room-1.key');
  writeFileSync(file, pair.privatePem, { mode: 0o600 });
  return {
    file,
    key: { id: 'control-room-1', publicKey: pair.publicKey, privateKey: privateKeyFromPem(pair.privatePem) },
  };
}

async function setUp() {
  const dir = tempDir('wg-watch-ack-');
  const pki: CentralPki = provisionPki(join(dir, 'pki'), ['test-gw'], ['control-room']);
  const { broker, tlsUrl } = await centralBroker(pki);
  cleanup(() => broker.stop());
  const ops = opsKey(dir);
  const keys: GatewayKeys = { ops: ops.key, limited: testKey('night-porter') };
  const gw = await startGateway(gatewayDoc({ brokers: [tlsUrl], pki, dataDir: join(dir, 'data'), keys }));
  cleanup(() => gw.agent.stop());
  await waitFor(() => gw.agent.uplink.connected, 20_000, 'gateway connected over mTLS');
  const client = pki.cert('client-control-room');
  const tls = ['--tls-ca', pki.ca, '--tls-cert', client.cert, '--tls-key', client.key];
  const watch = await new WatchProcess([
    '--broker',
    tlsUrl,
    ...tls,
    '--client-id',
    'control-room-watch',
    '--state-dir',
    join(dir, 'watch'),
  ]).start();
  cleanup(() => watch.stop('SIGKILL'));
  return { dir, tlsUrl, tls, ops, gw, watch };
}

describe('acknowledge from the control room', () => {
  it('wardgate ack: signed alarm.ack over mTLS + ACL lights the LED; watch shows the result and the receipt', async () => {
    const { tlsUrl, tls, ops, gw, watch } = await setUp();
    const press = (await gw.agent.simulate('panic-0', 'button', true)).accepted[0];
    if (!press) throw new Error('no press');
    await waitFor(() => watch.events().some((r) => r.event.id === press.id), 20_000, 'alarm on the console');
    expect(gw.gpio.writesTo(LINES.led)).toEqual([]);

    const args = ['ack', '--broker', tlsUrl, ...tls, '--gateway', 'test-gw', '--device', 'panic-0'];
    args.push('--event', press.id, '--ack-key', ops.file, '--key-id', 'control-room-1', '--by', 'Sister Okafor');
    const proc = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanup(async () => proc.kill('SIGKILL'));
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    proc.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => proc.once('close', resolve));
    expect({ code, err }).toEqual({ code: 0, err: '' });
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ kind: 'cmd-result', result: { ok: true } });
    expect(lines[1]).toMatchObject({ kind: 'acknowledged', event: { data: { alarmId: press.id, ledLit: true } } });
    expect(gw.gpio.writesTo(LINES.led)).toEqual([1]);

    // The console sees the same round trip: the cmd-result and the receipt, in order on its lane.
    await waitFor(
      () => watch.events().some((r) => r.event.type === 'alarm.acknowledged'),
      20_000,
      'alarm.acknowledged on the console',
    );
    const receipt = watch.events().find((r) => r.event.type === 'alarm.acknowledged');
    expect(receipt?.event.data).toMatchObject({
      alarmId: press.id,
      ledLit: true,
      by: 'Sister Okafor (key control-room-1)',
    });
    expect(watch.records.some((r) => r.kind === 'cmd-result' && r.result.ok === true)).toBe(true);
  }, 90_000);

  it('a key press on the console (a real pty) acknowledges the selected alarm and shows it acknowledged', async () => {
    const { dir, tlsUrl, tls, ops, gw, watch } = await setUp();
    const cmd = [process.execPath, CLI, 'watch', '--broker', tlsUrl, ...tls, '--client-id', 'console-1'];
    cmd.push(
      '--state-dir',
      join(dir, 'console'),
      '--ack-key',
      ops.file,
      '--key-id',
      'control-room-1',
      '--by',
      'Dr Lee',
    );
    const line = cmd.map((a) => `'${a}'`).join(' ');
    const term = spawn('script', ['-qfec', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    cleanup(async () => term.kill('SIGKILL'));
    let screen = '';
    term.stdout.on('data', (d: Buffer) => {
      screen += d.toString();
    });
    await waitFor(
      () => {
        if (term.exitCode !== null) throw new Error(`console exited ${term.exitCode}: ${screen}`);
        return screen.includes('keys: 1-9 select, a acknowledge');
      },
      30_000,
      'console drawn',
    );
    const press = (await gw.agent.simulate('panic-0', 'button', true)).accepted[0];
    if (!press) throw new Error('no press');
    await waitFor(() => screen.includes(`seq ${press.seq})`), 20_000, 'alarm listed on the console');
    term.stdin.write('1');
    term.stdin.write('a');
    await waitFor(() => gw.gpio.writesTo(LINES.led).length > 0, 20_000, 'LED lit');
    expect(gw.gpio.writesTo(LINES.led)).toEqual([1]);
    await waitFor(
      () => screen.includes('acknowledged by Dr Lee (key control-room-1), LED lit'),
      20_000,
      'shown acknowledged',
    );
    await waitFor(() => watch.events().some((r) => r.event.type === 'alarm.acknowledged'), 20_000, 'receipt');
    term.stdin.write('q');
    await new Promise((resolve) => term.once('close', resolve));
  }, 90_000);
});
