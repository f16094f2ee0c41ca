// check-config's Modbus rules, beyond the schema (issue 8): doors on buses that exist, profiles
// that exist, no bus nobody uses, no two devices reading or driving the same signal of one unit,
// no unlock longer than the door allows (its own unlockSec, and local `door.unlock` rules).
import type { DoorConfig } from '../../agent/devices/door-config.js';
import { type DoorProfile, doorMapProblems, resolveDoorMap } from './profiles.js';

type Loose = Record<string, unknown>;
const obj = (v: unknown): Loose => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Loose) : {});

export function modbusConfigProblems(doc: Loose, profiles: Map<string, DoorProfile>): string[] {
  const problems: string[] = [];
  const buses = Array.isArray(doc.buses) ? doc.buses.map(obj) : [];
  const devices = Array.isArray(doc.devices) ? doc.devices.map(obj) : [];
  const busIds = new Map<string, number>();
  buses.forEach((b, i) => {
    const id = String(b.id);
    if (busIds.has(id)) problems.push(`buses[${i}].id: ${id} is also buses[${busIds.get(id)}]`);
    else busIds.set(id, i);
  });
  const used = new Set<string>();
  const signals = new Map<string, string>();
  devices.forEach((d, i) => {
    if (d.type !== 'door') return;
    const where = `devices[${i}]`;
    const door = d as unknown as DoorConfig;
    const bus = String(door.bus);
    used.add(bus);
    if (!busIds.has(bus)) problems.push(`${where}.bus: no bus ${JSON.stringify(bus)} in buses`);
    if (door.map !== undefined) problems.push(...doorMapProblems(`${where}.map`, door.map));
    const map = resolveDoorMap(door, profiles);
    if (typeof map === 'string') {
      problems.push(`${where}${door.map ? '.map' : '.profile'}: ${map}`);
      return;
    }
    const unlockSec = door.unlockSec ?? 5;
    const maxUnlockSec = door.maxUnlockSec ?? 30;
    if (unlockSec > maxUnlockSec)
      problems.push(`${where}.unlockSec: ${unlockSec} s is longer than its maxUnlockSec (${maxUnlockSec} s)`);
    // Two devices on one unit clash when they read or drive the same signal (a copy-pasted
    // unitId); two doors of one I/O module on different channels do not.
    for (const [signal, m] of Object.entries(map)) {
      if (!m) continue;
      const key = `${bus}/${door.unitId}/${m.table}/${m.address}${m.bit === undefined ? '' : `.${m.bit}`}`;
      const other = signals.get(key);
      if (other && other !== door.id)
        problems.push(
          `${where}: ${signal} (${key}) is also read or driven by ${other}: two devices clash on unit ${door.unitId}`,
        );
      else signals.set(key, String(door.id));
    }
  });
  buses.forEach((b, i) => {
    if (!used.has(String(b.id))) problems.push(`buses[${i}]: bus ${String(b.id)} is used by no device`);
  });
  const doorsById = new Map(
    devices.filter((d) => d.type === 'door').map((d) => [String(d.id), d as unknown as DoorConfig]),
  );
  const actions = Array.isArray(doc.actions) ? doc.actions.map(obj) : [];
  actions.forEach((a, i) => {
    if (a.do !== 'door.unlock') return;
    const list = Array.isArray(a.doors) ? a.doors.map(String) : [];
    for (const id of list) {
      const door = doorsById.get(id);
      if (!door) {
        problems.push(`actions[${i}].doors: ${id} is not a door`);
        continue;
      }
      const sec = typeof a.unlockSec === 'number' ? a.unlockSec : (door.unlockSec ?? 5);
      const max = door.maxUnlockSec ?? 30;
      if (sec > max) problems.push(`actions[${i}].unlockSec: ${sec} s is longer than ${id}'s maxUnlockSec (${max} s)`);
    }
  });
  return problems;
}
