// What a device model is: pure logic from readings to state and events (DESIGN §3). Models never
// touch hardware; the runtime routes driver readings to them and their events to the outbox.
import type { Logger } from 'pino';
import { type LineRef, lineKey } from '../../drivers/gpio/backend.js';
import type { Reading } from '../../drivers/types.js';
import type { MakeEventInput } from '../event.js';
import type { EdgeTime } from './stable-input.js';

export type ModelEvent = Omit<MakeEventInput, 'device' | 'deviceType'>;

export interface DeviceModelContext {
  emit(ev: ModelEvent): void;
  /** The device's retained state changed: republish `state/{device}`. */
  stateChanged(): void;
  /** Drive a configured output the model owns (a panic button's LED); `by` says why, for the page. */
  setOutput(outputId: string, active: boolean, by: string): void;
  log: Logger;
  /**
   * The model owns its device's availability (a door controller that stops answering), instead of
   * the runtime's per-line GPIO rule. `announce: false` when the model already emitted its own
   * event for it (`door.controller_offline`), so no `device.offline` doubles it.
   */
  setAvailability?(online: boolean, reason?: string, opts?: { announce?: boolean }): void;
  /** Write an output point through its driver (`door.unlock` → a Modbus coil). Rejects with a code. */
  write?(driver: string, point: string, value: unknown): Promise<void>;
}

/**
 * One point a model reads (DESIGN §3): from which driver, the driver-local point, and the model's
 * name for it. `pollMs` is for polled drivers (Modbus): how often the point must be read.
 */
export interface PointBinding {
  driver: string;
  point: string;
  name: string;
  pollMs?: number;
}

export interface GpioInputWiring {
  /** The model's name for the input: `button`, `tamper`, `alarm`, `fault`. */
  name: string;
  ref: LineRef;
  activeLow: boolean;
}

export interface DeviceState {
  id: string;
  type: string;
  name?: string;
  location?: string;
  availability: 'online' | 'offline';
  availabilityReason?: string;
  since: string;
  /** Names of the model's inputs (what `POST /api/sim/{device}/{input}` takes). */
  inputs?: string[];
  state: Record<string, unknown>;
  /** What its driver knows of it (Modbus: bus and unit counters), when the driver kind says. */
  driver?: Record<string, unknown>;
}

/** What every model is, whatever driver it reads. */
export interface DeviceModel {
  readonly id: string;
  readonly type: string;
  /** Every point the model reads, from which driver: routing, availability, the page. */
  readonly points: readonly PointBinding[];
  /**
   * A reading of one of its points (not GPIO: see GpioInputModel), `name` being the binding's.
   * Called synchronously from the driver's emit: readings of one poll arrive in one turn.
   */
  onReading?(name: string, reading: Reading): void;
  /** Inputs the sim (page, `POST /api/sim/{device}/{input}`) can drive, if not GPIO lines. */
  simInputs?(): string[];
  state(): Record<string, unknown>;
  /** Longest time an input change may wait in debounce/hold before it becomes an event. */
  settleMs?(): number;
  /** An input change is still waiting in debounce/hold (the sim waits for it on a late loop). */
  settling?(): boolean;
  /** The control room acknowledged the alarm (lights a panic button's LED). True if an LED was lit. */
  acknowledge?(): boolean;
  /** A command of the device (`unlock` on a door); rejects with a coded error when refused. */
  command?(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>>;
  stop(): void;
}

/**
 * A model of GPIO binary inputs: the alarm path. The registry decodes GPIO readings itself and
 * calls these with active-low already applied (no Reading object reaches the model), so a panic
 * press costs one Map lookup and a call: no per-edge allocation beyond the timestamp.
 */
export interface GpioInputModel extends DeviceModel {
  readonly gpioInputs: GpioInputWiring[];
  /** First level read of the line in this process (already active-low corrected): news if active. */
  initial(input: string, active: boolean, at: EdgeTime): void;
  /**
   * A level read after a gap in watching (driver restart, recovered line, hand-over, overflow,
   * periodic check): only a transition the model has not seen becomes an event, flagged
   * `data.observedAfterGap: true`; an unchanged level is never reported twice.
   */
  resync(input: string, active: boolean, at: EdgeTime): void;
  input(input: string, active: boolean, at: EdgeTime): void;
  /** The driver declared the input's line flooding and drops its edges until a resync. */
  flooding(input: string): void;
}

export function isGpioInputModel(model: DeviceModel): model is GpioInputModel {
  return Array.isArray((model as Partial<GpioInputModel>).gpioInputs);
}

/** A GPIO model's points, derived from its wiring (`gpiochip0:17`, as the GPIO driver names them). */
export function gpioPoints(inputs: readonly GpioInputWiring[]): PointBinding[] {
  return inputs.map((w) => ({ driver: 'gpio', point: lineKey(w.ref), name: w.name }));
}

/** A model's input as configured (`{chip?, line, activeLow}`), on the gateway's default chip. */
export function wire(
  name: string,
  input: { chip?: string; line: number | string; activeLow: boolean },
  defaultChip: string,
): GpioInputWiring {
  return { name, ref: { chip: input.chip ?? defaultChip, line: input.line }, activeLow: input.activeLow };
}
