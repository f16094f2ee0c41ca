// A door's configuration (`type: door`, issue 8). Kept beside the model; agent/config/types.ts
// adds it to the DeviceConfig union.
import type { Table } from '../../drivers/modbus/points.js';

/** Where one signal of a door lives on its controller, and its polarity. */
export interface DoorPointMap {
  table: Table;
  address: number;
  /** Bit of a register (ir/hr only). */
  bit?: number;
  /** The signal is active when the value is 0 (a normally-closed contact wired that way). */
  activeLow?: boolean;
}

/** open is required; locked, rex (request-to-exit), tamper are inputs; release drives the lock relay. */
export interface DoorMap {
  open: DoorPointMap;
  locked?: DoorPointMap;
  rex?: DoorPointMap;
  tamper?: DoorPointMap;
  release?: DoorPointMap;
}

export interface DoorConfig {
  id: string;
  type: 'door';
  name?: string;
  location?: string;
  bus: string;
  unitId: number;
  /** A profile from config/profiles/*.yaml (`generic-door`, `moxa-iologik-e1210`, ...) ... */
  profile?: string;
  /** ... and which of its doors, for modules that carry several (1-based; default 1) ... */
  door?: number;
  /** ... or an inline map for an odd controller. */
  map?: DoorMap;
  pollMs: number;
  heldOpenSec: number;
  rexWindowSec: number;
  /** `door.unlock` without a duration releases the lock this long. */
  unlockSec: number;
  /** No unlock (command, local action) may be longer: refused at check-config and at run time. */
  maxUnlockSec: number;
}
