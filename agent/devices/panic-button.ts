// Panic button ("one-key alarm"): debounce, minimum hold, active-low wiring. A press is the most
// important event wardgate carries: it is stamped with the edge's time, not the decision's.
// Issue 3: an optional tamper switch (`panic.tamper` while active; its clearing is state, not an
// alarm) and an optional LED that tells the person pressing that the control room has seen it.
import type { PanicButtonConfig } from '../config/types.js';
import { type EdgeTime, StableInput } from './stable-input.js';
import {
  type DeviceModelContext,
  type GpioInputModel,
  type GpioInputWiring,
  gpioPoints,
  type PointBinding,
  wire,
} from './types.js';
import { WatchedInput } from './watched-input.js';

export class PanicButton implements GpioInputModel {
  readonly type = 'panic-button';
  readonly gpioInputs: GpioInputWiring[];
  private readonly button: StableInput;
  /** Edge that began the press: `heldMs` is monotonic (an NTP step mid-press must not count). */
  private pressedAt: EdgeTime | undefined;
  private presses = 0;
  private readonly tamper: WatchedInput | undefined;
  private tampers = 0;
  private ackedAt: number | undefined;
  private led: { on: boolean; since: number | undefined; timer: NodeJS.Timeout | undefined } = {
    on: false,
    since: undefined,
    timer: undefined,
  };

  constructor(
    private readonly cfg: PanicButtonConfig,
    private readonly ctx: DeviceModelContext,
    defaultChip: string,
  ) {
    this.gpioInputs = [wire('button', cfg.input, defaultChip)];
    this.button = new StableInput({
      // A press must be held for the minimum hold (and be clean of bounce) to count.
      activeMs: Math.max(cfg.debounceMs, cfg.minHoldMs),
      inactiveMs: cfg.debounceMs,
      onChange: (active, at, gap) => this.changed(active, at, gap),
      onLateEdge: (lateByMs) => this.lateEdge('button', lateByMs),
    });
    if (cfg.tamper) {
      this.gpioInputs.push(wire('tamper', cfg.tamper, defaultChip));
      this.tamper = new WatchedInput({
        activeMs: cfg.debounceMs,
        inactiveMs: cfg.debounceMs,
        onChange: (active, at, flags) => this.tamperChanged(active, at, flags.observedAfterGap === true),
        onLateEdge: (lateByMs) => this.lateEdge('tamper', lateByMs),
      });
    }
  }

  get points(): PointBinding[] {
    return gpioPoints(this.gpioInputs);
  }

  get id(): string {
    return this.cfg.id;
  }

  initial(input: string, active: boolean, at: EdgeTime): void {
    const known = input === 'tamper' ? this.tamper?.active : this.button.active;
    // A second first read (a driver that lost count) must not repeat a press: treat it as a resync.
    if (known !== undefined) {
      this.resync(input, active, at);
      return;
    }
    if (input === 'tamper') {
      this.tamper?.initial(active, at);
      // A housing already open at start is reported like a button already held.
      if (active) this.tamperChanged(true, at, false);
      else this.ctx.stateChanged();
      return;
    }
    this.button.initial(active, at);
    // A button already held at start is an alarm, not a state.
    if (active) this.changed(true, at, false);
    else this.ctx.stateChanged();
  }

  resync(input: string, active: boolean, at: EdgeTime): void {
    if (input === 'tamper') this.tamper?.resync(active, at);
    else this.button.resync(active, at);
    this.ctx.stateChanged();
  }

  flooding(input: string): void {
    if (input === 'tamper') this.tamper?.discardPending();
    else this.button.discardPending();
    this.ctx.stateChanged();
  }

  input(_input: string, active: boolean, at: EdgeTime): void {
    if (_input === 'tamper') {
      this.tamper?.feed(active, at);
      this.ctx.stateChanged();
      return;
    }
    this.button.feed(active, at);
    this.ctx.stateChanged();
  }

  private lateEdge(input: string, lateByMs: number): void {
    this.ctx.log.warn(
      { input, lateByMs },
      'an edge was read after the hold had been decided (event loop or gpiomon late); reported as it came',
    );
  }

  private changed(active: boolean, at: EdgeTime, gap: boolean): void {
    const where = { name: this.cfg.name, location: this.cfg.location };
    // LED and acknowledgement change before the event goes out: a local `ack-led` action runs
    // synchronously inside emit() and must find the new alarm, not the previous one.
    if (active) this.ackedAt = undefined;
    if (this.led.on) this.setLed(false, active ? 'new press, not yet acknowledged' : 'released');
    const flag = gap ? { observedAfterGap: true } : undefined;
    if (active) {
      this.pressedAt = at;
      this.presses++;
      const data = { ...where, input: 'button', ...flag };
      this.ctx.emit({ type: 'panic.pressed', severity: this.cfg.severity, at, data });
    } else {
      // After a gap the release happened at some unseen moment before this read: heldMs is an upper bound.
      const heldMs = this.pressedAt !== undefined ? Math.max(0, at.uptimeMs - this.pressedAt.uptimeMs) : null;
      this.pressedAt = undefined;
      this.ctx.emit({ type: 'panic.released', at, data: { ...where, heldMs, ...flag } });
    }
    this.ctx.stateChanged();
  }

  state(): Record<string, unknown> {
    return {
      pressed: this.button.active === true,
      raw: this.button.rawActive === true,
      pressedSince: this.pressedAt !== undefined ? new Date(this.pressedAt.ts).toISOString() : null,
      presses: this.presses,
      acknowledgedAt: this.ackedAt !== undefined ? new Date(this.ackedAt).toISOString() : null,
      ...(this.tamper ? { tamper: { ...this.tamper.state(), count: this.tampers } } : {}),
      ...(this.cfg.led
        ? {
            led: {
              output: this.cfg.led.output,
              on: this.led.on,
              since: this.led.since !== undefined ? new Date(this.led.since).toISOString() : null,
            },
          }
        : {}),
    };
  }

  private tamperChanged(active: boolean, at: EdgeTime, gap: boolean): void {
    if (active) {
      this.tampers++;
      const where = { name: this.cfg.name, location: this.cfg.location };
      const data = { ...where, input: 'tamper', ...(gap ? { observedAfterGap: true } : undefined) };
      this.ctx.emit({ type: 'panic.tamper', at, data });
    }
    this.ctx.stateChanged();
  }

  /** The control room has seen the alarm: light the LED for `offAfterSec` (or until release). */
  acknowledge(): boolean {
    this.ackedAt = Date.now();
    const led = this.cfg.led;
    if (led) {
      this.setLed(true, 'acknowledged');
      this.led.timer = setTimeout(() => this.setLed(false, `off after ${led.offAfterSec} s`), led.offAfterSec * 1000);
    }
    this.ctx.stateChanged();
    return led !== undefined;
  }

  private setLed(on: boolean, why: string): void {
    if (this.led.timer) clearTimeout(this.led.timer);
    this.led.timer = undefined;
    if (!this.cfg.led) return;
    if (on !== this.led.on) this.led.since = Date.now();
    this.led.on = on;
    this.ctx.setOutput(this.cfg.led.output, on, `${this.cfg.id}: ${why}`);
  }

  settleMs(): number {
    return Math.max(this.cfg.debounceMs, this.cfg.minHoldMs);
  }

  settling(): boolean {
    return this.button.pending || this.tamper?.pending === true;
  }

  stop(): void {
    this.button.stop();
    this.tamper?.stop();
    if (this.led.timer) clearTimeout(this.led.timer);
  }
}
