// A door on a Modbus controller (issue 8, DESIGN §8): position, lock, request-to-exit and tamper
// become door.opened/closed, door.locked/unlocked, door.forced (critical), door.held_open and
// door.controller_offline/online; state changes only, and `state/{door}` retained.
//
// Why the decisions are made where they are:
// - One poll's values arrive in one synchronous run (drivers/modbus/bus.ts); the model decides in a
//   microtask after it, so "lock released and door opened" read in the same poll is a legitimate
//   entry, never a forced door because the position happened to be routed before the lock.
// - A change first seen after a gap (start, controller back online) is state, not an alarm: what
//   happened while nobody looked (a REX press, an unlock) is unknown, so it is never door.forced.
// - Without a lock sensor, the lock is taken as engaged unless our own unlock pulse is running.

import type { ProbedPoint } from '../../drivers/modbus/bus.js';
import { unitPoint, valuePoint } from '../../drivers/modbus/points.js';
import type { ModbusReadingValue } from '../../drivers/modbus/types.js';
import type { Reading } from '../../drivers/types.js';
import { uptimeMs } from '../clock.js';
import { WardgateError } from '../errors.js';
import type { DoorConfig, DoorMap, DoorPointMap } from './door-config.js';
import type { DeviceModel, DeviceModelContext, PointBinding } from './types.js';

type Input = 'open' | 'locked' | 'rex' | 'tamper';
const INPUTS: readonly Input[] = ['open', 'locked', 'rex', 'tamper'];
/** One on-demand read of value points of the door's unit (the Modbus kind routes it to the bus). */
export type DoorProbe = (points: string[]) => Promise<{ points: ProbedPoint[]; latencyMs: number }>;
interface At {
  ts: number;
  uptimeMs: number;
}

export class Door implements DeviceModel {
  readonly type = 'door';
  readonly points: PointBinding[];
  private readonly cur: Partial<Record<Input, boolean>> = {};
  private readonly next: Partial<Record<Input, boolean>> = {};
  private nextAt: At | undefined;
  private gap = false;
  private queued = false;
  private online: boolean | null = null;
  private offlineReason: { code: string; error: string } | undefined;
  private openedAt: At | undefined;
  private rexAt: number | undefined;
  private unlockAt: number | undefined;
  private unlockUntil = 0;
  private heldTimer: NodeJS.Timeout | undefined;
  private relockTimer: NodeJS.Timeout | undefined;
  private heldOpen = false;
  private forced = false;
  private counts = { opened: 0, forced: 0, heldOpen: 0, unlocks: 0 };
  private stopped = false;

  constructor(
    private readonly cfg: DoorConfig,
    private readonly map: DoorMap,
    private readonly ctx: DeviceModelContext,
    private readonly readNow?: DoorProbe,
  ) {
    const pollMs = cfg.pollMs;
    this.points = [{ driver: 'modbus', point: unitPoint(cfg.bus, cfg.unitId), name: 'controller', pollMs }];
    for (const name of INPUTS) {
      const m = map[name];
      if (m) this.points.push({ driver: 'modbus', point: this.pointOf(m), name, pollMs });
    }
  }

  get id(): string {
    return this.cfg.id;
  }

  private pointOf(m: DoorPointMap): string {
    return valuePoint({
      bus: this.cfg.bus,
      unit: this.cfg.unitId,
      table: m.table,
      address: m.address,
      ...(m.bit !== undefined ? { bit: m.bit } : {}),
    });
  }

  /** Sim/page inputs: the door's signals (the sim controller sets them). */
  simInputs(): string[] {
    return INPUTS.filter((n) => this.map[n] !== undefined);
  }

  onReading(name: string, reading: Reading): void {
    if (this.stopped) return;
    const v = reading.value as ModbusReadingValue;
    if (name === 'controller') {
      if (v.kind === 'online') this.controller(true, reading);
      else if (v.kind === 'offline') this.controller(false, reading, { code: v.code, error: v.error });
      return;
    }
    if (v.kind !== 'value') return;
    const m = this.map[name as Input];
    if (!m) return;
    this.next[name as Input] = (v.value !== 0) !== (m.activeLow === true);
    if (v.first) this.gap = true;
    this.nextAt = { ts: reading.ts, uptimeMs: reading.uptimeMs };
    if (!this.queued) {
      this.queued = true;
      queueMicrotask(() => this.decide());
    }
  }

