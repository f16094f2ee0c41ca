// The configured GPIO outputs (sounders, strobes, LEDs, relays) and what is known about each: the
// level last written, when, by which rule or device, and the last write error. Writes go through the
// GPIO driver (outputs belong to it); a failed write is logged and shown on the output's state with
// its code, and never thrown at the caller: a broken sounder must not stop the alarm path.
//
// Issue 14: an output is owned by reasons, not by the latest write. Each reason (a rule's hold,
// its forSec window, one pulse of a train, a button's LED) *claims* the output away from its
// resting level (`initial`, normally off); the output stays there while any claim is active and
// returns to rest when the last one ends. So a tamper chirp on the panic sounder ends its own
// claim, not the panic's 30 s; a forSec expiry leaves a sounder on that a fire.alarm rule holds.
import type { Logger } from 'pino';
import { type LineRef, lineKey } from '../../drivers/gpio/backend.js';
import type { OutputConfig } from '../config/types.js';
import type { DeviceState } from '../devices/types.js';
import { errorCode, errorMessage, WardgateError } from '../errors.js';

/** A hung helper process must not leave an output's queue stuck behind one write. */
const WRITE_TIMEOUT_MS = 5000;

export interface OutputError {
  code: string;
  message: string;
  at: string;
}

export interface OutputState {
  id: string;
  name?: string;
  /** `chip:line` as the GPIO driver names it. */
  line: string;
  /** Logical state last written successfully (activeLow applied). */
  active: boolean;
  lastChange: string | null;
  lastError: OutputError | null;
  /** What last drove it: `actions[0] panic.pressed from panic-1`, `panic-1: acknowledged`. */
  by: string | null;
  /** Every reason holding it away from its resting level now (empty: at rest). */
  heldBy: string[];
}

export interface OutputBankOptions {
  outputs: OutputConfig[];
  defaultChip: string;
  /** Physical level to a `chip:line` point (GpioDriver.write). */
  write(point: string, level: 0 | 1): Promise<void>;
  /** The retained state of one output changed (published as `state/{outputId}`). */
  changed(id: string, snapshot: DeviceState): void;
  log: Logger;
}

interface Entry {
  cfg: OutputConfig;
  ref: LineRef;
  point: string;
  desired: boolean;
  desiredBy?: string;
  active: boolean;
  lastChange?: number;
  lastError?: OutputError;
  by?: string;
  since: number;
  /** Active claims (reason key → what it is, for the page), each holding it away from `cfg.initial`. */
  claims: Map<string, string>;
  /** Writes to one output are applied in order: a pulse's off must never overtake its on. */
  queue: Promise<void>;
}

const physical = (active: boolean, activeLow: boolean): 0 | 1 => (active !== activeLow ? 1 : 0);

export class OutputBank {
  private readonly entries = new Map<string, Entry>();
  private stopped = false;

  constructor(private readonly opts: OutputBankOptions) {
    for (const cfg of opts.outputs) {
      const ref = { chip: cfg.chip ?? opts.defaultChip, line: cfg.line };
      const e: Entry = {
        cfg,
        ref,
        point: lineKey(ref),
        desired: cfg.initial,
        active: cfg.initial,
        since: Date.now(),
        claims: new Map(),
        queue: Promise.resolve(),
      };
      this.entries.set(cfg.id, e);
      this.publish(e);
    }
  }

