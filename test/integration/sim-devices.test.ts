// The demo's camera and UPS: in-process ONVIF responder and NUT server behind the real clients,
// switched through the sim API the page uses. Every switch gives its event; a restart of the drivers
// keeps the switches (they are the "hardware").
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { contractErrors } from '../helpers/central.js';
import { useCleanups } from '../helpers/cleanup.js';
import { tempDir, testConfigDoc } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();

describe('simulated camera and UPS (the demo)', () => {
  it('page switches drive camera and UPS events through the real protocol clients', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanup(() => sub.close());
    const doc = testConfigDoc({ brokers: [broker.url], dataDir: join(tempDir(), 'data'), buttons: 0 });
    doc.devices = [
      {
        id: 'cam-sim',
        type: 'camera',
        covers: 'car park',
        onvif: { host: '127.0.0.1', username: 'admin', password: 'pw' },
        checkSec: 1,
        timeoutMs: 3000,
        simulate: true,
      },
      { id: 'ups-sim', type: 'ups', nut: { ups: 'demo' }, pollSec: 0.5, onLowBattery: { stop: false }, simulate: true },
    ];
    const r = checkConfig(doc);
    if (!r.ok) throw new Error(r.problems.join('; '));
    const agent = await Agent.start({ config: r.config, log: createLogger('silent') });
    cleanup(() => agent.stop());
    const types = () =>
      sub
        .events()
        .map((e) => e.type)
        .filter((t) => t.startsWith('camera.') || t.startsWith('ups.'));
    const snapshot = (id: string) => {
      const e = agent.devices.devices.get(id);
      if (!e) throw new Error(id);
      return agent.devices.snapshot(e);
    };
    await waitFor(
      () => snapshot('cam-sim').state.status === 'online' && snapshot('ups-sim').state.nut === 'online',
      30_000,
      'both online',
    );
    expect(snapshot('cam-sim').inputs).toContain('auth-failed');
    expect(snapshot('ups-sim').inputs).toEqual(['on-battery', 'low-battery', 'driver-lost']);

    const step = async (device: string, input: string, active: boolean, type: string) => {
      const n = types().length;
      await agent.simulate(device, input, active);
      await waitFor(() => types().length > n, 30_000, type);
      expect(types()[n]).toBe(type);
    };
    await step('ups-sim', 'on-battery', true, 'ups.on_battery');
    await step('ups-sim', 'low-battery', true, 'ups.low_battery');
    await agent.simulate('ups-sim', 'low-battery', false); // still on battery: no event
    await step('ups-sim', 'on-battery', false, 'ups.on_mains');
    await step('cam-sim', 'auth-failed', true, 'camera.auth_failed');
    await step('cam-sim', 'auth-failed', false, 'camera.online');
    await step('cam-sim', 'offline', true, 'camera.offline');
    await step('cam-sim', 'offline', false, 'camera.online');
    // Every message published (events, state, health with `box`) against docs/asyncapi.yaml.
    expect(contractErrors(sub)).toEqual([]);
    await expect(agent.simulate('cam-sim', 'explode', true)).rejects.toMatchObject({ code: 'WG_ERR_HTTP_NOT_FOUND' });
  });
});
