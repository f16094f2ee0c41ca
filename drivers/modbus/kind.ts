// The Modbus driver kind (agent/devices/kinds.ts): `buses:` and `type: door` devices, the door
// model, the driver, check-config's Modbus rules and the demo's simulated controllers.

import { Door } from '../../agent/devices/door.js';
import type { DoorConfig, DoorMap } from '../../agent/devices/door-config.js';
import type { DriverKind } from '../../agent/devices/kinds.js';
import { WardgateError } from '../../agent/errors.js';
import { modbusConfigProblems } from './check.js';
import { ModbusDriver } from './driver.js';
import { loadProfiles, resolveDoorMap } from './profiles.js';
import { ModbusSimServer } from './sim-server.js';
import type { BusConfig } from './types.js';

export function modbusKind(): DriverKind {
  const { profiles } = loadProfiles();
  const doors = new Map<string, { cfg: DoorConfig; map: DoorMap }>();
  const sims = new Map<string, ModbusSimServer>();
  let driver: ModbusDriver | undefined;
  return {
    driver: 'modbus',
    models: {
      door: (cfg, ctx) => {
        const door = cfg as DoorConfig;
        const map = resolveDoorMap(door, profiles);
        if (typeof map === 'string') throw new WardgateError('WG_ERR_CONFIG_INVALID', `device ${door.id}: ${map}`);
        doors.set(door.id, { cfg: door, map });
        // The driver exists only after every model (createDrivers): looked up at probe time.
        const probe = (points: string[]) =>
          driver
            ? driver.probe(points)
            : Promise.reject(new WardgateError('WG_ERR_MODBUS_PORT', 'the Modbus driver is not running'));
        return new Door(door, map, ctx, probe);
      },
    },
    createDrivers({ config, points }) {
      if (points.length === 0) return [];
      const buses: BusConfig[] = config.buses ?? [];
      for (const bus of buses) {
        if (bus.type !== 'modbus-tcp' || !bus.simulate) continue;
        const units = [...doors.values()].filter((d) => d.cfg.bus === bus.id).map((d) => d.cfg.unitId);
        sims.set(bus.id, new ModbusSimServer(units));
      }
      const sim =
        sims.size > 0
          ? {
              start: async () => {
                await Promise.all([...sims.values()].map((s) => s.start()));
              },
              stop: async () => {
                await Promise.all([...sims.values()].map((s) => s.stop()));
              },
            }
          : undefined;
      driver = new ModbusDriver(
        buses,
        points.map((p) => ({ point: p.point, ...(p.pollMs !== undefined ? { pollMs: p.pollMs } : {}) })),
        { portOf: (id) => sims.get(id)?.port, ...(sim ? { sim } : {}) },
      );
      return [driver];
    },
    deviceDetail(deviceId) {
      const door = doors.get(deviceId);
      const h = door ? driver?.unitHealth(door.cfg.bus, door.cfg.unitId) : undefined;
      return h ? { ...h } : undefined;
    },
    configProblems: (doc) => modbusConfigProblems(doc, profiles),
    async simulate(deviceId, input, active) {
      const door = doors.get(deviceId);
      const sim = door && sims.get(door.cfg.bus);
      if (!door || !sim) return false;
      const m = door.map[input as 'open' | 'locked' | 'rex' | 'tamper'];
      if (m?.table !== 'di')
        throw new WardgateError('WG_ERR_HTTP_NOT_FOUND', `no simulated input ${input} on ${deviceId}`);
      return sim.setInput(door.cfg.unitId, m.address, active !== (m.activeLow === true));
    },
  };
}
