// Active alarms, for the top of the technician's page and for the control room's `alarm.ack`
// (issue 10). Fed with durable events only (the outbox's accepted tap), so nothing here runs before
// an alarm is safe on disk. Two acknowledgements are kept apart on purpose (issue 11: a local
// `ack-led` rule lit "acknowledged" the instant a button was pressed, which read like the control
// room's): `localLed` is the button's LED on this box, `controlRoom` is who acknowledged centrally.
import type { Severity, WgEvent } from './event.js';
import type { Agent } from './runtime.js';

export interface ControlRoomAck {
  by: string;
  at: string;
  commandId?: string;
}

export interface ActiveAlarm {
  id: string;
  seq: number;
  device: string;
  deviceType: string;
  name?: string;
  location?: string;
  type: string;
  severity: Severity;
  since: string;
  /** Raised during a walk test (`data.test`). */
  test: boolean;
  localLed: { on: boolean; at?: string; by?: string };
  controlRoom: ControlRoomAck | null;
}

export interface AlarmDeviceInfo {
  name?: string;
  location?: string;
  /** A generic input's configured events: its `active` event raises, its `inactive` one clears. */
  input?: { active: string; inactive: string; severity?: Severity };
  /** The button's LED now; read when the list is shown, never per event. */
  led?: () => { on: boolean; at?: string; by?: string } | undefined;
}

/** Raising type → the types that end it. Same device, same kind. */
const CLEARED_BY: Record<string, readonly string[]> = {
  'panic.pressed': ['panic.released'],
  'fire.alarm': ['fire.alarm_cleared'],
  'fire.fault': ['fire.fault_cleared'],
  'door.forced': ['door.closed'],
  'door.held_open': ['door.closed'],
  'door.controller_offline': ['door.controller_online'],
  'camera.offline': ['camera.online'],
  'camera.auth_failed': ['camera.online', 'camera.offline'],
  'camera.image_stale': ['camera.image_stale_cleared', 'camera.online', 'camera.offline'],
  'ups.on_battery': ['ups.on_mains'],
  'ups.low_battery': ['ups.on_mains'],
  'ups.offline': ['ups.online'],
  'device.offline': ['device.online'],
  'gateway.disk_low': ['gateway.disk_low_cleared'],
  'gateway.undervoltage': ['gateway.undervoltage_cleared'],
  'gateway.throttled': ['gateway.throttled_cleared'],
  'gateway.temperature_high': ['gateway.temperature_high_cleared'],
  'gateway.uplink_lost': ['gateway.uplink_restored'],
};
/** Raised with no event that ends them: shown for LATCH_MS, or until the control room acknowledges. */
const LATCHED = new Set(['panic.tamper', 'door.tamper']);
const LATCH_MS = 15 * 60_000;
/** Clearing type → the raising types it ends (the table above, turned round once). */
const CLEARS = new Map<string, string[]>();
for (const [raise, clears] of Object.entries(CLEARED_BY))
  for (const c of clears) CLEARS.set(c, [...(CLEARS.get(c) ?? []), raise]);
const SEVERITY_RANK: Record<Severity, number> = { critical: 0, high: 1, normal: 2, low: 3 };

