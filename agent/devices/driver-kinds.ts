// The driver kinds this build knows (agent/devices/kinds.ts says what a kind is). A new kind adds
// one line here; nothing else in the runtime names it.
import { modbusKind } from '../../drivers/modbus/kind.js';
import { nutKind } from '../../drivers/nut/kind.js';
import { onvifKind } from '../../drivers/onvif/kind.js';
import type { DriverKind } from './kinds.js';

const FACTORIES: Array<() => DriverKind> = [modbusKind, nutKind, onvifKind];

/** Fresh instances for one Agent (or one registry in a test). */
export function driverKinds(): DriverKind[] {
  return FACTORIES.map((make) => make());
}
