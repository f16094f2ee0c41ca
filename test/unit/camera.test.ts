// Camera model: ONVIF observations → exactly one event per transition, `covers` in every event.
import { describe, expect, it } from 'vitest';
import type { CameraConfig } from '../../agent/config/types.js';
import { CameraModel } from '../../agent/devices/camera.js';
import type { CameraObservation } from '../../drivers/onvif/check.js';
import { fakeContext } from '../helpers/model-context.js';

const cfg: CameraConfig = {
  id: 'cam-1',
  type: 'camera',
  covers: 'A&E entrance, ambulance bay',
  onvif: { host: '10.0.0.5', port: 80 },
  checkSec: 30,
  timeoutMs: 5000,
  maxClockDriftSec: 5,
  snapshot: { staleChecks: 3 },
};

function setup() {
  const f = fakeContext();
  const availability: boolean[] = [];
  const model = new CameraModel(cfg, { ...f.ctx, setAvailability: (online) => availability.push(online) });
  const see = (o: Partial<CameraObservation> & Pick<CameraObservation, 'reach'>) =>
    model.onReading('onvif', { point: 'cam-1', value: o, ts: Date.now(), uptimeMs: 0 });
  return { model, events: f.events, availability, see, types: () => f.events.map((e) => e.type) };
}

describe('camera model', () => {
  it('online at boot is silent; each status change is one event; reachable ↔ unreachable is one outage', () => {
    const c = setup();
    c.see({ reach: 'online', driftMs: 0 });
    c.see({ reach: 'online', driftMs: 0 });
    expect(c.events).toEqual([]);
    c.see({ reach: 'auth_failed', errorCode: 'WG_ERR_ONVIF_AUTH', error: 'refused' });
    c.see({ reach: 'auth_failed', errorCode: 'WG_ERR_ONVIF_AUTH', error: 'refused' });
    c.see({ reach: 'online', driftMs: 0 });
    c.see({ reach: 'reachable', errorCode: 'WG_ERR_ONVIF_TIMEOUT', error: 'hung' });
    c.see({ reach: 'unreachable', errorCode: 'WG_ERR_ONVIF_UNREACHABLE', error: 'refused' });
    c.see({ reach: 'online', driftMs: 0 });
    expect(c.types()).toEqual(['camera.auth_failed', 'camera.online', 'camera.offline', 'camera.online']);
    for (const e of c.events) expect(e.data?.covers).toBe('A&E entrance, ambulance bay');
    expect(c.events[0]?.data).toMatchObject({ code: 'WG_ERR_ONVIF_AUTH', reach: 'auth_failed' });
    expect(c.events[2]?.data).toMatchObject({ code: 'WG_ERR_ONVIF_TIMEOUT', reach: 'reachable' });
    expect(c.availability).toEqual([true, false, true, false, true]);
  });

  it('dark at boot is news', () => {
    const c = setup();
    c.see({ reach: 'unreachable', errorCode: 'WG_ERR_ONVIF_UNREACHABLE' });
    expect(c.types()).toEqual(['camera.offline']);
    expect(c.model.state()).toMatchObject({
      status: 'offline',
      reach: 'unreachable',
      lastErrorCode: 'WG_ERR_ONVIF_UNREACHABLE',
    });
  });

  it('clock drift over the threshold is raised once and cleared once, either direction', () => {
    const c = setup();
    c.see({ reach: 'online', driftMs: 1200 });
    c.see({ reach: 'online', driftMs: -600_000 });
    c.see({ reach: 'online', driftMs: -600_400 });
    c.see({ reach: 'online', driftMs: 300 });
    expect(c.types()).toEqual(['camera.clock_drift', 'camera.clock_drift_cleared']);
    expect(c.events[0]?.data).toMatchObject({ driftSec: -600, maxClockDriftSec: 5, covers: cfg.covers });
  });

  it('image stale after staleChecks unchanged checks, once; cleared when the picture moves', () => {
    const c = setup();
    c.see({ reach: 'online', snapshotHash: 'a' });
    c.see({ reach: 'online', snapshotHash: 'b' });
    c.see({ reach: 'online', snapshotHash: 'b' });
    c.see({ reach: 'online', snapshotHash: 'b' });
    expect(c.events).toEqual([]);
    c.see({ reach: 'online', snapshotHash: 'b' });
    c.see({ reach: 'online', snapshotHash: 'b' });
    expect(c.types()).toEqual(['camera.image_stale']);
    c.see({ reach: 'online', snapshotHash: 'c' });
    expect(c.types()).toEqual(['camera.image_stale', 'camera.image_stale_cleared']);
    expect(c.model.state()).toMatchObject({ imageStale: false, unchangedChecks: 0 });
  });

  it('a failed snapshot does not count as a frozen one', () => {
    const c = setup();
    for (let i = 0; i < 6; i++) c.see({ reach: 'online', snapshotErrorCode: 'WG_ERR_CAMERA_SNAPSHOT' });
    expect(c.events).toEqual([]);
    expect(c.model.state()).toMatchObject({ snapshotErrorCode: 'WG_ERR_CAMERA_SNAPSHOT' });
  });
});
