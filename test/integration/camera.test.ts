// Cameras through the whole agent against the loopback ONVIF endpoint (real HTTP, WS-Security
// PasswordDigest): every transition the camera goes through gives exactly one event, with `covers`.
// "Probe now" (issue 11): device information and clock at once, no credentials; refused while dark.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import type { Probeable } from '../../agent/web/api.js';
import { OnvifFixture } from '../fixtures/onvif/server.js';
import { contractErrors } from '../helpers/central.js';
import { useCleanups } from '../helpers/cleanup.js';
import { tempDir, testConfigDoc } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();

describe('camera against the loopback ONVIF endpoint', () => {
  it('auth failure, wrong clock, frozen image, stop/start, garbage XML, a hung reply: one event each way', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const cam = await new OnvifFixture().start();
    cleanup(() => cam.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanup(() => sub.close());
    const doc = testConfigDoc({ brokers: [broker.url], dataDir: join(tempDir(), 'data'), buttons: 0 });
    doc.devices = [
      {
        id: 'cam-ae',
        type: 'camera',
        name: 'A&E door',
        covers: 'A&E entrance',
        onvif: { host: '127.0.0.1', port: cam.port, username: 'admin', password: 'cam-secret' },
        checkSec: 1,
        timeoutMs: 3000,
        snapshot: { staleChecks: 2 },
      },
    ];
    const r = checkConfig(doc);
    if (!r.ok) throw new Error(r.problems.join('; '));
    const agent = await Agent.start({ config: r.config, log: createLogger('silent') });
    cleanup(() => agent.stop());
    const entry = agent.devices.devices.get('cam-ae');
    if (!entry) throw new Error('no camera entry');
    const state = () => agent.devices.snapshot(entry).state;
    const camEvents = () => sub.events().filter((e) => e.type.startsWith('camera.'));
    const next = async (type: string) => {
      const n = camEvents().length;
      await waitFor(() => camEvents().length > n, 30_000, type);
      expect(camEvents()[n]?.type).toBe(type);
    };
    await waitFor(() => state().status === 'online', 30_000, 'camera online');

    const model = entry.model as Partial<Probeable>;
    if (typeof model.probe !== 'function') throw new Error('the camera model offers no probe');
    const answer = await model.probe();
    expect(answer).toMatchObject({
      reach: 'online',
      // The onvif library parses numeric-looking text as numbers: FirmwareVersion "1.0" arrives as 1.
      info: { manufacturer: 'Wardgate', model: 'Loopback-Cam', firmware: 1, serial: 'LB-0001' },
      cameraTime: expect.any(String),
      clockDriftSec: expect.any(Number),
    });
    expect(JSON.stringify(answer)).not.toMatch(/cam-secret|admin/);

    cam.state.password = 'changed-on-the-camera';
    await next('camera.auth_failed');
    cam.state.password = 'cam-secret';
    await next('camera.online');

    cam.state.clockOffsetMs = 10 * 60_000;
    await next('camera.clock_drift');
    cam.state.clockOffsetMs = 0;
    await next('camera.clock_drift_cleared');

    cam.state.frozen = true;
    await next('camera.image_stale');
    cam.state.frozen = false;
    await next('camera.image_stale_cleared');

    await cam.stop();
    await expect(model.probe()).rejects.toMatchObject({ code: 'WG_ERR_ONVIF_UNREACHABLE' });
    await next('camera.offline');
    await cam.start();
    await next('camera.online');

    cam.state.garbage = true;
    await next('camera.offline');
    cam.state.garbage = false;
    await next('camera.online');

    cam.state.hang = true;
    await next('camera.offline');
    cam.state.hang = false;
    await next('camera.online');

    // Three more checks: nothing repeats.
    const checks = cam.calls.filter((c) => c === 'GetDeviceInformation').length;
    await waitFor(
      () => cam.calls.filter((c) => c === 'GetDeviceInformation').length >= checks + 3,
      30_000,
      'more checks',
    );
    expect(camEvents().map((e) => e.type)).toEqual([
      'camera.auth_failed',
      'camera.online',
      'camera.clock_drift',
      'camera.clock_drift_cleared',
      'camera.image_stale',
      'camera.image_stale_cleared',
      'camera.offline',
      'camera.online',
      'camera.offline',
      'camera.online',
      'camera.offline',
      'camera.online',
    ]);
    for (const e of camEvents()) expect(e).toMatchObject({ device: 'cam-ae', data: { covers: 'A&E entrance' } });
    const offline = camEvents()
      .filter((e) => e.type === 'camera.offline')
      .map((e) => e.data);
    expect(offline).toMatchObject([
      { reach: 'unreachable', code: 'WG_ERR_ONVIF_UNREACHABLE' },
      { reach: 'reachable', code: 'WG_ERR_ONVIF_BAD_REPLY' },
      { reach: 'reachable', code: 'WG_ERR_ONVIF_TIMEOUT' },
    ]);
    // Every message published (events, state, health with `box`) against docs/asyncapi.yaml.
    expect(contractErrors(sub)).toEqual([]);
    expect(state()).toMatchObject({
      status: 'online',
      clockDrift: false,
      imageStale: false,
      info: { model: 'Loopback-Cam' },
    });
  });
});
