// The NUT client against Debian's real upsd + dummy-ups, and against a hostile scripted server.

import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { NutClient } from '../../drivers/nut/client.js';
import { NutDriver } from '../../drivers/nut/driver.js';
import { nutCodeOf } from '../../drivers/nut/protocol.js';
import { useCleanups } from '../helpers/cleanup.js';
import { NutServer } from '../helpers/nut-server.js';
import { waitFor } from '../helpers/ports.js';
import { scriptedNut } from '../helpers/scripted-nut.js';

const cleanup = useCleanups();

async function client(port: number, timeoutMs = 5_000): Promise<NutClient> {
  const c = new NutClient({ host: '127.0.0.1', port, timeoutMs });
  await c.connect();
  cleanup(async () => c.close());
  return c;
}

describe('NUT client against real upsd', () => {
  it('lists and gets variables, logs in, and reports refused logins and unknown UPSes with codes', async () => {
    const nut = await new NutServer().start();
    cleanup(() => nut.stop());
    const c = await client(nut.port);
    const vars = await c.listVar(nut.ups);
    expect(vars['ups.status']).toBe('OL');
    expect(vars['battery.charge']).toBe('100');
    expect(await c.getVar(nut.ups, 'ups.load')).toBe('20');
    await c.login(nut.user, nut.password, nut.ups);
    await c.logout();

    const bad = await client(nut.port);
    const refused = await bad.login(nut.user, 'wrong', nut.ups).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'WG_ERR_NUT_AUTH' });
    expect(nutCodeOf(refused)).toBe('ACCESS-DENIED');
    expect(String((refused as Error).message)).toMatch(/refused the username\/password.*ACCESS-DENIED/);

    const unknown = await bad.listVar('nope').catch((e: unknown) => e);
    expect(unknown).toMatchObject({ code: 'WG_ERR_NUT_REPLY' });
    expect(nutCodeOf(unknown)).toBe('UNKNOWN-UPS');
    // An ERR reply leaves the connection usable.
    expect((await bad.listVar(nut.ups))['ups.status']).toBe('OL');
  });

  it('sees status changes from the .dev file, and DRIVER-NOT-CONNECTED when dummy-ups is gone', async () => {
    const nut = await new NutServer().start();
    cleanup(() => nut.stop());
    const c = await client(nut.port);
    nut.setVars({ 'ups.status': 'OB LB', 'battery.charge': '8' });
    await waitFor(async () => (await c.getVar(nut.ups, 'ups.status')) === 'OB LB', 20_000, 'OB LB');
    await nut.stopDriver();
    await waitFor(
      async () => nutCodeOf(await c.listVar(nut.ups).catch((e: unknown) => e)) === 'DRIVER-NOT-CONNECTED',
      20_000,
      'DRIVER-NOT-CONNECTED',
    );
  });

  it('fails a request in flight with WG_ERR_NUT_CONNECT when upsd is killed, and connect is refused after', async () => {
    const nut = await new NutServer().start();
    cleanup(() => nut.stop());
    const c = await client(nut.port);
    await nut.stopUpsd();
    await expect(c.listVar(nut.ups)).rejects.toMatchObject({ code: 'WG_ERR_NUT_CONNECT' });
    await expect(
      new NutClient({ host: '127.0.0.1', port: nut.port, timeoutMs: 5_000 }).connect(),
    ).rejects.toMatchObject({
      code: 'WG_ERR_NUT_CONNECT',
    });
  });
});

