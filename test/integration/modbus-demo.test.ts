// The demo's doors (issue 8): config/demo.yaml as shipped, its Modbus controllers played by the
// in-process server over a real socket. A sim opening of the locked pharmacy door is a forced door
// (what the page's button does, through POST /api/sim), and the fire alarm releases the fire exit
// through the local door.unlock rule: the coil write drops the lock-sense input, read back by the poll.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../agent/config/load.js';
import type { WgEvent } from '../../agent/event.js';
import { shippedFile } from '../../agent/paths.js';
import { Agent } from '../../agent/runtime.js';
import { waitFor } from '../helpers/ports.js';

describe('demo doors (in-process Modbus TCP controller)', () => {
  let agent: Agent | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await agent?.stop('test over');
    agent = undefined;
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a sim opening of a locked door is forced; the fire alarm releases the fire exit', async () => {
    dir = await mkdtemp(join(tmpdir(), 'wardgate-demo-doors-'));
    const config = parseConfigText(readFileSync(shippedFile('config', 'demo.yaml'), 'utf8'), 'config/demo.yaml');
    config.gateway.dataDir = dir;
    config.mqtt.brokers = ['mqtt://127.0.0.1:1'];
    delete config.web;
    // Only the GPIO devices and the doors: the camera/UPS responders are another test's business.
    config.devices = config.devices.filter((d) => d.type !== 'camera' && d.type !== 'ups');
    agent = await Agent.start({ config, log: pino({ level: 'silent' }) });
    const a = agent;
    const events: WgEvent[] = [];
    a.outbox.onAccepted((accepted) => events.push(...accepted));
    const door = (id: string) => a.deviceStates().find((d) => d.id === id);
    await waitFor(() => door('door-pharmacy')?.availability === 'online', 15_000, 'demo doors online');
    expect(door('door-pharmacy')?.inputs).toEqual(['open', 'locked', 'rex', 'tamper']);

    const pharmacy = () => events.filter((e) => e.device === 'door-pharmacy').map((e) => e.type);
    // simulate() answers with what became durable within two polls; on a loaded machine the
    // poll may come later (then `pending`), so the events themselves are what is checked.
    const opened = await a.simulate('door-pharmacy', 'open', true);
    if (!opened.pending) expect(opened.accepted.map((e) => e.type)).toEqual(['door.opened', 'door.forced']);
    await waitFor(() => pharmacy().length >= 2, 15_000, 'pharmacy door opened');
    expect(pharmacy()).toEqual(['door.opened', 'door.forced']);
    await a.simulate('door-pharmacy', 'open', false);
    await waitFor(() => pharmacy().length >= 3, 15_000, 'pharmacy door closed');
    expect(pharmacy()).toEqual(['door.opened', 'door.forced', 'door.closed']);

    await a.simulate('fire-panel-ae', 'alarm', true);
    await waitFor(
      () => events.some((e) => e.device === 'door-fire-exit-ae' && e.type === 'door.unlocked'),
      15_000,
      'fire exit released by the local rule',
    );
    expect(events.find((e) => e.device === 'door-fire-exit-ae' && e.type === 'door.unlocked')?.data).toMatchObject({
      by: 'command',
    });
    expect(door('door-fire-exit-ae')?.state).toMatchObject({ locked: false });
  });
});
