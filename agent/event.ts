// The event of DESIGN §4 and its catalogue. `seq` is given by the outbox when it accepts the
// event, never by the wall clock.
import { bootId, uptimeMs } from './clock.js';
import { uuidv7 } from './uuidv7.js';

export const SEVERITIES = ['critical', 'high', 'normal', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];
/** Lane index = drain priority: 0 drains first. */
export const laneOf = (s: Severity): number => SEVERITIES.indexOf(s);

/** Catalogue of event types with their default severity (documented in README). */
export const CATALOGUE = {
  'panic.pressed': 'critical',
  'panic.released': 'high',
  'panic.tamper': 'high',
  'fire.alarm': 'critical',
  'fire.alarm_cleared': 'high',
  'fire.fault': 'high',
  'fire.fault_cleared': 'normal',
  'input.active': 'normal',
  'input.inactive': 'normal',
  'door.opened': 'low',
  'door.closed': 'low',
  'door.forced': 'critical',
  'door.held_open': 'high',
  'door.tamper': 'high',
  'door.unlocked': 'normal',
  'door.locked': 'normal',
  'door.controller_offline': 'high',
  'door.controller_online': 'normal',
  'camera.offline': 'high',
  'camera.online': 'normal',
  'camera.auth_failed': 'high',
  'camera.clock_drift': 'normal',
  'camera.image_stale': 'high',
  'camera.image_stale_cleared': 'normal',
  'camera.clock_drift_cleared': 'low',
  'ups.on_battery': 'high',
  'ups.on_mains': 'normal',
  'ups.low_battery': 'critical',
  'ups.offline': 'high',
  'ups.online': 'normal',
  'gateway.started': 'normal',
  'gateway.stopping': 'high',
  // Issue 12: the daily self-test (high when an item failed) and live reloads (refused: high).
  'gateway.self_test': 'normal',
  'gateway.config_reloaded': 'normal',
  'gateway.config_reload_failed': 'high',
  'gateway.clock_synced': 'normal',
  'gateway.outbox_evicted': 'high',
  'gateway.outbox_quarantined': 'high',
  'gateway.publish_rejected': 'high',
  'gateway.disk_low': 'high',
  'gateway.undervoltage': 'high',
  // Issue 9: the box's own health (the cleared events let a dashboard close what it opened).
  'gateway.undervoltage_cleared': 'normal',
  'gateway.throttled': 'high',
  'gateway.throttled_cleared': 'normal',
  'gateway.disk_low_cleared': 'normal',
  'gateway.temperature_high': 'high',
  'gateway.temperature_high_cleared': 'normal',
  'device.offline': 'high',
  'device.online': 'normal',
  'command.executed': 'normal',
  'command.rejected': 'high',
  // Issue 10: the control room's receipt, its absence, and the box's own path.
  'alarm.acknowledged': 'normal',
  'alarm.unacknowledged': 'high',
  'gateway.uplink_lost': 'high',
  'gateway.uplink_restored': 'normal',
} as const satisfies Record<string, Severity>;

export type EventType = keyof typeof CATALOGUE;

export interface EventClock {
  synced: boolean;
  bootId: string;
  uptimeMs: number;
  /** Set when `ts` was recomputed from uptime after the clock synced. */
  restamped?: boolean;
  /** The wall time the event was first stamped with, kept when re-stamped. */
  originalTs?: string;
}

export interface WgEvent {
  id: string;
  seq: number;
  gateway: string;
  site: string;
  device: string;
  deviceType: string;
  type: EventType;
  severity: Severity;
  ts: string;
  clock: EventClock;
  data: Record<string, unknown>;
}

/** An event before the outbox has accepted it (no `seq` yet). */
export type NewEvent = Omit<WgEvent, 'seq'>;

export interface EventSource {
  gateway: string;
  site: string;
  clockSynced: () => boolean;
}

export interface MakeEventInput {
  device: string;
  deviceType: string;
  type: EventType;
  severity?: Severity;
  data?: Record<string, unknown>;
  /** When the thing happened (edge time), if known; defaults to now. */
  at?: { ts: number; uptimeMs: number };
}

export function makeEvent(src: EventSource, input: MakeEventInput): NewEvent {
  const at = input.at ?? { ts: Date.now(), uptimeMs: uptimeMs() };
  return {
    id: uuidv7(),
    gateway: src.gateway,
    site: src.site,
    device: input.device,
    deviceType: input.deviceType,
    type: input.type,
    severity: input.severity ?? CATALOGUE[input.type],
    ts: new Date(at.ts).toISOString(),
    clock: { synced: src.clockSynced(), bootId: bootId(), uptimeMs: Math.round(at.uptimeMs) },
    data: input.data ?? {},
  };
}