  /** What the GPIO driver opens, at the physical level of each output's `initial`. */
  driverOutputs(): Array<{ ref: LineRef; initial: 0 | 1 }> {
    return [...this.entries.values()].map((e) => ({ ref: e.ref, initial: physical(e.cfg.initial, e.cfg.activeLow) }));
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  private entry(id: string, by: string): Entry | undefined {
    const e = this.entries.get(id);
    if (!e) this.opts.log.error({ output: id, by }, 'no such output (config check should have caught this)');
    return e;
  }

  /** The output's resting level (`initial`): what it returns to when no reason holds it. */
  resting(id: string): boolean | undefined {
    return this.entries.get(id)?.cfg.initial;
  }

  /**
   * Reason `key` holds the output away from its resting level (again: a re-claim only refreshes
   * `by`). Synchronous up to the queued write: the alarm path never waits for the GPIO.
   */
  claim(id: string, key: string, by: string): Promise<void> {
    const e = this.entry(id, by);
    if (!e) return Promise.resolve();
    e.claims.set(key, by);
    return this.settle(e, by);
  }

  /** Reasons whose key passes `which` end; the output rests once none is left. */
  release(id: string, which: (key: string) => boolean, by: string): Promise<void> {
    const e = this.entry(id, by);
    if (!e) return Promise.resolve();
    for (const key of e.claims.keys()) if (which(key)) e.claims.delete(key);
    return this.settle(e, by);
  }

  /**
   * One owner's wish (a button driving its own LED): on claims under `key`, off releases it. For an
   * output with a single owner this is a plain write; with several, the others' claims still hold.
   */
  set(id: string, active: boolean, by: string, key = 'direct'): Promise<void> {
    const e = this.entry(id, by);
    if (!e) return Promise.resolve();
    if (active !== e.cfg.initial) e.claims.set(key, by);
    else e.claims.delete(key);
    return this.settle(e, by);
  }

  /** Write the level the claims ask for, if it is not what was last asked. */
  private settle(e: Entry, by: string): Promise<void> {
    const active = e.claims.size > 0 ? !e.cfg.initial : e.cfg.initial;
    // Nothing to change, unless the last write failed: then any new wish tries again.
    if (active === e.desired && !e.lastError) return e.queue;
    e.desired = active;
    e.desiredBy = by;
    e.queue = e.queue.then(() => this.apply(e, active, by));
    return e.queue;
  }

  private async apply(e: Entry, active: boolean, by: string): Promise<void> {
    if (this.stopped) return;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.opts.write(e.point, physical(active, e.cfg.activeLow)),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(new WardgateError('WG_ERR_GPIO_LINE', `write to ${e.point} timed out`)),
            WRITE_TIMEOUT_MS,
          );
        }),
      ]);
      if (e.active !== active) e.lastChange = Date.now();
      e.active = active;
      e.by = by;
      if (e.lastError) e.since = Date.now();
      delete e.lastError;
    } catch (err) {
      if (!e.lastError) e.since = Date.now();
      e.lastError = {
        code: errorCode(err) ?? 'WG_ERR_GPIO_LINE',
        message: errorMessage(err),
        at: new Date().toISOString(),
      };
      this.opts.log.error({ err, output: e.cfg.id, line: e.point, by, active }, 'GPIO output write failed');
    } finally {
      clearTimeout(timer);
    }
    this.publish(e);
  }

  /** After the GPIO driver (re)started: write what each output should be where that is in doubt. */
  resync(): void {
    for (const e of this.entries.values())
      if (e.lastError || e.desired !== e.active) {
        const active = e.desired;
        const by = e.desiredBy ?? 'resync after GPIO restart';
        e.queue = e.queue.then(() => this.apply(e, active, by));
      }
  }

  /** The driver or a line failed: the output's state says so until the next good write. */
  fault(point: string | undefined, message: string): void {
    for (const e of this.entries.values()) {
      if (point !== undefined && e.point !== point) continue;
      if (!e.lastError) e.since = Date.now();
      e.lastError = { code: 'WG_ERR_GPIO_LINE', message, at: new Date().toISOString() };
      this.publish(e);
    }
  }

  list(): OutputState[] {
    return [...this.entries.values()].map((e) => ({
      id: e.cfg.id,
      ...(e.cfg.name ? { name: e.cfg.name } : {}),
      line: e.point,
      active: e.active,
      lastChange: e.lastChange !== undefined ? new Date(e.lastChange).toISOString() : null,
      lastError: e.lastError ?? null,
      by: e.by ?? null,
      heldBy: [...e.claims.values()],
    }));
  }

  /** Shaped like a device's retained state, so subscribers read `state/{id}` one way. */
  snapshot(id: string): DeviceState | undefined {
    const e = this.entries.get(id);
    if (!e) return undefined;
    const { id: _id, name, lastError, ...state } = this.list().find((o) => o.id === id) as OutputState;
    return {
      id,
      type: 'output',
      ...(name ? { name } : {}),
      availability: lastError ? 'offline' : 'online',
      ...(lastError ? { availabilityReason: `${lastError.code}: ${lastError.message}` } : {}),
      since: new Date(e.since).toISOString(),
      state: { ...state, lastError },
    };
  }

  private publish(e: Entry): void {
    const snap = this.snapshot(e.cfg.id);
    if (snap) this.opts.changed(e.cfg.id, snap);
  }

  /** Writes queued after this are dropped: the driver is closing the lines. */
  stop(): void {
    this.stopped = true;
  }
}
