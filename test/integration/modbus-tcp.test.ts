// Doors over Modbus TCP against a server that is not ours (issue 8): Debian's pymodbus plays two
// door controllers on two random ports; a real Agent (real outbox, uplink pointed at a closed
// port) polls them. Forced open, held open, an unlock pulse reaching the coil, a controller killed
// (offline while the other door keeps being polled) and restarted (online, no agent restart).
// "Probe now" through the real web API: the raw values pymodbus holds; refused while offline.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import type { Config } from '../../agent/config/types.js';
import type { WgEvent } from '../../agent/event.js';
import { Agent } from '../../agent/runtime.js';
import { hashToken } from '../../agent/web/auth.js';
import { startWeb } from '../../agent/web/server.js';
import { type DoorServer, startDoorServer } from '../fixtures/modbus/peers.js';
import { TEST_TOKEN } from '../helpers/config.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { CuttableProxy } from '../helpers/proxy.js';

describe('doors over Modbus TCP (pymodbus peers)', () => {
  let dir: string;
  let agent: Agent | undefined;
  let web: { app: FastifyInstance; url: string } | undefined;
  const servers: DoorServer[] = [];
  const events: WgEvent[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wardgate-modbus-tcp-'));
    events.length = 0;
  });
  afterEach(async () => {
    await web?.app.close();
    web = undefined;
    await agent?.stop('test over');
    agent = undefined;
    for (const s of servers.splice(0)) await s.stop();
    await rm(dir, { recursive: true, force: true });
  });

  function config(portA: number, portB: number): Config {
    const door = { pollMs: 50, heldOpenSec: 1, rexWindowSec: 5, unlockSec: 1, maxUnlockSec: 10 };
    const r = checkConfig({
      gateway: { id: 'ward-test', site: 'test-site', dataDir: dir, clock: { sync: 'assume' } },
      mqtt: { brokers: ['mqtt://127.0.0.1:1'], backoff: { minMs: 50, maxMs: 200 } },
      buses: [
        { id: 'bus-a', type: 'modbus-tcp', host: '127.0.0.1', port: portA, timeoutMs: 1000 },
        { id: 'bus-b', type: 'modbus-tcp', host: '127.0.0.1', port: portB, timeoutMs: 1000 },
      ],
      devices: [
        { id: 'door-a', type: 'door', name: 'Pharmacy', bus: 'bus-a', unitId: 1, profile: 'generic-door', ...door },
        { id: 'door-b', type: 'door', name: 'Ward 3', bus: 'bus-b', unitId: 2, profile: 'generic-door', ...door },
      ],
    });
    if (!r.ok) throw new Error(r.problems.join('\n'));
    return r.config;
  }

  const types = (device: string) => events.filter((e) => e.device === device).map((e) => e.type);
  const state = (id: string) => agent?.deviceStates().find((d) => d.id === id);
  const requests = (id: string) => Number((state(id)?.driver as { requests?: number } | undefined)?.requests ?? 0);
  const saw = (device: string, type: string, n = 1) =>
    waitFor(() => types(device).filter((t) => t === type).length >= n, 15_000, `${device}: ${n} × ${type}`);

  it('forced, held open, unlock pulse, controller killed and back', async () => {
    const [portA, portB] = [await freePort(), await freePort()];
    servers.push(await startDoorServer('tcp', portA, [1]), await startDoorServer('tcp', portB, [2]));
    const [a, b] = servers as [DoorServer, DoorServer];
    agent = await Agent.start({ config: config(portA, portB), log: pino({ level: 'silent' }) });
    agent.outbox.onAccepted((accepted) => events.push(...accepted));
    await waitFor(() => state('door-a')?.availability === 'online' && state('door-b')?.availability === 'online');
    expect(state('door-a')?.state).toMatchObject({ open: false, locked: true });

    // Probe now: the raw values of door A's map, as pymodbus holds them (di 1 = locked at start).
    web = await startWeb(agent, {
      host: '127.0.0.1',
      port: 0,
      tokens: [hashToken(TEST_TOKEN)],
      log: pino({ level: 'silent' }),
    });
    const auth = { authorization: `Bearer ${TEST_TOKEN}` };
    const probe = (id: string) => fetch(`${web?.url}/api/devices/${id}/probe`, { method: 'POST', headers: auth });
    const listed = (await (await fetch(`${web.url}/api/devices`, { headers: auth })).json()) as {
      devices: Array<{ id: string; canProbe?: boolean }>;
    };
    expect(listed.devices.find((d) => d.id === 'door-a')?.canProbe).toBe(true);
    const probed = await probe('door-a');
    expect(probed.status).toBe(200);
    expect(await probed.json()).toMatchObject({
      device: 'door-a',
      answer: {
        bus: 'bus-a',
        unitId: 1,
        latencyMs: expect.any(Number),
        points: [
          { name: 'open', table: 'di', address: 0, raw: 0, value: 0 },
          { name: 'locked', table: 'di', address: 1, raw: 1, value: 1 },
          { name: 'rex', table: 'di', address: 2, raw: 0, value: 0 },
          { name: 'tamper', table: 'di', address: 3, raw: 0, value: 0 },
          { name: 'release', table: 'coil', address: 0, raw: 0, value: 0 },
        ],
      },
    });

    // Forced: opened while locked, no request-to-exit, no unlock.
    await a.setInput(1, 0, 1);
    await saw('door-a', 'door.forced');
    expect(events.find((e) => e.type === 'door.forced')?.severity).toBe('critical');
    await a.setInput(1, 0, 0);
    await saw('door-a', 'door.closed');

    // A request-to-exit first: a legitimate opening, then held open past heldOpenSec.
    await b.setInput(2, 2, 1);
    await b.setInput(2, 0, 1);
    await saw('door-b', 'door.opened');
    await saw('door-b', 'door.held_open');
    await b.setInput(2, 0, 0);
    await b.setInput(2, 2, 0);
    await saw('door-b', 'door.closed');
    expect(events.find((e) => e.device === 'door-b' && e.type === 'door.closed')?.data).toMatchObject({
      wasHeldOpen: true,
    });
    expect(types('door-b')).not.toContain('door.forced');

    // The unlock pulse reaches the coil and is restored.
    await agent.deviceCommand('door-a', 'unlock', { forSec: 1 });
    await waitFor(() => a.coils.includes('coil 1 0 1') && a.coils.includes('coil 1 0 0'), 15_000, 'pulse on coil 0');
    expect(a.coils.slice(-2)).toEqual(['coil 1 0 1', 'coil 1 0 0']);
    await expect(agent.deviceCommand('door-a', 'unlock', { forSec: 60 })).rejects.toMatchObject({
      code: 'WG_ERR_DOOR_UNLOCK_REFUSED',
    });

    // Controller A dies: offline; door B keeps being polled meanwhile. (Counted from here: a
    // python peer stalled by a loaded machine may have made the door flap before.)
    const count = (t: string) => types('door-a').filter((x) => x === t).length;
    const [offlineBefore, onlineBefore] = [count('door.controller_offline'), count('door.controller_online')];
    await a.stop();
    await saw('door-a', 'door.controller_offline', offlineBefore + 1);
    await expect(agent.deviceCommand('door-a', 'unlock', {})).rejects.toMatchObject({ code: 'WG_ERR_MODBUS_OFFLINE' });
    const refused = await probe('door-a');
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('WG_ERR_MODBUS_OFFLINE');
    const polled = requests('door-b');
    await waitFor(() => requests('door-b') >= polled + 20, 15_000, 'door-b polled while door-a is offline');
    await b.setInput(2, 0, 1);
    await saw('door-b', 'door.opened', 2);
    expect(types('door-b')).not.toContain('door.controller_offline');
    // Counters per bus and unit on /metrics and in health.
    const metrics = await agent.metrics.registry.metrics();
    expect(metrics).toMatch(/wardgate_modbus_requests_total\{bus="bus-b",unit="2"\} [1-9]/);
    expect(metrics).toContain('wardgate_modbus_unit_online{bus="bus-a",unit="1"} 0');
    expect(agent.healthPayload()).toMatchObject({ drivers: { modbus: { state: 'degraded' } } });

    // Restarted on the same port: online again without restarting wardgate.
    servers[0] = await startDoorServer('tcp', portA, [1]);
    await saw('door-a', 'door.controller_online', onlineBefore + 1);
    expect(state('door-a')?.availability).toBe('online');
    expect(types('door-a').filter((t) => t === 'door.forced')).toHaveLength(1);
    expect(types('door-b')).not.toContain('door.forced');
  });

  it('a controller that goes silent without closing (power cycle, dead route) is offline, then back', async () => {
    const port = await freePort();
    servers.push(await startDoorServer('tcp', port, [1]));
    const proxy = await new CuttableProxy(port).start();
    try {
      agent = await Agent.start({ config: config(proxy.port, port), log: pino({ level: 'silent' }) });
      agent.outbox.onAccepted((accepted) => events.push(...accepted));
      await waitFor(() => state('door-a')?.availability === 'online', 15_000, 'door-a online through the proxy');
      proxy.silence(); // no FIN, no RST: only timeouts tell
      await saw('door-a', 'door.controller_offline');
      expect(events.find((e) => e.type === 'door.controller_offline')?.data).toMatchObject({
        code: 'WG_ERR_MODBUS_TIMEOUT',
      });
      proxy.restore(); // the controller is back: its fresh TCP stack resets the old connection
      await saw('door-a', 'door.controller_online');
      expect(state('door-a')?.driver).toMatchObject({ connected: true, online: true });
      const health = agent.healthPayload() as { drivers: { modbus: { detail: { buses: Record<string, unknown> } } } };
      expect(health.drivers.modbus.detail.buses['bus-a']).toMatchObject({
        connected: true,
        reconnects: expect.any(Number),
      });
      expect((health.drivers.modbus.detail.buses['bus-a'] as { reconnects: number }).reconnects).toBeGreaterThanOrEqual(
        1,
      );
      expect(types('door-a')).not.toContain('door.forced');
    } finally {
      await agent?.stop('test over');
      agent = undefined;
      await proxy.stop();
    }
  });
});
