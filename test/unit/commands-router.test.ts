// The command checks in their order (issue 10): well-formed, known key, valid signature, not
// expired (with skew; the rule for an unsynced clock), nonce not seen (persisted), allowed. Each
// refusal has its reason, an event and a cmd-result, and nothing runs.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { MAX_LIFETIME_MS } from '../../agent/commands/envelope.js';
import { signEnvelope } from '../../agent/commands/sign.js';
import { routerHarness, testKey } from '../helpers/commands.js';
import { tempDir } from '../helpers/config.js';

const ops = testKey('ops');
const other = testKey('other');
const KEYS = [
  { id: ops.id, publicKey: ops.publicKey, allow: [{ action: 'output.*', devices: ['sounder-?', 'strobe'] }] },
  { id: other.id, publicKey: other.publicKey, allow: [{ action: 'alarm.ack', devices: ['panic-*'] }] },
];

const pulse = (over: Partial<Parameters<typeof signEnvelope>[1]> = {}, key = ops) =>
  signEnvelope(key.privateKey, { keyId: key.id, device: 'sounder-1', action: 'output.pulse', ...over });

describe('command router', () => {
  it('runs a valid command once and answers ok with an executed event', async () => {
    const h = routerHarness(KEYS);
    const env = pulse({ args: { ms: 100 } });
    const r = await h.router.handle('sounder-1', JSON.stringify(env));
    expect(r).toMatchObject({ commandId: env.commandId, ok: true });
    expect(h.runs).toEqual([{ action: 'output.pulse', device: 'sounder-1', args: { ms: 100 } }]);
    expect(h.events).toEqual([
      {
        type: 'command.executed',
        data: {
          commandId: env.commandId,
          action: 'output.pulse',
          target: 'sounder-1',
          keyId: 'ops',
          args: { ms: 100 },
        },
      },
    ]);
    expect(h.results).toEqual([{ device: 'sounder-1', result: { commandId: env.commandId, ok: true, at: r.at } }]);
  });

  const cases: Array<[string, (h: ReturnType<typeof routerHarness>) => [string, string], string]> = [
    ['not JSON', () => ['sounder-1', '{nope'], 'malformed'],
    ['a field missing', () => ['sounder-1', JSON.stringify({ ...pulse(), nonce: undefined })], 'malformed'],
    ['an extra field', () => ['sounder-1', JSON.stringify({ ...pulse(), extra: 1 })], 'malformed'],
    ['another topic device', () => ['sounder-2', JSON.stringify(pulse())], 'malformed'],
    ['an unknown key', () => ['sounder-1', JSON.stringify(pulse({ keyId: 'nobody' }))], 'unknown-key'],
    ['a forged signature', () => ['sounder-1', JSON.stringify({ ...pulse(), args: { ms: 9000 } })], 'bad-signature'],
    [
      'signed by the wrong key',
      () => ['sounder-1', JSON.stringify(pulse({ keyId: 'ops' }, { ...other, id: 'ops' }))],
      'bad-signature',
    ],
    [
      'expired',
      (h) => ['sounder-1', JSON.stringify(pulse({ issuedAtMs: h.now.value - 200_000, ttlSec: 60 }))],
      'expired',
    ],
    [
      'issued in the future',
      (h) => ['sounder-1', JSON.stringify(pulse({ issuedAtMs: h.now.value + 120_000 }))],
      'not-yet-valid',
    ],
    ['not allowed for the device', () => ['panic-1', JSON.stringify(pulse({ device: 'panic-1' }))], 'not-allowed'],
    [
      'not allowed for the action',
      () => [
        'sounder-1',
        JSON.stringify(signEnvelope(other.privateKey, { keyId: 'other', device: 'sounder-1', action: 'output.pulse' })),
      ],
      'not-allowed',
    ],
    [
      'an action this gateway does not have',
      () => ['sounder-1', JSON.stringify(pulse({ action: 'output.explode' }))],
      'unsupported',
    ],
  ];
  for (const [name, make, reason] of cases) {
    it(`refuses ${name} (${reason}): event, cmd-result, nothing runs`, async () => {
      const h = routerHarness(KEYS);
      const [device, payload] = make(h);
      const r = await h.router.handle(device, payload);
      expect(r).toMatchObject({ ok: false, reason });
      expect(h.runs).toEqual([]);
      expect(h.events).toHaveLength(1);
      expect(h.events[0]).toMatchObject({ type: 'command.rejected', data: { reason, target: device } });
      expect(h.results).toEqual([{ device, result: r }]);
    });
  }

  it('accepts a command within the skew on either side', async () => {
    const h = routerHarness(KEYS, { skewSec: 30 });
    const late = pulse({ issuedAtMs: h.now.value - 80_000, ttlSec: 60 }); // expired 20 s ago
    const early = pulse({ issuedAtMs: h.now.value + 20_000 });
    expect(await h.router.handle('sounder-1', JSON.stringify(late))).toMatchObject({ ok: true });
    expect(await h.router.handle('sounder-1', JSON.stringify(early))).toMatchObject({ ok: true });
    expect(h.runs).toHaveLength(2);
  });

  it('refuses a replay, also after a restart (the nonce is in the database)', async () => {
    const file = join(tempDir('wg-nonce-'), 'outbox.db');
    const env = JSON.stringify(pulse());
    const first = routerHarness(KEYS, { db: new Database(file) });
    expect(await first.router.handle('sounder-1', env)).toMatchObject({ ok: true });
    expect(await first.router.handle('sounder-1', env)).toMatchObject({ ok: false, reason: 'replay' });
    first.db.close();
    const second = routerHarness(KEYS, { db: new Database(file) });
    expect(await second.router.handle('sounder-1', env)).toMatchObject({ ok: false, reason: 'replay' });
    expect(first.runs).toHaveLength(1);
    expect(second.runs).toEqual([]);
  });

  it('unsynced clock: no not-yet-valid, but nothing that expired before the last known time', async () => {
    const file = join(tempDir('wg-nonce-'), 'outbox.db');
    const synced = routerHarness(KEYS, { db: new Database(file) });
    const t0 = synced.now.value;
    const r = await synced.router.handle('sounder-1', JSON.stringify(pulse({ issuedAtMs: t0 })));
    expect(r.ok).toBe(true); // a synced clock: the floor becomes t0
    expect(synced.nonces.floor).toBe(t0);
    synced.db.close();
    // Rebooted without NTP: the wall clock reads 1970.
    const h = routerHarness(KEYS, { db: new Database(file) });
    h.synced.value = false;
    h.now.value = 5_000;
    const old = pulse({ issuedAtMs: t0 - 3_600_000, ttlSec: 600 });
    expect(await h.router.handle('sounder-1', JSON.stringify(old))).toMatchObject({ ok: false, reason: 'expired' });
    const fresh = pulse({ issuedAtMs: t0 + 60_000 });
    expect(await h.router.handle('sounder-1', JSON.stringify(fresh))).toMatchObject({ ok: true });
  });

  it('prunes nonces only past their expiry plus skew, and only on a synced clock', async () => {
    const h = routerHarness(KEYS, { skewSec: 30 });
    await h.router.handle('sounder-1', JSON.stringify(pulse({ ttlSec: 60 })));
    expect(h.nonces.size).toBe(1);
    expect(h.nonces.prune(h.now.value + 89_000, true)).toBe(0);
    expect(h.nonces.prune(h.now.value + 10 * MAX_LIFETIME_MS, false)).toBe(0);
    expect(h.nonces.prune(h.now.value + 91_000, true)).toBe(1);
    expect(h.nonces.size).toBe(0);
  });

  it('records at most 30 rejections a minute as events, then counts the rest into the next', async () => {
    const h = routerHarness(KEYS);
    for (let i = 0; i < 40; i++) await h.router.handle('sounder-1', 'garbage');
    expect(h.events).toHaveLength(30);
    expect(h.results).toHaveLength(40);
    h.now.value += 61_000;
    await h.router.handle('sounder-1', 'garbage');
    expect(h.events.at(-1)?.data).toMatchObject({ reason: 'malformed', suppressedBefore: 10 });
  });
});
