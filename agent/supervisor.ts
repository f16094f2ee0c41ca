// Runs every driver behind its own error boundary: a driver that throws or hangs is stopped, its
// devices are marked offline, and it is restarted with backoff. Others carry on. A flood is never a
// reason to restart: one noisy point must not blind a driver's other points (issue 7 item 10). The
// GPIO driver quarantines a chattering line itself; here, as a last resort for any driver, readings
// of one point beyond `floodPerSec` are shed for the rest of that second and counted.
import type { Logger } from 'pino';
import type { Driver, DriverHealth, Reading } from '../drivers/types.js';
import { type ErrorCode, errorMessage } from './errors.js';
import { Backoff } from './uplink/backoff.js';

export interface SupervisorHooks {
  onReading(driver: string, reading: Reading): void;
  onDown(driver: string, err: Error): void;
  onUp(driver: string): void;
}

export interface SupervisorOptions {
  log: Logger;
  startTimeoutMs?: number;
  stopTimeoutMs?: number;
  backoff?: { minMs: number; maxMs: number };
  /** Readings per second of one point above which the rest of that second's are shed (default 1000). */
  floodPerSec?: number;
}

interface Unit {
  driver: Driver;
  abort: AbortController;
  backoff: Backoff;
  restarts: number;
  up: boolean;
  timer?: NodeJS.Timeout;
  lastError?: string;
  lastErrorCode?: ErrorCode;
  /** Per point: start of its 1 s window and readings in it. */
  windows: Map<string, { start: number; count: number }>;
  shed: number;
  /** Times start() was called on it: a live reload must not restart an untouched driver (issue 12). */
  starts: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    t = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(t));
}

export class Supervisor {
  private readonly units = new Map<string, Unit>();
  private stopping = false;

  constructor(
    private readonly opts: SupervisorOptions,
    private readonly hooks: SupervisorHooks,
  ) {}

  add(driver: Driver): void {
    this.units.set(driver.name, {
      driver,
      abort: new AbortController(),
      backoff: new Backoff(this.opts.backoff ?? { minMs: 1000, maxMs: 60_000 }),
      restarts: 0,
      up: false,
      windows: new Map(),
      shed: 0,
      starts: 0,
    });
  }

  /** Live reload (issue 12): stop a driver (bounded) and forget it. */
  async remove(name: string): Promise<void> {
    const u = this.units.get(name);
    if (!u) return;
    this.units.delete(name);
    if (u.timer) clearTimeout(u.timer);
    u.abort.abort();
    try {
      await withTimeout(u.driver.stop(), this.opts.stopTimeoutMs ?? 5000, `driver ${name} stop`);
    } catch (err) {
      this.opts.log.error({ err, driver: name }, 'driver did not stop cleanly');
    }
  }

  /** Live reload: a driver with a new configuration takes the place of the one of that name. */
  async replace(driver: Driver): Promise<void> {
    await this.remove(driver.name);
    this.add(driver);
    const u = this.units.get(driver.name);
    if (u) await this.start(u);
  }

  /** Start counts per driver (tests of live reload). */
  startCounts(): Record<string, number> {
    return Object.fromEntries([...this.units].map(([n, u]) => [n, u.starts]));
  }

  async startAll(): Promise<void> {
    await Promise.all([...this.units.values()].map((u) => this.start(u)));
  }

  private async start(unit: Unit): Promise<void> {
    const { driver } = unit;
    const log = this.opts.log.child({ driver: driver.name });
    unit.starts++;
    unit.abort = new AbortController();
    const signal = unit.abort.signal;
    const floodLimit = this.opts.floodPerSec ?? 1000;
    unit.windows.clear();
    try {
      await withTimeout(
        driver.start({
          log,
          signal,
          emit: (reading) => {
            if (signal.aborted) return;
            const now = Date.now();
            let w = unit.windows.get(reading.point);
            if (!w || now - w.start >= 1000 || now < w.start) {
              if (unit.windows.size > 10_000) unit.windows.clear(); // points are config-bounded; be safe
              w = { start: now, count: 0 };
              unit.windows.set(reading.point, w);
            }
            if (++w.count > floodLimit) {
              if (unit.shed++ % 1000 === 0) {
                log.warn({ point: reading.point, shed: unit.shed, floodLimit }, 'point flooding: readings shed');
              }
              return;
            }
            try {
              this.hooks.onReading(driver.name, reading);
            } catch (err) {
              log.error({ err, point: reading.point }, 'a device model threw on a reading');
            }
          },
          fail: (err) => this.fault(unit, err),
        }),
        this.opts.startTimeoutMs ?? 15_000,
        `driver ${driver.name} start`,
      );
      if (signal.aborted) return;
      unit.up = true;
      unit.backoff.reset();
      this.hooks.onUp(driver.name);
    } catch (err) {
      log.error({ err }, 'driver failed to start');
      this.fault(unit, err instanceof Error ? err : new Error(String(err)), 'WG_ERR_DRIVER_START');
    }
  }

  private fault(unit: Unit, err: Error, code: ErrorCode = 'WG_ERR_DRIVER_FAULT'): void {
    if (unit.abort.signal.aborted) return;
    unit.abort.abort();
    unit.lastError = errorMessage(err);
    unit.lastErrorCode = code;
    unit.up = false;
    const log = this.opts.log.child({ driver: unit.driver.name });
    log.error({ err }, 'driver faulted; restarting with backoff');
    try {
      this.hooks.onDown(unit.driver.name, err);
    } catch (hookErr) {
      log.error({ err: hookErr }, 'onDown hook threw');
    }
    void withTimeout(unit.driver.stop(), this.opts.stopTimeoutMs ?? 5000, `driver ${unit.driver.name} stop`)
      .catch((stopErr) => {
        unit.lastErrorCode = 'WG_ERR_DRIVER_STOP_TIMEOUT';
        log.error({ err: stopErr }, 'driver did not stop cleanly');
      })
      .finally(() => {
        if (this.stopping) return;
        const delay = unit.backoff.next();
        unit.restarts++;
        unit.timer = setTimeout(() => void this.start(unit), delay);
      });
  }

  async stopAll(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.units.values()].map(async (u) => {
        if (u.timer) clearTimeout(u.timer);
        u.abort.abort();
        try {
          await withTimeout(u.driver.stop(), this.opts.stopTimeoutMs ?? 5000, `driver ${u.driver.name} stop`);
        } catch (err) {
          this.opts.log.error({ err, driver: u.driver.name }, 'driver did not stop cleanly');
        }
      }),
    );
  }

  health(): Record<string, DriverHealth & { restarts: number; starts: number; up: boolean; shedReadings: number }> {
    const out: Record<string, DriverHealth & { restarts: number; starts: number; up: boolean; shedReadings: number }> =
      {};
    for (const [name, u] of this.units) {
      let h: DriverHealth;
      try {
        h = u.driver.health();
      } catch (err) {
        h = { state: 'faulted', lastError: errorMessage(err), lastErrorCode: 'WG_ERR_DRIVER_FAULT' };
      }
      out[name] = {
        ...h,
        ...(u.lastError && !h.lastError ? { lastError: u.lastError, lastErrorCode: u.lastErrorCode } : {}),
        restarts: u.restarts,
        starts: u.starts,
        up: u.up,
        shedReadings: u.shed,
      };
    }
    return out;
  }

  driver(name: string): Driver | undefined {
    return this.units.get(name)?.driver;
  }
}