  private controller(online: boolean, at: At, why?: { code: string; error: string }): void {
    const was = this.online;
    this.online = online;
    this.offlineReason = why;
    const where = { name: this.cfg.name, location: this.cfg.location, bus: this.cfg.bus, unitId: this.cfg.unitId };
    // The first answer at start is not news; every later change is.
    if (online && was !== false) {
      this.ctx.setAvailability?.(true, undefined, { announce: false });
      this.ctx.stateChanged();
      return;
    }
    if (online) {
      this.ctx.emit({ type: 'door.controller_online', at, data: where });
      this.ctx.setAvailability?.(true, undefined, { announce: false });
    } else {
      this.ctx.emit({ type: 'door.controller_offline', at, data: { ...where, code: why?.code, error: why?.error } });
      const reason = `controller ${this.cfg.bus}/${this.cfg.unitId}: ${why?.code ?? ''} ${why?.error ?? ''}`.trim();
      this.ctx.setAvailability?.(false, reason, { announce: false });
    }
    this.ctx.stateChanged();
  }

  private decide(): void {
    this.queued = false;
    if (this.stopped) return;
    const at = this.nextAt ?? { ts: Date.now(), uptimeMs: uptimeMs() };
    const gap = this.gap;
    this.gap = false;
    const flags = gap ? { observedAfterGap: true } : {};
    const where = { name: this.cfg.name, location: this.cfg.location };
    const { next, cur } = this;
    if (next.rex !== undefined && next.rex !== cur.rex) {
      if (next.rex) this.rexAt = at.uptimeMs;
      cur.rex = next.rex;
    }
    // The controller's or reader's housing opened (door.tamper, latched on the page like a panic
    // button's); its closing again is state (`state/{door}`). Active at the first read is news too.
    if (next.tamper !== undefined && next.tamper !== cur.tamper) {
      cur.tamper = next.tamper;
      if (next.tamper) this.ctx.emit({ type: 'door.tamper', at, data: { ...where, ...flags } });
    }
    if (next.locked !== undefined && next.locked !== cur.locked) {
      const known = cur.locked !== undefined;
      cur.locked = next.locked;
      const byCommand = !next.locked && this.unlockActive(at.uptimeMs);
      if (known)
        this.ctx.emit({
          type: next.locked ? 'door.locked' : 'door.unlocked',
          at,
          data: { ...where, ...(byCommand ? { by: 'command' } : {}), ...flags },
        });
    }
    if (next.open !== undefined && next.open !== cur.open) {
      const known = cur.open !== undefined;
      cur.open = next.open;
      if (next.open) this.opened(at, known, gap, where);
      else if (known) this.closed(at, flags, where);
    }
    this.ctx.stateChanged();
  }

  private unlockActive(now: number): boolean {
    const windowMs = this.cfg.rexWindowSec * 1000;
    return now < this.unlockUntil || (this.unlockAt !== undefined && now - this.unlockAt <= windowMs);
  }

  private opened(at: At, known: boolean, gap: boolean, where: Record<string, unknown>): void {
    this.openedAt = at;
    this.armHeldOpen();
    if (!known) return; // open at start: state, and the held-open clock starts now
    this.counts.opened++;
    const windowMs = this.cfg.rexWindowSec * 1000;
    const rex = this.cur.rex === true || (this.rexAt !== undefined && at.uptimeMs - this.rexAt <= windowMs);
    const unlocked = this.unlockActive(at.uptimeMs);
    const locked = this.map.locked ? this.cur.locked === true : !unlocked;
    const forced = !gap && locked && !rex && !unlocked;
    this.ctx.emit({
      type: 'door.opened',
      at,
      data: { ...where, locked, rex, byCommand: unlocked, ...(gap ? { observedAfterGap: true } : {}) },
    });
    if (forced) {
      this.forced = true;
      this.counts.forced++;
      this.ctx.emit({ type: 'door.forced', at, data: { ...where, rexWindowSec: this.cfg.rexWindowSec } });
    }
  }

  private closed(at: At, flags: Record<string, unknown>, where: Record<string, unknown>): void {
    const openMs = this.openedAt ? Math.max(0, at.uptimeMs - this.openedAt.uptimeMs) : null;
    this.ctx.emit({
      type: 'door.closed',
      at,
      data: { ...where, openMs, wasHeldOpen: this.heldOpen, wasForced: this.forced, ...flags },
    });
    this.openedAt = undefined;
    this.heldOpen = false;
    this.forced = false;
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
  }

  private armHeldOpen(): void {
    if (this.heldTimer) clearTimeout(this.heldTimer);
    this.heldTimer = setTimeout(() => {
      this.heldTimer = undefined;
      if (this.stopped || this.cur.open !== true) return;
      this.heldOpen = true;
      this.counts.heldOpen++;
      this.ctx.emit({
        type: 'door.held_open',
        data: { name: this.cfg.name, location: this.cfg.location, heldOpenSec: this.cfg.heldOpenSec },
      });
      this.ctx.stateChanged();
    }, this.cfg.heldOpenSec * 1000);
  }

