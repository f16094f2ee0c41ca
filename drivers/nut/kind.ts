// The NUT driver kind (DESIGN §9, "a driver kind registers itself"): the `ups` device type, one
// NutDriver for every configured UPS, and the sim (an in-process NUT server per simulated UPS,
// started with the driver so a supervisor restart brings it back).

import { resolveSecret } from '../../agent/config/secrets.js';
import type { Config, UpsConfig } from '../../agent/config/types.js';
import type { DriverKind } from '../../agent/devices/kinds.js';
import { UpsModel, type UpsModelContext } from '../../agent/devices/ups.js';
import { WardgateError } from '../../agent/errors.js';
import type { Driver, DriverContext, DriverHealth } from '../types.js';
import { NutDriver, type NutTarget } from './driver.js';
import { NutSimServer } from './sim-server.js';

interface UpsTarget {
  cfg: UpsConfig;
  target: NutTarget;
}

/** NutDriver plus the sim servers it talks to (none when no UPS is simulated). */
class NutKindDriver implements Driver {
  readonly name = 'nut';
  private inner: NutDriver | undefined;
  readonly sims = new Map<string, NutSimServer>();

  constructor(private readonly targets: UpsTarget[]) {}

  async start(ctx: DriverContext): Promise<void> {
    const targets: NutTarget[] = [];
    for (const { cfg, target } of this.targets) {
      if (!cfg.simulate) {
        targets.push(target);
        continue;
      }
      let sim = this.sims.get(cfg.id);
      if (!sim) {
        sim = new NutSimServer(cfg.nut.ups);
        this.sims.set(cfg.id, sim);
      }
      await sim.start();
      targets.push({ ...target, host: '127.0.0.1', port: sim.port });
    }
    this.inner = new NutDriver(targets);
    await this.inner.start(ctx);
  }

  async stop(): Promise<void> {
    await this.inner?.stop();
    this.inner = undefined;
    // A sim server keeps its switches across a supervisor restart (it is the "hardware"); only its
    // listener goes, so a stopped agent leaves no socket open.
    await Promise.all([...this.sims.values()].map((s) => s.stop()));
  }

  health(): DriverHealth {
    return this.inner?.health() ?? { state: 'stopped' };
  }
}

function upsTargets(
  config: Config,
  points: ReadonlyArray<{ device: string; point: string; pollMs?: number }>,
): UpsTarget[] {
  const out: UpsTarget[] = [];
  for (const p of points) {
    const index = config.devices.findIndex((d) => d.id === p.device);
    const cfg = config.devices[index];
    if (cfg?.type !== 'ups') continue;
    const password = resolveSecret(cfg.nut.password, `devices[${index}].nut.password`);
    out.push({
      cfg,
      target: {
        point: p.point,
        host: cfg.nut.host,
        port: cfg.nut.port,
        ups: cfg.nut.ups,
        ...(cfg.nut.username !== undefined ? { username: cfg.nut.username } : {}),
        ...(password !== undefined ? { password } : {}),
        timeoutMs: cfg.nut.timeoutMs ?? 3000,
        pollMs: p.pollMs ?? cfg.pollSec * 1000,
      },
    });
  }
  return out;
}

/**
 * `requestStop`: the agent's clean stop, set by the runtime. Interim: the device contract's
 * `DeviceModelContext.requestStop` (requested in issue 9) is preferred when the registry gives it.
 */
export type NutKind = DriverKind & { requestStop?: (reason: string) => Promise<void> };

export function nutKind(): NutKind {
  let driver: NutKindDriver | undefined;
  const kind: NutKind = {
    driver: 'nut',
    // Present (undefined) so the runtime sees this kind wants the stop path.
    requestStop: undefined,
    models: {
      ups: (cfg, ctx) => {
        const fromContract = (ctx as UpsModelContext).requestStop;
        const requestStop =
          fromContract ??
          ((reason: string) =>
            kind.requestStop
              ? kind.requestStop(reason)
              : Promise.reject(new WardgateError('WG_ERR_INTERNAL', 'this runtime cannot stop on request')));
        return new UpsModel(cfg as UpsConfig, { ...ctx, requestStop });
      },
    },
    createDrivers(env) {
      const targets = upsTargets(env.config, env.points);
      driver = targets.length > 0 ? new NutKindDriver(targets) : undefined;
      return driver ? [driver] : [];
    },
    configProblems(doc) {
      const problems: string[] = [];
      const devices = Array.isArray(doc.devices) ? (doc.devices as Array<Record<string, unknown>>) : [];
      devices.forEach((d, i) => {
        const nut = d?.nut as Record<string, unknown> | undefined;
        if (d?.type === 'ups' && nut && (nut.username === undefined) !== (nut.password === undefined)) {
          problems.push(`devices[${i}].nut: username and password go together (upsd checks them at LOGIN)`);
        }
      });
      return problems;
    },
    async simulate(deviceId, input, active) {
      const sim = driver?.sims.get(deviceId);
      if (!sim) return false;
      sim.set(input, active);
      return true;
    },
  };
  return kind;
}
