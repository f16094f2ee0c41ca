// Which event types a configured device can emit, read from its (possibly invalid) config, so the
// config check can say "this rule can never fire" instead of leaving a silent dead rule.

type Loose = Record<string, unknown>;

/** Made by the runtime for every device (availability; the control room's receipt of its alarms), whatever its type. */
const AVAILABILITY = ['device.offline', 'device.online', 'alarm.acknowledged', 'alarm.unacknowledged'];

export function eventsEmittedBy(device: Loose): string[] | undefined {
  switch (device.type) {
    case 'panic-button':
      return ['panic.pressed', 'panic.released', ...(device.tamper ? ['panic.tamper'] : []), ...AVAILABILITY];
    case 'fire-panel':
      // fire.fault/fault_cleared come from chatter on the alarm contact too, so even without `fault`.
      return ['fire.alarm', 'fire.alarm_cleared', 'fire.fault', 'fire.fault_cleared', ...AVAILABILITY];
    case 'input': {
      const t = (v: unknown, dflt: string) => {
        const e = v && typeof v === 'object' ? (v as Loose).event : undefined;
        return typeof e === 'string' ? e : dflt;
      };
      return [t(device.active, 'input.active'), t(device.inactive, 'input.inactive'), ...AVAILABILITY];
    }
    case 'door':
      return [
        'door.opened',
        'door.closed',
        'door.forced',
        'door.held_open',
        'door.tamper',
        'door.locked',
        'door.unlocked',
        'door.controller_offline',
        'door.controller_online',
        ...AVAILABILITY,
      ];
    default:
      return undefined;
  }
}

/** Event types only the gateway itself makes (never a device, never a generic input). */
export const GATEWAY_ONLY = /^(gateway|command|alarm)\./;
