// The door model on a fake clock (issue 8): readings as the Modbus driver emits them (one poll in
// one synchronous run), decisions in the microtask after, held-open and the REX window on timers.
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { Door } from '../../agent/devices/door.js';
import type { DoorConfig, DoorMap } from '../../agent/devices/door-config.js';
import type { DeviceModelContext, ModelEvent } from '../../agent/devices/types.js';
import type { ModbusReadingValue } from '../../drivers/modbus/types.js';
import { useModelClock } from '../helpers/model-context.js';

const GENERIC: DoorMap = {
  open: { table: 'di', address: 0 },
  locked: { table: 'di', address: 1 },
  rex: { table: 'di', address: 2 },
  tamper: { table: 'di', address: 3 },
  release: { table: 'coil', address: 0 },
};

function makeDoor(map: DoorMap = GENERIC, over: Partial<DoorConfig> = {}) {
  const events: ModelEvent[] = [];
  const writes: Array<{ driver: string; point: string; value: unknown }> = [];
  const availability: Array<{ online: boolean; announce: boolean | undefined }> = [];
  const ctx: DeviceModelContext = {
    emit: (ev) => events.push(ev),
    stateChanged: () => undefined,
    setOutput: () => undefined,
    log: pino({ level: 'silent' }),
    setAvailability: (online, _reason, opts) => availability.push({ online, announce: opts?.announce }),
    write: async (driver, point, value) => {
      writes.push({ driver, point, value });
    },
  };
  const cfg: DoorConfig = {
    id: 'door-1',
    type: 'door',
    bus: 'bus',
    unitId: 4,
    pollMs: 250,
    heldOpenSec: 30,
    rexWindowSec: 5,
    unlockSec: 5,
    maxUnlockSec: 30,
    ...over,
  };
  const door = new Door(cfg, map, ctx);
  const read = (name: string, value: ModbusReadingValue) =>
    door.onReading(name, { point: 'x', value, ts: Date.now(), uptimeMs: performance.now() });
  /** One poll: every value emitted in one run, then the microtask in which the model decides. */
  const poll = async (values: Partial<Record<'open' | 'locked' | 'rex' | 'tamper', 0 | 1>>, first = false) => {
    for (const [name, v] of Object.entries(values)) read(name, { kind: 'value', value: v, first });
    await Promise.resolve();
  };
  const online = () => read('controller', { kind: 'online' });
  const types = () => events.map((e) => e.type);
  return { door, events, writes, availability, poll, online, read, types };
}

