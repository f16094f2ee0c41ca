// The Driver contract (DESIGN §8). A driver does protocol I/O only: it never decides what a
// reading means. Schedules, debounce and event semantics live in the device models.
import type { Logger } from 'pino';

/** One observation from hardware, as the driver saw it. */
export interface Reading {
  /** Driver-local name of the point, e.g. `gpiochip0:17`, `door-3/position`. */
  point: string;
  value: unknown;
  /** Wall-clock ms of the observation (kernel timestamp where the hardware gives one). */
  ts: number;
  /** Monotonic ms since boot of the observation (CLOCK_MONOTONIC), for re-stamping. */
  uptimeMs: number;
}

export interface DriverContext {
  log: Logger;
  /** Aborted when the driver is being stopped; nothing may be emitted after. */
  signal: AbortSignal;
  emit(reading: Reading): void;
  /** A fault the driver cannot recover from by itself: the supervisor restarts it with backoff. */
  fail(err: Error): void;
}

export type DriverState = 'starting' | 'running' | 'degraded' | 'faulted' | 'stopped';

export interface DriverHealth {
  state: DriverState;
  /** Stable error code (`WG_ERR_...`) of the last problem, if any. */
  lastErrorCode?: string;
  lastError?: string;
  counters?: Record<string, number>;
  /** Per-point detail a technician wants on the page (e.g. a line that is faulted). */
  points?: Record<string, { ok: boolean; detail?: string }>;
  /** Driver-specific structure a technician needs (Modbus: counters per bus and unit). JSON only. */
  detail?: Record<string, unknown>;
}

export interface Driver {
  readonly name: string;
  start(ctx: DriverContext): Promise<void>;
  /** Resolves within a timeout and emits nothing after. */
  stop(): Promise<void>;
  /** Never throws. */
  health(): DriverHealth;
  /** Outputs: door release, LED, relay. */
  write?(point: string, value: unknown): Promise<void>;
}
