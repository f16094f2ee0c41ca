// The `onoff` GPIO backend: legacy sysfs (/sys/class/gpio) through the onoff package, for kernels
// and images without the libgpiod tools. Lines are numbered from the chip's sysfs base (sysfs.ts).
//
// onoff quirks: it loads the native `epoll` addon at import, so it is imported lazily, only when a
// line is opened without an injected factory; its watch callback delivers the value read after the
// interrupt (not the edge's direction), with no kernel timestamp, so edges are stamped on arrival
// and a bounce can report the same level twice (debounce lives in the device model). Because
// sysfs interrupts coalesce (a press and release between two reads can show as one value, or none),
// every input is also read every `periodicMs` (a cheap sysfs read) and a level that differs from
// the last one reported is sent as a `level` reading ('periodic').
import { EventEmitter } from 'node:events';
import { type Logger, pino } from 'pino';
import { uptimeMs } from '../../agent/clock.js';
import { errorMessage, WardgateError } from '../../agent/errors.js';
import {
  type GpioBackend,
  type GpioBackendEvents,
  type InputHandle,
  type LineRef,
  lineKey,
  type OutputHandle,
} from './backend.js';
import { DEFAULT_SYSFS_ROOT, sysfsNumber } from './sysfs.js';

/** The part of onoff's `Gpio` this backend uses; tests provide a fake. */
export interface OnoffLike {
  readSync(): 0 | 1;
  read(): Promise<0 | 1>;
  write(value: 0 | 1): Promise<void>;
  watch(callback: (err: Error | null | undefined, value: 0 | 1) => void): void;
  unwatchAll(): void;
  unexport(): void;
}

/** `high`/`low` set direction and level in one sysfs write, so an output never glitches at open. */
export type OnoffDirection = 'in' | 'high' | 'low';
export type GpioFactory = (gpio: number, direction: OnoffDirection, edge: 'both' | 'none') => OnoffLike;

export interface OnoffOptions {
  sysfsRoot?: string;
  gpioFactory?: GpioFactory;
  /** How often inputs are read to catch coalesced interrupts (default 5000 ms; 0 disables). */
  periodicMs?: number;
  log?: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
}

interface Opened {
  ref: LineRef;
  gpio: OnoffLike;
  dir: 'in' | 'out';
  /** Inputs: the level last reported (opening read, watch callbacks, periodic reads). */
  level?: 0 | 1;
}

const gpioError = (detail: string, cause?: unknown) => new WardgateError('WG_ERR_GPIO_LINE', detail, { cause });

