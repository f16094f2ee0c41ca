// A generic binary input (`type: input`): a server-room door contact, a water-leak sensor, a
// cabinet switch. What a transition means is configuration: each direction names a catalogue event
// type and, optionally, a severity (checked at load: agent/config/load.ts).
import type { InputDeviceConfig, InputTransitionConfig } from '../config/types.js';
import type { EdgeTime } from './stable-input.js';
import { type DeviceModel, type DeviceModelContext, type GpioInputWiring, wire } from './types.js';
import { WatchedInput } from './watched-input.js';

export class GenericInput implements DeviceModel {
  readonly type = 'input';
  readonly gpioInputs: GpioInputWiring[];
  private readonly contact: WatchedInput;
  private activeSince: number | undefined;
  private activations = 0;

  constructor(
    private readonly cfg: InputDeviceConfig,
    private readonly ctx: DeviceModelContext,
    defaultChip: string,
  ) {
    this.gpioInputs = [wire('input', cfg.input, defaultChip)];
    this.contact = new WatchedInput({
      activeMs: Math.max(cfg.debounceMs, cfg.minHoldMs),
      inactiveMs: cfg.debounceMs,
      onChange: (active, at) => this.changed(active, at),
    });
  }

  get id(): string {
    return this.cfg.id;
  }

  initial(_input: string, active: boolean, at: EdgeTime): void {
    this.contact.initial(active, at);
    // Already active at start (a leak, a door left open): report it, as for a held panic button.
    if (active) this.changed(true, at);
    else this.ctx.stateChanged();
  }

  input(_input: string, active: boolean, at: EdgeTime): void {
    this.contact.feed(active, at);
    this.ctx.stateChanged();
  }

  private changed(active: boolean, at: EdgeTime): void {
    const where = { name: this.cfg.name, location: this.cfg.location };
    let data: Record<string, unknown>;
    if (active) {
      this.activeSince = at.ts;
      this.activations++;
      data = { ...where, input: 'input', active: true };
    } else {
      const activeMs = this.activeSince !== undefined ? Math.max(0, at.ts - this.activeSince) : null;
      this.activeSince = undefined;
      data = { ...where, input: 'input', active: false, activeMs };
    }
    const t: InputTransitionConfig = active ? this.cfg.active : this.cfg.inactive;
    this.ctx.emit({ type: t.event, ...(t.severity ? { severity: t.severity } : {}), at, data });
    this.ctx.stateChanged();
  }

  state(): Record<string, unknown> {
    return {
      active: this.contact.active === true,
      activeSince: this.activeSince !== undefined ? new Date(this.activeSince).toISOString() : null,
      activations: this.activations,
      events: { active: this.cfg.active.event, inactive: this.cfg.inactive.event },
      inputs: { input: this.contact.state() },
    };
  }

  settleMs(): number {
    return Math.max(this.cfg.debounceMs, this.cfg.minHoldMs);
  }

  stop(): void {
    this.contact.stop();
  }
}
