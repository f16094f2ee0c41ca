// What the Modbus driver is configured with and what it emits (drivers/types.ts Reading.value).
import type { ErrorCode } from '../../agent/errors.js';

export interface TcpBusConfig {
  id: string;
  type: 'modbus-tcp';
  host: string;
  port: number;
  timeoutMs: number;
  /** Demo only: an in-process Modbus TCP server plays `generic-door` for every door on this bus. */
  simulate?: boolean;
}

export interface RtuBusConfig {
  id: string;
  type: 'modbus-rtu';
  path: string;
  baudRate: number;
  parity: 'none' | 'even' | 'odd';
  dataBits: 7 | 8;
  stopBits: 1 | 2;
  timeoutMs: number;
  /** Silence kept between transactions; default 3.5 characters at the baud rate (Modbus RTU spec). */
  interFrameMs?: number;
}

export type BusConfig = TcpBusConfig | RtuBusConfig;

/** Bus behaviour shared by both kinds (defaults in drivers/modbus/bus.ts). */
export interface BusPolicy {
  /** Consecutive failed transactions after which a unit is offline (default 3). */
  offlineAfter: number;
  /** Retry delay of an offline unit: doubles from min to max (defaults 1 s, 30 s). */
  retryMinMs: number;
  retryMaxMs: number;
}

/**
 * Reading values. `value` readings come on a change and, flagged `first`, for every point on the
 * first good poll after the unit was offline or the driver started: a model treats those as a
 * resync (the state may have changed while nobody was looking).
 */
export type ModbusReadingValue =
  | { kind: 'value'; value: number; first: boolean }
  | { kind: 'offline'; code: ErrorCode; error: string }
  | { kind: 'online' };

/** Counters per unit and per bus (issue 8): /api/devices, /metrics and `health`. */
export interface ModbusCounters {
  requests: number;
  responses: number;
  timeouts: number;
  crcErrors: number;
  badFrames: number;
  /** Modbus exception responses by exception code ("2": illegal data address, ...). */
  exceptions: Record<string, number>;
  portErrors: number;
  lastLatencyMs: number | null;
  /** Time between the starts of this unit's last two polls (the achieved poll cycle). */
  cycleMs: number | null;
}

export function newCounters(): ModbusCounters {
  return {
    requests: 0,
    responses: 0,
    timeouts: 0,
    crcErrors: 0,
    badFrames: 0,
    exceptions: {},
    portErrors: 0,
    lastLatencyMs: null,
    cycleMs: null,
  };
}