describe('NUT client against a hostile server', () => {
  it('rejects malformed lines, unsolicited lines and closes mid-list with codes, never hangs', async () => {
    const srv = await scriptedNut((req, s) => {
      if (req.startsWith('LIST VAR "ups1"'))
        s.write('BEGIN LIST VAR ups1\nVAR ups1 ups.status "OL"\nVAR ups1 broken "unterminated\n');
      else if (req.startsWith('LIST VAR "ups2"')) s.write('BEGIN LIST VAR ups2\nVAR ups2 ups.status "OL"\n');
      else if (req.startsWith('LIST VAR "ups2b"')) s.end('BEGIN LIST VAR ups2b\nVAR ups2b ups.status "OL"\n');
      else if (req.startsWith('LIST VAR "ups3"')) s.write('HELLO there\n');
      else if (req.startsWith('GET VAR')) s.write('ERR DATA-STALE\n');
      else if (req.startsWith('LIST VAR "ups4"')) s.write('BEGIN LIST VAR ups4\nGARBAGE\nEND LIST VAR ups4\n');
    });
    cleanup(() => srv.close());

    await expect((await client(srv.port)).listVar('ups1')).rejects.toMatchObject({ code: 'WG_ERR_NUT_PROTOCOL' });
    await expect((await client(srv.port)).listVar('ups2b')).rejects.toMatchObject({ code: 'WG_ERR_NUT_CONNECT' });
    await expect((await client(srv.port)).listVar('ups3')).rejects.toMatchObject({ code: 'WG_ERR_NUT_PROTOCOL' });
    await expect((await client(srv.port)).listVar('ups4')).rejects.toMatchObject({ code: 'WG_ERR_NUT_PROTOCOL' });
    const stale = await (await client(srv.port)).getVar('ups1', 'ups.status').catch((e: unknown) => e);
    expect(stale).toMatchObject({ code: 'WG_ERR_NUT_REPLY' });
    expect(nutCodeOf(stale)).toBe('DATA-STALE');
    // A list that never ends costs the timeout, then the socket is closed.
    const slow = await client(srv.port, 300);
    await expect(slow.listVar('ups2')).rejects.toMatchObject({ code: 'WG_ERR_NUT_TIMEOUT' });
    await expect(slow.getVar('ups1', 'x')).rejects.toMatchObject({ code: 'WG_ERR_NUT_TIMEOUT' });
  });
});

describe('NUT driver: bad input is reported with a code and retried, never a crash', () => {
  it('a server that answers garbage, then ERR, then closes mid-list, then behaves: error readings, then vars', async () => {
    let listed = 0;
    const srv = await scriptedNut((req, s) => {
      if (!req.startsWith('LIST VAR')) return;
      listed++;
      if (listed === 1) s.write('BEGIN LIST VAR ups1\nVAR ups1 "broken\n');
      else if (listed === 2) s.write('ERR DATA-STALE\n');
      else if (listed === 3) s.end('BEGIN LIST VAR ups1\nVAR ups1 ups.status "OL"\n');
      else s.write('BEGIN LIST VAR ups1\nVAR ups1 ups.status "OB"\nEND LIST VAR ups1\n');
    });
    cleanup(() => srv.close());
    const readings: Array<{ kind: string; code?: string; nutCode?: string }> = [];
    const driver = new NutDriver([
      { point: 'u', host: '127.0.0.1', port: srv.port, ups: 'ups1', timeoutMs: 2_000, pollMs: 50 },
    ]);
    await driver.start({
      log: pino({ level: 'silent' }),
      signal: new AbortController().signal,
      emit: (r) => readings.push(r.value as never),
      fail: (err) => {
        throw err;
      },
    });
    cleanup(() => driver.stop());
    await waitFor(() => readings.some((r) => r.kind === 'vars'), 20_000, 'a good poll');
    expect(readings.slice(0, 4)).toMatchObject([
      { kind: 'error', code: 'WG_ERR_NUT_PROTOCOL' },
      { kind: 'error', code: 'WG_ERR_NUT_REPLY', nutCode: 'DATA-STALE' },
      { kind: 'error', code: 'WG_ERR_NUT_CONNECT' },
      { kind: 'vars' },
    ]);
    expect(driver.health().counters).toMatchObject({ errors: 3 });
  });
});
