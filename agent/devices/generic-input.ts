// A generic binary input (`type: input`): a server-room door contact, a water-leak sensor, a
// cabinet switch. What a transition means is configuration: each direction names a catalogue event
// type and, optionally, a severity (checked at load: agent/config/load.ts).
import type { InputDeviceConfig, InputTransitionConfig } from '../config/types.js';
import type { EdgeTime } from './stable-input.js';
import {
  type DeviceModelContext,
  type GpioInputModel,
  type GpioInputWiring,
  gpioPoints,
  type PointBinding,
  wire,
} from './types.js';
import { type ChangeFlags, WatchedInput } from './watched-input.js';

export class GenericInput implements GpioInputModel {
  readonly type = 'input';
  readonly gpioInputs: GpioInputWiring[];
  private readonly contact: WatchedInput;
  /** Edge that began the active period: `activeMs` is monotonic. */
  private activeSince: EdgeTime | undefined;
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
      onChange: (active, at, flags) => this.changed(active, at, flags),
      onLateEdge: (lateByMs) => ctx.log.warn({ lateByMs }, 'an edge was read after its hold had been decided'),
    });
  }

  get points(): PointBinding[] {
    return gpioPoints(this.gpioInputs);
  }

  get id(): string {
    return this.cfg.id;
  }

  initial(input: string, active: boolean, at: EdgeTime): void {
    if (this.contact.active !== undefined) {
      this.resync(input, active, at);
      return;
    }
    this.contact.initial(active, at);
    // Already active at start (a leak, a door left open): report it, as for a held panic button.
    if (active) this.changed(true, at, {});
    else this.ctx.stateChanged();
  }

  resync(_input: string, active: boolean, at: EdgeTime): void {
    this.contact.resync(active, at);
    this.ctx.stateChanged();
  }

  flooding(_input: string): void {
    this.contact.discardPending();
    this.ctx.stateChanged();
  }

  input(_input: string, active: boolean, at: EdgeTime): void {
    this.contact.feed(active, at);
    this.ctx.stateChanged();
  }

  private changed(active: boolean, at: EdgeTime, flags: ChangeFlags): void {
    const where = { name: this.cfg.name, location: this.cfg.location };
    let data: Record<string, unknown>;
    if (active) {
      this.activeSince = at;
      this.activations++;
      data = { ...where, input: 'input', active: true, ...flags };
    } else {
      const since = this.activeSince;
      const activeMs = since !== undefined ? Math.max(0, at.uptimeMs - since.uptimeMs) : null;
      this.activeSince = undefined;
      data = { ...where, input: 'input', active: false, activeMs, ...flags };
    }
    const t: InputTransitionConfig = active ? this.cfg.active : this.cfg.inactive;
    this.ctx.emit({ type: t.event, ...(t.severity ? { severity: t.severity } : {}), at, data });
    this.ctx.stateChanged();
  }

  state(): Record<string, unknown> {
    return {
      active: this.contact.active === true,
      activeSince: this.activeSince !== undefined ? new Date(this.activeSince.ts).toISOString() : null,
      activations: this.activations,
      events: { active: this.cfg.active.event, inactive: this.cfg.inactive.event },
      inputs: { input: this.contact.state() },
    };
  }

  settleMs(): number {
    return Math.max(this.cfg.debounceMs, this.cfg.minHoldMs);
  }

  settling(): boolean {
    return this.contact.pending;
  }

  stop(): void {
    this.contact.stop();
  }
}
