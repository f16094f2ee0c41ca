// Fire panel relay contacts (DESIGN §8): an alarm relay and, usually, a fault relay. wardgate does
// not replace the fire panel; it tells the control room what the panel says, and that it can no
// longer trust a contact that chatters (a loose wire or a failing relay) — once, as `fire.fault`,
// never as a storm of alarms. A genuine alarm on a chattering contact still goes out, flagged
// `suspectedChatter`, within the debounce plus `chatterHoldSec` (watched-input.ts).
import type { FirePanelConfig } from '../config/types.js';
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

type Contact = 'alarm' | 'fault';

export class FirePanel implements GpioInputModel {
  readonly type = 'fire-panel';
  readonly gpioInputs: GpioInputWiring[] = [];
  private readonly contacts = new Map<Contact, WatchedInput>();
  /** Edge that began the alarm: `activeMs` is monotonic. */
  private alarmSince: EdgeTime | undefined;
  private alarms = 0;

  constructor(
    private readonly cfg: FirePanelConfig,
    private readonly ctx: DeviceModelContext,
    defaultChip: string,
  ) {
    for (const name of ['alarm', 'fault'] as const) {
      const input = cfg[name];
      if (!input) continue;
      this.gpioInputs.push(wire(name, input, defaultChip));
      this.contacts.set(
        name,
        new WatchedInput({
          activeMs: Math.max(cfg.debounceMs, cfg.minHoldMs),
          inactiveMs: cfg.debounceMs,
          onChange: (active, at, flags) => this.changed(name, active, at, flags),
          onLateEdge: (lateByMs) =>
            ctx.log.warn({ input: name, lateByMs }, 'an edge was read after its hold had been decided'),
          chatter: {
            changesPerMinute: cfg.chatterEdgesPerMinute,
            quietMs: cfg.chatterQuietSec * 1000,
            holdMs: cfg.chatterHoldSec * 1000,
            onChatterStart: (edges, at) => this.chatter(name, edges, at),
            onChatterEnd: (at) => this.chatterEnded(name, at),
          },
        }),
      );
    }
  }

  get points(): PointBinding[] {
    return gpioPoints(this.gpioInputs);
  }

  get id(): string {
    return this.cfg.id;
  }

  private where() {
    return { name: this.cfg.name, location: this.cfg.location };
  }

  initial(input: string, active: boolean, at: EdgeTime): void {
    const contact = this.contacts.get(input as Contact);
    if (!contact) return;
    if (contact.active !== undefined) {
      this.resync(input, active, at);
      return;
    }
    contact.initial(active, at);
    // A panel already in alarm or fault when wardgate starts is news for the control room.
    if (active) this.changed(input as Contact, true, at, {});
    else this.ctx.stateChanged();
  }

  resync(input: string, active: boolean, at: EdgeTime): void {
    this.contacts.get(input as Contact)?.resync(active, at);
    this.ctx.stateChanged();
  }

  flooding(input: string): void {
    this.contacts.get(input as Contact)?.discardPending();
    this.ctx.stateChanged();
  }

  input(input: string, active: boolean, at: EdgeTime): void {
    this.contacts.get(input as Contact)?.feed(active, at);
    this.ctx.stateChanged();
  }

  private changed(name: Contact, active: boolean, at: EdgeTime, flags: ChangeFlags): void {
    if (name === 'alarm') {
      if (active) {
        this.alarmSince = at;
        this.alarms++;
        this.ctx.emit({ type: 'fire.alarm', at, data: { ...this.where(), input: 'alarm', ...flags } });
      } else {
        const since = this.alarmSince;
        const activeMs = since !== undefined ? Math.max(0, at.uptimeMs - since.uptimeMs) : null;
        this.alarmSince = undefined;
        const data = { ...this.where(), input: 'alarm', activeMs, ...flags };
        this.ctx.emit({ type: 'fire.alarm_cleared', at, data });
      }
    } else {
      // The panel's own fault relay: its wiring, a detector, its mains or its battery.
      const data = { ...this.where(), input: 'fault', reason: 'fault-relay', ...flags };
      this.ctx.emit({ type: active ? 'fire.fault' : 'fire.fault_cleared', at, data });
    }
    this.ctx.stateChanged();
  }

  private chatter(name: Contact, changesLastMinute: number, at: EdgeTime): void {
    this.ctx.log.warn(
      { input: name, changesLastMinute },
      'fire panel contact is chattering; its changes are held for chatterHoldSec and flagged',
    );
    this.ctx.emit({
      type: 'fire.fault',
      at,
      data: {
        ...this.where(),
        reason: 'chatter',
        input: name,
        changesLastMinute,
        limit: this.cfg.chatterEdgesPerMinute,
      },
    });
    this.ctx.stateChanged();
  }

  private chatterEnded(name: Contact, at: EdgeTime): void {
    const data = { ...this.where(), reason: 'chatter', input: name, quietSec: this.cfg.chatterQuietSec };
    this.ctx.emit({ type: 'fire.fault_cleared', at, data });
    this.ctx.stateChanged();
  }

  state(): Record<string, unknown> {
    const alarm = this.contacts.get('alarm');
    const fault = this.contacts.get('fault');
    const chattering = [...this.contacts.values()].some((c) => c.chattering);
    return {
      alarm: alarm?.active === true,
      alarmSince: this.alarmSince !== undefined ? new Date(this.alarmSince.ts).toISOString() : null,
      alarms: this.alarms,
      // Any reason the panel's word cannot be taken at face value.
      fault: fault?.active === true || chattering,
      inputs: Object.fromEntries([...this.contacts].map(([name, c]) => [name, c.state()])),
    };
  }

  settleMs(): number {
    return Math.max(this.cfg.debounceMs, this.cfg.minHoldMs);
  }

  settling(): boolean {
    for (const c of this.contacts.values()) if (c.pending) return true;
    return false;
  }

  stop(): void {
    for (const c of this.contacts.values()) c.stop();
  }
}