  /**
   * Release the lock for `forSec` (default unlockSec, at most maxUnlockSec), then restore: the
   * driver restores it even if we stop meanwhile. Refused while the controller is offline.
   */
  async unlock(forSec: number = this.cfg.unlockSec, by = 'command'): Promise<Record<string, unknown>> {
    const release = this.map.release;
    if (!release) throw new WardgateError('WG_ERR_DOOR_UNLOCK_REFUSED', `${this.cfg.id} has no lock release output`);
    if (!(forSec > 0) || forSec > this.cfg.maxUnlockSec)
      throw new WardgateError(
        'WG_ERR_DOOR_UNLOCK_REFUSED',
        `${this.cfg.id}: ${forSec} s is outside 0 < s <= maxUnlockSec (${this.cfg.maxUnlockSec})`,
      );
    if (this.online !== true)
      throw new WardgateError('WG_ERR_MODBUS_OFFLINE', `${this.cfg.id}: controller ${this.cfg.bus}/${this.cfg.unitId}`);
    if (!this.ctx.write) throw new WardgateError('WG_ERR_DOOR_UNLOCK_REFUSED', 'no driver to write to');
    const on = release.activeLow ? 0 : 1;
    await this.ctx.write('modbus', this.pointOf(release), { value: on, restore: 1 - on, forMs: forSec * 1000 });
    const now = uptimeMs();
    this.unlockAt = now;
    this.unlockUntil = now + forSec * 1000;
    this.counts.unlocks++;
    this.ctx.log.info({ forSec, by }, 'door unlocked');
    if (!this.map.locked) this.inferLock(forSec, by);
    this.ctx.stateChanged();
    return { door: this.cfg.id, forSec, until: new Date(Date.now() + forSec * 1000).toISOString() };
  }

  command(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (name !== 'unlock') return Promise.reject(new WardgateError('WG_ERR_HTTP_NOT_FOUND', `door command ${name}`));
    const sec = typeof args.forSec === 'number' ? args.forSec : this.cfg.unlockSec;
    return this.unlock(sec, typeof args.by === 'string' ? args.by : 'command');
  }

  /**
   * "Probe now" (issue 11): the raw values of every mapped point (the release coil too), read once
   * on the bus in turn with the polls. An offline controller is refused with WG_ERR_MODBUS_OFFLINE.
   */
  async probe(): Promise<Record<string, unknown>> {
    if (!this.readNow) throw new WardgateError('WG_ERR_DRIVER_FAULT', `${this.cfg.id}: no Modbus driver to probe`);
    if (this.online === false)
      throw new WardgateError('WG_ERR_MODBUS_OFFLINE', `${this.cfg.id}: controller ${this.cfg.bus}/${this.cfg.unitId}`);
    const names = (Object.keys(this.map) as Array<keyof DoorMap>).filter((n) => this.map[n] !== undefined);
    const byPoint = new Map(names.map((n) => [this.pointOf(this.map[n] as DoorPointMap), n]));
    const r = await this.readNow([...byPoint.keys()]);
    return {
      bus: this.cfg.bus,
      unitId: this.cfg.unitId,
      latencyMs: r.latencyMs,
      points: r.points.map(({ point, ...p }) => ({ name: byPoint.get(point), ...p })),
    };
  }

  /** No lock sensor: our own pulse is the lock state (flagged `inferred`). */
  private inferLock(forSec: number, by: string): void {
    const where = { name: this.cfg.name, location: this.cfg.location, inferred: true };
    this.ctx.emit({ type: 'door.unlocked', data: { ...where, by } });
    if (this.relockTimer) clearTimeout(this.relockTimer);
    this.relockTimer = setTimeout(() => {
      this.relockTimer = undefined;
      if (!this.stopped) this.ctx.emit({ type: 'door.locked', data: { ...where, by: 'timer' } });
      this.ctx.stateChanged();
    }, forSec * 1000);
  }

  state(): Record<string, unknown> {
    const now = uptimeMs();
    return {
      controller: {
        bus: this.cfg.bus,
        unitId: this.cfg.unitId,
        online: this.online,
        ...(this.offlineReason ? this.offlineReason : {}),
      },
      open: this.cur.open ?? null,
      locked: this.map.locked ? (this.cur.locked ?? null) : !this.unlockActive(now),
      rex: this.cur.rex ?? null,
      tamper: this.cur.tamper ?? null,
      heldOpen: this.heldOpen,
      forced: this.forced,
      openSince: this.openedAt ? new Date(this.openedAt.ts).toISOString() : null,
      unlockedUntil: now < this.unlockUntil ? new Date(Date.now() + this.unlockUntil - now).toISOString() : null,
      counts: { ...this.counts },
    };
  }

  /** A sim press reaches the model at the next poll: wait for two of them. */
  settleMs(): number {
    return this.cfg.pollMs * 2;
  }

  stop(): void {
    this.stopped = true;
    if (this.heldTimer) clearTimeout(this.heldTimer);
    if (this.relockTimer) clearTimeout(this.relockTimer);
  }
}
