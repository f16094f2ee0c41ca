// A door over Modbus RTU (issue 8): a socat pty pair stands in for the USB RS-485 adapter and the
// bus, Debian's pymodbus answers with its RTU framer on the far end. Forced open and an unlock pulse
// over the serial line; then the adapter vanishes (socat killed: the pty is gone) and comes back
// (same path): offline, then online again, without restarting the agent.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import type { Config } from '../../agent/config/types.js';
import type { WgEvent } from '../../agent/event.js';
import { Agent } from '../../agent/runtime.js';
import { type DoorServer, type PtyPair, startDoorServer, startPtyPair } from '../fixtures/modbus/peers.js';
import { waitFor } from '../helpers/ports.js';

describe('a door over Modbus RTU (socat pty + pymodbus RTU framer)', () => {
  let dir: string;
  let agent: Agent | undefined;
  let pty: PtyPair | undefined;
  let server: DoorServer | undefined;
  const events: WgEvent[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wardgate-modbus-rtu-'));
    events.length = 0;
  });
  afterEach(async () => {
    await agent?.stop('test over');
    agent = undefined;
    await server?.stop();
    await pty?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function config(path: string): Config {
    const r = checkConfig({
      gateway: { id: 'ward-test', site: 'test-site', dataDir: dir, clock: { sync: 'assume' } },
      mqtt: { brokers: ['mqtt://127.0.0.1:1'], backoff: { minMs: 50, maxMs: 200 } },
      buses: [{ id: 'rs485', type: 'modbus-rtu', path, baudRate: 9600, timeoutMs: 1000 }],
      devices: [
        {
          id: 'door-1',
          type: 'door',
          name: 'Pharmacy',
          bus: 'rs485',
          unitId: 3,
          profile: 'generic-door',
          pollMs: 100,
          unlockSec: 1,
        },
        // A unit nobody answers for on the same bus: it costs its timeouts, then only backoff probes.
        { id: 'door-9', type: 'door', bus: 'rs485', unitId: 9, profile: 'generic-door', pollMs: 100 },
      ],
    });
    if (!r.ok) throw new Error(r.problems.join('\n'));
    return r.config;
  }

  const types = () => events.filter((e) => e.device === 'door-1').map((e) => e.type);
  const saw = (type: string, n = 1) =>
    waitFor(() => types().filter((t) => t === type).length >= n, 20_000, `${n} × ${type}`);
  const state = (id = 'door-1') => agent?.deviceStates().find((d) => d.id === id);
  const requests = (id: string) => Number((state(id)?.driver as { requests?: number } | undefined)?.requests ?? 0);

  it('forced and unlocked over the serial line; the adapter vanishes and returns', async () => {
    pty = await startPtyPair(dir);
    server = await startDoorServer('rtu', pty.b, [3]);
    agent = await Agent.start({ config: config(pty.a), log: pino({ level: 'silent' }) });
    agent.outbox.onAccepted((accepted) => events.push(...accepted));
    await waitFor(() => state()?.availability === 'online', 20_000, 'door online over RTU');
    // The silent unit goes offline; the live one keeps being polled meanwhile.
    await waitFor(
      () => events.some((e) => e.device === 'door-9' && e.type === 'door.controller_offline'),
      20_000,
      'unit 9 offline',
    );
    expect(state('door-9')?.availability).toBe('offline');
    const polled = requests('door-1');
    await waitFor(() => requests('door-1') >= polled + 10, 20_000, 'door-1 polled while unit 9 is silent');
    expect(requests('door-9')).toBeLessThan(requests('door-1'));

    await server.setInput(3, 0, 1);
    await saw('door.forced');
    await server.setInput(3, 0, 0);
    await saw('door.closed');
    await agent.deviceCommand('door-1', 'unlock', {});
    await waitFor(() => server?.coils.join() === 'coil 3 0 1,coil 3 0 0', 20_000, 'pulse on coil 0 over RTU');

    // Unplugged: the pty disappears with socat, and the controller with it. (Counted from here: a
    // python peer stalled by a loaded machine may have made the door flap before.)
    const count = (t: string) => types().filter((x) => x === t).length;
    const [offlineBefore, onlineBefore] = [count('door.controller_offline'), count('door.controller_online')];
    await server.stop();
    await pty.stop();
    await saw('door.controller_offline', offlineBefore + 1);
    expect(state()?.availability).toBe('offline');

    // Plugged back in at the same path.
    pty = await startPtyPair(dir);
    server = await startDoorServer('rtu', pty.b, [3]);
    await saw('door.controller_online', onlineBefore + 1);
    expect(state()?.availability).toBe('online');
    const bus = (state()?.driver ?? {}) as { bus?: string; connected?: boolean };
    expect(bus).toMatchObject({ bus: 'rs485', connected: true });
    expect(types().filter((t) => t === 'door.forced')).toHaveLength(1);
  });
});
