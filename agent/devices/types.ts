// What a device model is: pure logic from readings to state and events (DESIGN §3). Models never
// touch hardware; the runtime routes driver readings to them and their events to the outbox.
import type { Logger } from 'pino';
import type { LineRef } from '../../drivers/gpio/backend.js';
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
}

export interface DeviceModel {
  readonly id: string;
  readonly type: string;
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
  state(): Record<string, unknown>;
  /** Longest time an input change may wait in debounce/hold before it becomes an event. */
  settleMs?(): number;
  /** The control room acknowledged the alarm (lights a panic button's LED). True if an LED was lit. */
  acknowledge?(): boolean;
  stop(): void;
}

/** A model's input as configured (`{chip?, line, activeLow}`), on the gateway's default chip. */
export function wire(
  name: string,
  input: { chip?: string; line: number | string; activeLow: boolean },
  defaultChip: string,
): GpioInputWiring {
  return { name, ref: { chip: input.chip ?? defaultChip, line: input.line }, activeLow: input.activeLow };
}