describe('door model', () => {
  useModelClock();

  it('the first poll is state, not events; opened while locked without REX is forced', async () => {
    const d = makeDoor();
    d.online();
    await d.poll({ open: 0, locked: 1, rex: 0, tamper: 0 }, true);
    expect(d.types()).toEqual([]);
    await d.poll({ open: 1 });
    expect(d.types()).toEqual(['door.opened', 'door.forced']);
    expect(d.events[1]?.data).toMatchObject({ rexWindowSec: 5 });
    await d.poll({ open: 0 });
    expect(d.events.at(-1)).toMatchObject({ type: 'door.closed', data: { wasForced: true } });
  });

  it('lock released and door opened in the same poll is a legitimate entry, whatever the order', async () => {
    const d = makeDoor();
    d.online();
    await d.poll({ open: 0, locked: 1, rex: 0 }, true);
    await d.poll({ open: 1, locked: 0 }); // position routed before the lock
    expect(d.types()).toEqual(['door.unlocked', 'door.opened']);
  });

  it('a REX press within rexWindowSec before the opening is no forced door; after the window it is', async () => {
    const d = makeDoor();
    d.online();
    await d.poll({ open: 0, locked: 1, rex: 0 }, true);
    await d.poll({ rex: 1 });
    await d.poll({ rex: 0 });
    vi.advanceTimersByTime(4900);
    await d.poll({ open: 1 });
    expect(d.types()).toEqual(['door.opened']);
    await d.poll({ open: 0 });
    await d.poll({ rex: 1 });
    await d.poll({ rex: 0 });
    vi.advanceTimersByTime(5100);
    await d.poll({ open: 1 });
    expect(d.types().slice(-2)).toEqual(['door.opened', 'door.forced']);
  });

  it('door.tamper when the housing opens (once per opening), also when first read open; its closing is state', async () => {
    const d = makeDoor();
    d.online();
    await d.poll({ open: 0, locked: 1, rex: 0, tamper: 0 }, true);
    expect(d.types()).toEqual([]);
    await d.poll({ tamper: 1 });
    await d.poll({ tamper: 1 });
    expect(d.types()).toEqual(['door.tamper']);
    expect(d.events[0]?.data).not.toHaveProperty('observedAfterGap');
    await d.poll({ tamper: 0 });
    expect(d.types()).toEqual(['door.tamper']);
    expect(d.door.state()).toMatchObject({ tamper: false });
    await d.poll({ tamper: 1 });
    expect(d.types()).toEqual(['door.tamper', 'door.tamper']);

    const started = makeDoor();
    started.online();
    await started.poll({ open: 0, locked: 1, tamper: 1 }, true);
    expect(started.events).toEqual([
      expect.objectContaining({ type: 'door.tamper', data: expect.objectContaining({ observedAfterGap: true }) }),
    ]);
  });

  it('held open after heldOpenSec, once; cleared on close', async () => {
    const d = makeDoor();
    d.online();
    await d.poll({ open: 0, locked: 0 }, true);
    await d.poll({ open: 1 });
    vi.advanceTimersByTime(29_999);
    expect(d.types()).toEqual(['door.opened']);
    vi.advanceTimersByTime(1);
    expect(d.types()).toEqual(['door.opened', 'door.held_open']);
    vi.advanceTimersByTime(120_000);
    expect(d.types().filter((t) => t === 'door.held_open')).toHaveLength(1);
    await d.poll({ open: 0 });
    expect(d.events.at(-1)).toMatchObject({ type: 'door.closed', data: { wasHeldOpen: true, openMs: 150_000 } });
    expect(d.door.state()).toMatchObject({ heldOpen: false, open: false });
  });

  it('an opening first seen after the controller was offline is never forced', async () => {
    const d = makeDoor();
    d.online();
    await d.poll({ open: 0, locked: 1, rex: 0 }, true);
    d.read('controller', { kind: 'offline', code: 'WG_ERR_MODBUS_TIMEOUT', error: 'Timed out' });
    d.online();
    await d.poll({ open: 1, locked: 1, rex: 0 }, true);
    expect(d.types()).toEqual(['door.controller_offline', 'door.controller_online', 'door.opened']);
    expect(d.events.at(-1)?.data).toMatchObject({ observedAfterGap: true });
    expect(d.availability.map((a) => [a.online, a.announce])).toEqual([
      [true, false],
      [false, false],
      [true, false],
    ]);
  });

  it('unlock: a pulse through the driver, bounded, refused offline; an opening during it is not forced', async () => {
    const d = makeDoor();
    await expect(d.door.unlock(5)).rejects.toMatchObject({ code: 'WG_ERR_MODBUS_OFFLINE' });
    d.online();
    await d.poll({ open: 0, locked: 1, rex: 0 }, true);
    await expect(d.door.unlock(31)).rejects.toMatchObject({ code: 'WG_ERR_DOOR_UNLOCK_REFUSED' });
    await d.door.command('unlock', { forSec: 3 });
    expect(d.writes).toEqual([
      { driver: 'modbus', point: 'bus/4/coil/0', value: { value: 1, restore: 0, forMs: 3000 } },
    ]);
    // A strike with no feedback in time: the lock still reads engaged as the door opens.
    await d.poll({ open: 1 });
    expect(d.types()).toEqual(['door.opened']);
    expect(d.events[0]?.data).toMatchObject({ byCommand: true });
  });

  it('without a lock sensor the lock is inferred from our own pulse', async () => {
    const d = makeDoor({
      open: GENERIC.open,
      rex: GENERIC.rex,
      release: { table: 'coil', address: 2, activeLow: true },
    });
    d.online();
    await d.poll({ open: 0, rex: 0 }, true);
    await d.door.unlock(2);
    expect(d.writes[0]?.value).toEqual({ value: 0, restore: 1, forMs: 2000 });
    expect(d.types()).toEqual(['door.unlocked']);
    vi.advanceTimersByTime(2000);
    expect(d.types()).toEqual(['door.unlocked', 'door.locked']);
    vi.advanceTimersByTime(5000);
    await d.poll({ open: 1 });
    expect(d.types().slice(-2)).toEqual(['door.opened', 'door.forced']);
  });

  it('a door without a release output refuses unlock', async () => {
    const d = makeDoor({ open: GENERIC.open });
    d.online();
    await expect(d.door.unlock()).rejects.toMatchObject({ code: 'WG_ERR_DOOR_UNLOCK_REFUSED' });
    expect(d.door.points.map((p) => p.point)).toEqual(['bus/4', 'bus/4/di/0']);
  });
});