export class Alarms {
  private readonly active = new Map<string, ActiveAlarm>();
  private readonly latchedAt = new Map<string, number>();
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly info: (device: string) => AlarmDeviceInfo | undefined,
    private readonly max = 500,
  ) {}

  /** Durable events, in seq order. Returns true if the list changed. */
  onEvents(events: readonly WgEvent[]): boolean {
    let changed = false;
    for (const ev of events) changed = this.onEvent(ev) || changed;
    if (changed) for (const l of this.listeners) l();
    return changed;
  }

  private onEvent(ev: WgEvent): boolean {
    if (ev.type === ('alarm.acknowledged' as string)) {
      const d = ev.data as { alarmId?: string; alarmSeq?: number; by?: string; commandId?: string };
      return this.mark({ id: d.alarmId, seq: d.alarmSeq }, d.by ?? 'control room', new Date(ev.ts), d.commandId);
    }
    // Called for every durable event: two map lookups decide most of them.
    let changed = false;
    for (const raise of CLEARS.get(ev.type) ?? []) changed = this.active.delete(`${ev.device} ${raise}`) || changed;
    if (ev.deviceType !== 'input' && !(ev.type in CLEARED_BY) && !LATCHED.has(ev.type)) return changed;
    const dev = this.info(ev.device);
    if (dev?.input && ev.type === dev.input.inactive) changed = this.active.delete(`${ev.device} input`) || changed;
    const generic = dev?.input && ev.type === dev.input.active && ev.severity !== 'normal' && ev.severity !== 'low';
    if (!(ev.type in CLEARED_BY) && !LATCHED.has(ev.type) && !generic) return changed;
    const key = generic ? `${ev.device} input` : `${ev.device} ${ev.type}`;
    if (this.active.has(key)) return changed; // already raised: keep its first "since"
    if (this.active.size >= this.max) return changed;
    this.active.set(key, {
      id: ev.id,
      seq: ev.seq,
      device: ev.device,
      deviceType: ev.deviceType,
      ...(dev?.name ? { name: dev.name } : {}),
      ...(dev?.location ? { location: dev.location } : {}),
      type: ev.type,
      severity: ev.severity,
      since: ev.ts,
      test: ev.data.test === true,
      localLed: { on: false },
      controlRoom: null,
    });
    if (LATCHED.has(ev.type)) this.latchedAt.set(key, Date.now());
    return true;
  }

  /** Active alarms: critical first, then oldest first. The LED state is read now. */
  list(now = Date.now()): ActiveAlarm[] {
    for (const [key, at] of this.latchedAt) {
      if (now - at > LATCH_MS || this.active.get(key)?.controlRoom) {
        this.active.delete(key);
        this.latchedAt.delete(key);
      }
    }
    return [...this.active.values()]
      .map((a) => ({ ...a, localLed: this.info(a.device)?.led?.() ?? a.localLed }))
      .sort((a, b) => SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] || a.seq - b.seq);
  }

  find(ref: { id?: string | undefined; seq?: number | undefined }): ActiveAlarm | undefined {
    for (const a of this.active.values()) if (a.id === ref.id || (ref.seq !== undefined && a.seq === ref.seq)) return a;
    return undefined;
  }

  /**
   * The control room acknowledged an alarm (`alarm.ack`, issue 10). Records who and when only: the
   * LED and the `alarm.acknowledged` event are the caller's. Idempotent (the first ack is kept).
   * Undefined when no active alarm has that id/seq.
   */
  acknowledge(
    ref: { id?: string; seq?: number },
    by: string,
    opts: { commandId?: string; at?: Date } = {},
  ): ActiveAlarm | undefined {
    if (!this.mark(ref, by, opts.at ?? new Date(), opts.commandId)) return this.find(ref);
    for (const l of this.listeners) l();
    return this.find(ref);
  }

  private mark(ref: { id?: string | undefined; seq?: number | undefined }, by: string, at: Date, commandId?: string) {
    const a = this.find(ref);
    if (!a || a.controlRoom) return false;
    a.controlRoom = { by: String(by).slice(0, 120), at: at.toISOString(), ...(commandId ? { commandId } : {}) };
    return true;
  }

  /** Called after every change (the page's server-sent events). Returns the unsubscribe function. */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** Each agent's devices by id, built once: the alarm list looks one up per durable event. */
const byId = new WeakMap<Agent, Map<string, Agent['config']['devices'][number]>>();

/** What the alarm list needs of a device: its names, a generic input's events, its LED now. */
export function alarmDeviceInfo(agent: Agent, id: string): AlarmDeviceInfo | undefined {
  let devices = byId.get(agent);
  if (!devices) {
    devices = new Map(agent.config.devices.map((d) => [d.id, d]));
    byId.set(agent, devices);
  }
  const cfg = devices.get(id);
  if (!cfg) return undefined;
  const info: AlarmDeviceInfo = {
    ...(cfg.name ? { name: cfg.name } : {}),
    ...(cfg.location ? { location: cfg.location } : {}),
  };
  if (cfg.type === 'input')
    info.input = {
      active: cfg.active.event,
      inactive: cfg.inactive.event,
      ...(cfg.active.severity ? { severity: cfg.active.severity } : {}),
    };
  const led = cfg.type === 'panic-button' ? cfg.led?.output : undefined;
  if (led)
    info.led = () => {
      const out = agent.outputs().find((o) => o.id === led);
      if (!out) return undefined;
      return { on: out.active, ...(out.lastChange ? { at: out.lastChange } : {}), ...(out.by ? { by: out.by } : {}) };
    };
  return info;
}
