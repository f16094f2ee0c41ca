// How a driver kind plugs in (EdgeX's device-service shape, CONVENTIONS "a driver kind registers
// itself"): its config section, the device types whose models it provides, the drivers it runs and
// its sim. The runtime only orders start and stop; it knows no kind by name except GPIO, whose
// alarm path and outputs stay wired directly (agent/runtime.ts) for speed.
//
// A kind registers itself by adding its factory to agent/devices/driver-kinds.ts. Each Agent makes
// its own instances (a kind may hold per-agent state: the demo's in-process Modbus server).
import type { Logger } from 'pino';
import type { Driver } from '../../drivers/types.js';
import type { Config, DeviceConfig } from '../config/types.js';
import type { DeviceModel, DeviceModelContext, PointBinding } from './types.js';

/** What a kind gets to build its drivers. */
export interface DriverKindEnv {
  config: Config;
  log: Logger;
  /** Every point configured models read from this kind's driver name, with the device reading it. */
  points: Array<PointBinding & { device: string }>;
}

export type ModelFactory = (cfg: DeviceConfig, ctx: DeviceModelContext, config: Config) => DeviceModel;

export interface DriverKind {
  /** Driver name: `PointBinding.driver` of the points it serves and the supervisor unit's name. */
  readonly driver: string;
  /** Device `type`s whose models this kind provides. */
  readonly models: Readonly<Record<string, ModelFactory>>;
  /** The drivers to run for this config; none when the config does not use the kind. */
  createDrivers(env: DriverKindEnv): Driver[] | Promise<Driver[]>;
  /** check-config: problems the schema cannot express, as `path: message` lines (the raw document). */
  configProblems?(doc: Record<string, unknown>): string[];
  /**
   * The sim (demo, tests, the page): set a named input of a device it simulates. Resolves false if
   * the device is not simulated by this kind, rejects with a coded error if the input is unknown.
   */
  simulate?(deviceId: string, input: string, active: boolean): Promise<boolean>;
  /** What the driver knows of one device (Modbus: its bus and unit counters), for `/api/devices`. */
  deviceDetail?(deviceId: string): Record<string, unknown> | undefined;
}
