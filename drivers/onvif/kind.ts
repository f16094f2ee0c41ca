// The ONVIF driver kind: the `camera` device type, one OnvifDriver for all cameras, and the sim
// (an in-process ONVIF responder per simulated camera: the real `onvif` client, the real SOAP and
// WS-Security path, switchable from the page).

import { resolveSecret } from '../../agent/config/secrets.js';
import type { CameraConfig, Config } from '../../agent/config/types.js';
import { CAMERA_SIM_INPUTS, CameraModel } from '../../agent/devices/camera.js';
import type { DriverKind } from '../../agent/devices/kinds.js';
import { WardgateError } from '../../agent/errors.js';
import type { Driver, DriverContext, DriverHealth } from '../types.js';
import type { CameraObservation } from './check.js';
import { OnvifDriver, type OnvifPoint } from './driver.js';
import { OnvifFixture } from './responder.js';

/** A simulated camera: the responder plus the page's switches (kept across driver restarts). */
class SimCamera {
  readonly responder = new OnvifFixture();
  private off = false;
  constructor(username: string | undefined, password: string | undefined) {
    if (username) this.responder.state.username = username;
    if (password) this.responder.state.password = password;
    this.realPassword = this.responder.state.password;
  }
  private readonly realPassword: string;

  async start(): Promise<void> {
    if (!this.off) await this.responder.start();
  }

  async stop(): Promise<void> {
    await this.responder.stop();
  }

  async set(input: string, active: boolean): Promise<void> {
    const st = this.responder.state;
    switch (input) {
      case 'offline':
        this.off = active;
        if (active) await this.responder.stop();
        else await this.responder.start();
        return;
      case 'auth-failed':
        st.password = active ? `${this.realPassword}-changed` : this.realPassword;
        return;
      case 'clock-wrong':
        st.clockOffsetMs = active ? 10 * 60_000 : 0;
        return;
      case 'frozen':
        st.frozen = active;
        return;
      case 'garbage':
        st.garbage = active;
        return;
      case 'hang':
        st.hang = active;
        return;
      default:
        throw new WardgateError(
          'WG_ERR_HTTP_BAD_REQUEST',
          `camera sim inputs are ${CAMERA_SIM_INPUTS.join(', ')}, not ${input}`,
        );
    }
  }
}

class OnvifKindDriver implements Driver {
  readonly name = 'onvif';
  private inner: OnvifDriver | undefined;
  readonly sims = new Map<string, SimCamera>();

  constructor(private readonly points: Array<OnvifPoint & { cfg: CameraConfig }>) {
    for (const p of points) {
      if (p.cfg.simulate) this.sims.set(p.cfg.id, new SimCamera(p.target.username, p.target.password));
    }
  }

  async start(ctx: DriverContext): Promise<void> {
    const points: OnvifPoint[] = [];
    for (const { cfg, ...p } of this.points) {
      const sim = this.sims.get(cfg.id);
      if (!sim) {
        points.push(p);
        continue;
      }
      await sim.start();
      // A stopped responder keeps its port: the camera is "unplugged", not moved.
      points.push({ ...p, target: { ...p.target, host: '127.0.0.1', port: sim.responder.port } });
    }
    this.inner = new OnvifDriver(points);
    await this.inner.start(ctx);
  }

  async stop(): Promise<void> {
    await this.inner?.stop();
    this.inner = undefined;
    await Promise.all([...this.sims.values()].map((s) => s.stop()));
  }

  probe(point: string): Promise<CameraObservation> {
    if (!this.inner)
      return Promise.reject(new WardgateError('WG_ERR_ONVIF_UNREACHABLE', 'the ONVIF driver is not running'));
    return this.inner.probe(point);
  }

  health(): DriverHealth {
    return this.inner?.health() ?? { state: 'stopped' };
  }
}

function cameraPoints(config: Config, points: ReadonlyArray<{ device: string; point: string; pollMs?: number }>) {
  const out: Array<OnvifPoint & { cfg: CameraConfig }> = [];
  for (const p of points) {
    const index = config.devices.findIndex((d) => d.id === p.device);
    const cfg = config.devices[index];
    if (cfg?.type !== 'camera') continue;
    const password = resolveSecret(cfg.onvif.password, `devices[${index}].onvif.password`);
    out.push({
      cfg,
      point: p.point,
      checkMs: p.pollMs ?? cfg.checkSec * 1000,
      target: {
        host: cfg.onvif.host,
        port: cfg.onvif.port,
        ...(cfg.onvif.username !== undefined ? { username: cfg.onvif.username } : {}),
        ...(password !== undefined ? { password } : {}),
        timeoutMs: cfg.timeoutMs,
        snapshot: cfg.snapshot !== undefined,
      },
    });
  }
  return out;
}

export function onvifKind(): DriverKind {
  let driver: OnvifKindDriver | undefined;
  return {
    driver: 'onvif',
    models: {
      // The driver exists only after every model (createDrivers): looked up at probe time.
      camera: (cfg, ctx) =>
        new CameraModel(cfg as CameraConfig, ctx, (point) =>
          driver
            ? driver.probe(point)
            : Promise.reject(new WardgateError('WG_ERR_ONVIF_UNREACHABLE', 'the ONVIF driver is not running')),
        ),
    },
    createDrivers(env) {
      const points = cameraPoints(env.config, env.points);
      driver = points.length > 0 ? new OnvifKindDriver(points) : undefined;
      return driver ? [driver] : [];
    },
    async simulate(deviceId, input, active) {
      const sim = driver?.sims.get(deviceId);
      if (!sim) return false;
      await sim.set(input, active);
      return true;
    },
  };
}
