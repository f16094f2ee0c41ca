// Panic button ("one-key alarm"): debounce, minimum hold, active-low wiring. A press is the most
// important event wardgate carries: it is stamped with the edge's time, not the decision's.
import type { PanicButtonConfig } from '../config/types.js';
import { StableInput } from './stable-input.js';
import type { DeviceModel, DeviceModelContext, GpioInputWiring } from './types.js';

export class PanicButton implements DeviceModel {
  readonly type = 'panic-button';
  readonly gpioInputs: GpioInputWiring[];
  private readonly button: StableInput;
  private pressedAt: number | undefined;
  private presses = 0;

  constructor(
    private readonly cfg: PanicButtonConfig,
    private readonly ctx: DeviceModelContext,
    defaultChip: string,
  ) {
    this.gpioInputs = [
      {
        name: 'button',
        ref: { chip: cfg.input.chip ?? defaultChip, line: cfg.input.line },
        activeLow: cfg.input.activeLow,
      },
    ];
    this.button = new StableInput({
      // A press must be held for the minimum hold (and be clean of bounce) to count.
      activeMs: Math.max(cfg.debounceMs, cfg.minHoldMs),
      inactiveMs: cfg.debounceMs,
      onChange: (active, at) => this.changed(active, at),
    });
  }

  get id(): string {
    return this.cfg.id;
  }

  initial(_input: string, active: boolean, at: { ts: number; uptimeMs: number }): void {
    this.button.initial(active, at);
    // A button already held at start (or after a restart mid-alarm) is an alarm, not a state.
    if (active) this.changed(true, at);
    else this.ctx.stateChanged();
  }

  input(_input: string, active: boolean, at: { ts: number; uptimeMs: number }): void {
    this.button.feed(active, at);
    this.ctx.stateChanged();
  }

  private changed(active: boolean, at: { ts: number; uptimeMs: number }): void {
    const where = { name: this.cfg.name, location: this.cfg.location };
    if (active) {
      this.pressedAt = at.ts;
      this.presses++;
      this.ctx.emit({ type: 'panic.pressed', severity: this.cfg.severity, at, data: { ...where, input: 'button' } });
    } else {
      const heldMs = this.pressedAt !== undefined ? Math.max(0, at.ts - this.pressedAt) : null;
      this.pressedAt = undefined;
      this.ctx.emit({ type: 'panic.released', at, data: { ...where, heldMs } });
    }
    this.ctx.stateChanged();
  }

  state(): Record<string, unknown> {
    return {
      pressed: this.button.active === true,
      raw: this.button.rawActive === true,
      pressedSince: this.pressedAt !== undefined ? new Date(this.pressedAt).toISOString() : null,
      presses: this.presses,
    };
  }

  settleMs(): number {
    return Math.max(this.cfg.debounceMs, this.cfg.minHoldMs);
  }

  stop(): void {
    this.button.stop();
  }
}