export class OnoffBackend implements GpioBackend {
  readonly kind = 'onoff' as const;
  private readonly events = new EventEmitter();
  /** Keyed by global sysfs number: two refs naming one line (cdev name and label) collide here. */
  private readonly opened = new Map<number, Opened>();
  private readonly reserved = new Set<number>();
  private readonly log: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  private factory: GpioFactory | undefined;
  private periodic: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: OnoffOptions = {}) {
    this.factory = opts.gpioFactory;
    this.log = opts.log ?? pino({ enabled: false });
  }

  async openInput(ref: LineRef): Promise<InputHandle> {
    const { n, gpio } = await this.open(ref, 'in', (make, num) => make(num, 'in', 'both'));
    const entry = this.opened.get(n);
    let faulted = false;
    gpio.watch((err, value) => {
      if (this.closed) return;
      if (err) {
        this.log.warn({ err, line: lineKey(ref), gpio: n }, 'onoff watch error');
        if (!faulted) {
          faulted = true;
          this.emit('fault', ref, gpioError(`watching ${lineKey(ref)} (sysfs ${n}) failed: ${err.message}`, err));
        }
        return;
      }
      if (entry) entry.level = value;
      if (faulted) {
        faulted = false;
        this.emit('recovered', ref);
        // Interrupts were lost while the watch failed; this value is the line as of now.
        this.emit('level', { ref, level: value, ts: Date.now(), uptimeMs: uptimeMs(), cause: 'recovered' });
        return;
      }
      this.emit('edge', { ref, level: value, ts: Date.now(), uptimeMs: uptimeMs() });
    });
    // Read after the watch is set: an interrupt from here on is reported, so no edge falls
    // between this read and watching (the hand-over gap the gpiod tools cannot close).
    const at = uptimeMs();
    const ts = Date.now();
    let level: 0 | 1;
    try {
      level = await gpio.read();
    } catch (err) {
      throw gpioError(`cannot read ${lineKey(ref)} (sysfs ${n}): ${errorMessage(err)}`, err);
    }
    if (entry) entry.level = level;
    this.startPeriodic();
    return { ref, opened: { level, ts, uptimeMs: at }, read: () => gpio.read() };
  }

  private startPeriodic(): void {
    const every = this.opts.periodicMs ?? 5000;
    if (this.periodic || every <= 0) return;
    this.periodic = setInterval(() => void this.checkLevels(), every);
    this.periodic.unref();
  }

  /** Reads every input; a level that differs from the last one reported was missed by the watch. */
  async checkLevels(): Promise<void> {
    for (const o of this.opened.values()) {
      if (o.dir !== 'in' || this.closed) continue;
      const at = uptimeMs();
      const ts = Date.now();
      let level: 0 | 1;
      try {
        level = await o.gpio.read();
      } catch (err) {
        this.log.warn({ err, line: lineKey(o.ref) }, 'onoff periodic read failed');
        continue;
      }
      if (this.closed || level === o.level) continue;
      o.level = level;
      this.emit('level', { ref: o.ref, level, ts, uptimeMs: at, cause: 'periodic' });
    }
  }

  async openOutput(ref: LineRef, initial: 0 | 1): Promise<OutputHandle> {
    const { gpio } = await this.open(ref, 'out', (make, num) => make(num, initial ? 'high' : 'low', 'none'));
    let level = initial;
    return {
      ref,
      get level() {
        return level;
      },
      write: async (next) => {
        if (this.closed) throw gpioError(`${lineKey(ref)}: the onoff backend is closed`);
        await gpio.write(next);
        level = next;
      },
    };
  }

  on<K extends keyof GpioBackendEvents>(event: K, listener: GpioBackendEvents[K]): void {
    this.events.on(event, listener);
  }

  off<K extends keyof GpioBackendEvents>(event: K, listener: GpioBackendEvents[K]): void {
    this.events.off(event, listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.periodic);
    for (const [n, o] of this.opened) {
      try {
        if (o.dir === 'in') o.gpio.unwatchAll();
        o.gpio.unexport();
      } catch (err) {
        // Keep going: one line that cannot be unexported must not keep the others exported.
        this.log.warn({ err, line: lineKey(o.ref), gpio: n }, 'onoff unexport failed');
      }
    }
    this.opened.clear();
    this.reserved.clear();
    this.events.removeAllListeners();
  }

  private async open(
    ref: LineRef,
    dir: 'in' | 'out',
    create: (make: GpioFactory, n: number) => OnoffLike,
  ): Promise<{ n: number; gpio: OnoffLike }> {
    if (this.closed) throw gpioError(`${lineKey(ref)}: the onoff backend is closed`);
    if (typeof ref.line !== 'number') {
      throw gpioError(`${lineKey(ref)}: sysfs has no line names; give an offset, or use the gpiod backend`);
    }
    const n = await sysfsNumber(ref.chip, ref.line, this.opts.sysfsRoot ?? DEFAULT_SYSFS_ROOT);
    const holder = this.opened.get(n);
    if (holder || this.reserved.has(n)) {
      const as = holder ? ` as ${lineKey(holder.ref)}` : '';
      throw gpioError(`line ${lineKey(ref)} (sysfs ${n}) is already in use${as}`);
    }
    this.reserved.add(n);
    try {
      const make = await this.gpioFactory();
      if (this.closed) throw gpioError(`${lineKey(ref)}: the onoff backend is closed`);
      const gpio = create(make, n);
      this.opened.set(n, { ref, gpio, dir });
      return { n, gpio };
    } catch (err) {
      if (err instanceof WardgateError) throw err;
      throw gpioError(`cannot open ${lineKey(ref)} as sysfs GPIO ${n}: ${errorMessage(err)}`, err);
    } finally {
      this.reserved.delete(n);
    }
  }

  private async gpioFactory(): Promise<GpioFactory> {
    if (!this.factory) {
      const { Gpio } = await import('onoff');
      this.factory = (n, direction, edge) => new Gpio(n, direction, edge);
    }
    return this.factory;
  }

  /** Listeners are other units' code: one that throws must not break onoff's epoll callback. */
  private emit<K extends keyof GpioBackendEvents>(event: K, ...args: Parameters<GpioBackendEvents[K]>): void {
    try {
      this.events.emit(event, ...args);
    } catch (err) {
      this.log.error({ err, event }, 'a GPIO event listener threw');
    }
  }
}
