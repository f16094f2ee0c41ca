// The ONVIF check (the `onvif` package over real HTTP) against the loopback camera.
import { describe, expect, it } from 'vitest';
import { CameraSession, type CameraTarget } from '../../drivers/onvif/check.js';
import { OnvifFixture } from '../fixtures/onvif/server.js';
import { useCleanups } from '../helpers/cleanup.js';
import { freePort } from '../helpers/ports.js';

const cleanup = useCleanups();

async function camera(): Promise<OnvifFixture> {
  const cam = await new OnvifFixture().start();
  cleanup(() => cam.stop());
  return cam;
}

function session(port: number, over: Partial<CameraTarget> = {}): CameraSession {
  const s = new CameraSession({
    host: '127.0.0.1',
    port,
    username: 'admin',
    password: 'cam-secret',
    timeoutMs: 5_000,
    snapshot: true,
    ...over,
  });
  cleanup(async () => s.close());
  return s;
}

describe('ONVIF check against the loopback camera', () => {
  it('is online with WS-Security, reads the device, the clock and a snapshot hash that changes per frame', async () => {
    const cam = await camera();
    const s = session(cam.port);
    const a = await s.check();
    expect(a).toMatchObject({
      reach: 'online',
      info: { manufacturer: 'Wardgate', model: 'Loopback-Cam', serial: 'LB-0001' },
    });
    expect(Math.abs(a.driftMs ?? Number.NaN)).toBeLessThan(2_000);
    expect(a.snapshotHash).toMatch(/^[0-9a-f]{64}$/);
    const b = await s.check();
    expect(b.snapshotHash).not.toBe(a.snapshotHash);
    cam.state.frozen = true;
    const c = await s.check();
    const d = await s.check();
    expect(d.snapshotHash).toBe(c.snapshotHash);
    // GetCapabilities / GetProfiles / GetSnapshotUri once per session, not per check.
    expect(cam.calls.filter((x) => x === 'GetCapabilities')).toHaveLength(1);
    expect(cam.calls.filter((x) => x === 'GetSnapshotUri')).toHaveLength(1);
  });

  it('measures a wrong camera clock and still authenticates (the digest uses the camera time)', async () => {
    const cam = await camera();
    cam.state.clockOffsetMs = -300_000;
    const obs = await session(cam.port).check();
    expect(obs.reach).toBe('online');
    expect(obs.driftMs).toBeGreaterThan(-302_000);
    expect(obs.driftMs).toBeLessThan(-298_000);
  });

  it('says auth_failed when the credentials are refused, reachable for garbage or a hung reply, unreachable when stopped', async () => {
    const cam = await camera();
    cam.state.password = 'changed';
    expect(await session(cam.port).check()).toMatchObject({ reach: 'auth_failed', errorCode: 'WG_ERR_ONVIF_AUTH' });
    cam.state.password = 'cam-secret';

    cam.state.garbage = true;
    expect(await session(cam.port).check()).toMatchObject({ reach: 'reachable', errorCode: 'WG_ERR_ONVIF_BAD_REPLY' });
    cam.state.garbage = false;

    cam.state.hang = true;
    const s = session(cam.port, { timeoutMs: 2000 });
    expect(await s.check()).toMatchObject({ reach: 'reachable', errorCode: 'WG_ERR_ONVIF_TIMEOUT' });
    cam.state.hang = false;
    // The same session recovers on its next check.
    expect((await s.check()).reach).toBe('online');

    await cam.stop();
    expect(await s.check()).toMatchObject({ reach: 'unreachable', errorCode: 'WG_ERR_ONVIF_UNREACHABLE' });
    await cam.start();
    expect((await s.check()).reach).toBe('online');
  });

  it('says unreachable for a port nobody listens on', async () => {
    expect(await session(await freePort()).check()).toMatchObject({
      reach: 'unreachable',
      errorCode: 'WG_ERR_ONVIF_UNREACHABLE',
    });
  });
});

describe('ONVIF check while stopping', () => {
  it('close() cuts a check that hangs mid-reply short instead of waiting out its deadline', async () => {
    const cam = await camera();
    cam.state.hang = true;
    const s = session(cam.port, { timeoutMs: 60_000 });
    const pending = s.check();
    await new Promise((r) => setTimeout(r, 200));
    s.close();
    // Resolves (the test's own 30 s limit would fail it otherwise), with the stop as the reason.
    expect(await pending).toMatchObject({ error: 'stopped' });
  });
});
