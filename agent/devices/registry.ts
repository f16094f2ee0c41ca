// Builds device models from config and routes GPIO readings to them (active-low applied here, once).
import type { Logger } from 'pino';
import { type LineRef, lineKey } from '../../drivers/gpio/backend.js';
import type { GpioReadingValue } from '../../drivers/gpio/driver.js';
import type { Reading } from '../../drivers/types.js';
import type { Config, DeviceConfig } from '../config/types.js';
import { FirePanel } from './fire-panel.js';
import { GenericInput } from './generic-input.js';
import { PanicButton } from './panic-button.js';
import type { DeviceModel, DeviceModelContext, DeviceState, GpioInputWiring, ModelEvent } from './types.js';

export interface DeviceEntry {
  cfg: DeviceConfig;
  model: DeviceModel;
  online: boolean;
  reason?: string;
  since: number;
}

export interface RegistryHooks {
  emit(device: DeviceEntry, ev: ModelEvent): void;
  stateChanged(device: DeviceEntry): void;
  /** A model drives one of its own outputs (a panic button's LED). */
  setOutput(device: DeviceEntry, outputId: string, active: boolean, by: string): void;
}

export class DeviceRegistry {
  readonly devices = new Map<string, DeviceEntry>();
  private readonly byLine = new Map<string, { entry: DeviceEntry; wiring: GpioInputWiring }>();

  constructor(config: Config, log: Logger, hooks: RegistryHooks) {
    const defaultChip = config.gpio?.chip ?? 'gpiochip0';
    for (const cfg of config.devices) {
      // The entry exists before the model so the model's callbacks can name it.
      const entry = { cfg, online: false, reason: 'starting', since: Date.now() } as DeviceEntry;
      const ctx: DeviceModelContext = {
        emit: (ev) => hooks.emit(entry, ev),
        stateChanged: () => hooks.stateChanged(entry),
        setOutput: (outputId, active, by) => hooks.setOutput(entry, outputId, active, by),
        log: log.child({ device: cfg.id }),
      };
      entry.model = makeModel(cfg, ctx, defaultChip);
      this.devices.set(cfg.id, entry);
      for (const wiring of entry.model.gpioInputs) this.byLine.set(lineKey(wiring.ref), { entry, wiring });
    }
  }

  gpioInputRefs(): LineRef[] {
    return [...this.byLine.values()].map((w) => w.wiring.ref);
  }

  /** Which device owns this GPIO line (for line faults). */
  ownerOf(point: string): DeviceEntry | undefined {
    return this.byLine.get(point)?.entry;
  }

  wiring(deviceId: string, input: string): GpioInputWiring | undefined {
    return this.devices.get(deviceId)?.model.gpioInputs.find((w) => w.name === input);
  }

  /** Route one GPIO reading. Returns the owning device for fault/recovery handling by the runtime. */
  onGpioReading(reading: Reading): { entry: DeviceEntry; value: GpioReadingValue } | undefined {
    const hit = this.byLine.get(reading.point);
    if (!hit) return undefined;
    const value = reading.value as GpioReadingValue;
    const at = { ts: reading.ts, uptimeMs: reading.uptimeMs };
    // Levels only: line faults and floods are availability, which the runtime owns.
    if (value.kind === 'edge' || value.kind === 'initial' || value.kind === 'resync') {
      const active = hit.wiring.activeLow ? value.level === 0 : value.level === 1;
      const model = hit.entry.model;
      if (value.kind === 'edge') model.input(hit.wiring.name, active, at);
      else if (value.kind === 'initial') model.initial(hit.wiring.name, active, at);
      else model.resync(hit.wiring.name, active, at);
    } else if (value.kind === 'flood') hit.entry.model.flooding(hit.wiring.name);
    return { entry: hit.entry, value };
  }

  snapshot(entry: DeviceEntry): DeviceState {
    return {
      id: entry.cfg.id,
      type: entry.cfg.type,
      ...(entry.cfg.name ? { name: entry.cfg.name } : {}),
      ...(entry.cfg.location ? { location: entry.cfg.location } : {}),
      availability: entry.online ? 'online' : 'offline',
      ...(entry.reason ? { availabilityReason: entry.reason } : {}),
      since: new Date(entry.since).toISOString(),
      inputs: entry.model.gpioInputs.map((w) => w.name),
      state: entry.model.state(),
    };
  }

  stop(): void {
    for (const d of this.devices.values()) d.model.stop();
  }
}

function makeModel(cfg: DeviceConfig, ctx: DeviceModelContext, defaultChip: string): DeviceModel {
  switch (cfg.type) {
    case 'panic-button':
      return new PanicButton(cfg, ctx, defaultChip);
    case 'fire-panel':
      return new FirePanel(cfg, ctx, defaultChip);
    case 'input':
      return new GenericInput(cfg, ctx, defaultChip);
  }
}
