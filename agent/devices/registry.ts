// Builds device models from config and routes readings to them by (driver, point), O(1): GPIO
// readings on their own map, decoded here (active-low applied once, no Reading reaches a model);
// every other driver's readings to `model.onReading(name, reading)`.
import type { Logger } from 'pino';
import { type LineRef, lineKey } from '../../drivers/gpio/backend.js';
import type { GpioReadingValue } from '../../drivers/gpio/driver.js';
import type { Reading } from '../../drivers/types.js';
import type { Config, DeviceConfig, FirePanelConfig, InputDeviceConfig, PanicButtonConfig } from '../config/types.js';
import { WardgateError } from '../errors.js';
import { driverKinds } from './driver-kinds.js';
import { FirePanel } from './fire-panel.js';
import { GenericInput } from './generic-input.js';
import type { DriverKind, ModelFactory } from './kinds.js';
import { PanicButton } from './panic-button.js';
import {
  type DeviceModel,
  type DeviceModelContext,
  type DeviceState,
  type GpioInputModel,
  type GpioInputWiring,
  isGpioInputModel,
  type ModelEvent,
  type PointBinding,
} from './types.js';

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
  /** A model reports its own availability (DeviceModelContext.setAvailability). */
  setAvailability?(device: DeviceEntry, online: boolean, reason?: string, announce?: boolean): void;
  /** A model writes an output point through a driver. */
  write?(driver: string, point: string, value: unknown): Promise<void>;
}

interface GpioRoute {
  entry: DeviceEntry;
  model: GpioInputModel;
  wiring: GpioInputWiring;
}
interface PointRoute {
  entry: DeviceEntry;
  name: string;
}

const GPIO_MODELS: Record<string, ModelFactory> = {
  'panic-button': (cfg, ctx, config) =>
    new PanicButton(cfg as PanicButtonConfig, ctx, config.gpio?.chip ?? 'gpiochip0'),
  'fire-panel': (cfg, ctx, config) => new FirePanel(cfg as FirePanelConfig, ctx, config.gpio?.chip ?? 'gpiochip0'),
  input: (cfg, ctx, config) => new GenericInput(cfg as InputDeviceConfig, ctx, config.gpio?.chip ?? 'gpiochip0'),
};

export class DeviceRegistry {
  readonly devices = new Map<string, DeviceEntry>();
  private readonly byLine = new Map<string, GpioRoute>();
  /** driver → point → the models reading it (non-GPIO drivers; two doors of one I/O module share its unit). */
  private readonly byPoint = new Map<string, Map<string, PointRoute[]>>();

  private readonly factories: Record<string, ModelFactory>;

  constructor(
    config: Config,
    private readonly log: Logger,
    private readonly hooks: RegistryHooks,
    private readonly kinds: readonly DriverKind[] = driverKinds(),
  ) {
    this.factories = { ...GPIO_MODELS };
    for (const kind of kinds) Object.assign(this.factories, kind.models);
    for (const cfg of config.devices) this.addDevice(cfg, config);
  }

  /** A device's model, wired to its lines and points (at start, and by a live reload: issue 12). */
  addDevice(cfg: DeviceConfig, config: Config): DeviceEntry {
    const { hooks, log } = this;
    const factories = this.factories;
    // The entry exists before the model so the model's callbacks can name it.
    const entry = { cfg, online: false, reason: 'starting', since: Date.now() } as DeviceEntry;
    const ctx: DeviceModelContext = {
      emit: (ev) => hooks.emit(entry, ev),
      stateChanged: () => hooks.stateChanged(entry),
      setOutput: (outputId, active, by) => hooks.setOutput(entry, outputId, active, by),
      log: log.child({ device: cfg.id }),
      setAvailability: (online, reason, opts) => hooks.setAvailability?.(entry, online, reason, opts?.announce),
      write: (driver, point, value) =>
        hooks.write
          ? hooks.write(driver, point, value)
          : Promise.reject(new WardgateError('WG_ERR_DRIVER_FAULT', `no driver ${driver} to write ${point}`)),
    };
    const factory = factories[cfg.type];
    if (!factory) throw new WardgateError('WG_ERR_CONFIG_INVALID', `devices: no model for type ${cfg.type}`);
    entry.model = factory(cfg, ctx, config);
    this.devices.set(cfg.id, entry);
    const model = entry.model;
    if (isGpioInputModel(model)) {
      for (const wiring of model.gpioInputs) this.byLine.set(lineKey(wiring.ref), { entry, model, wiring });
    }
    for (const p of model.points) {
      if (p.driver === 'gpio') continue;
      const points = this.byPoint.get(p.driver) ?? new Map<string, PointRoute[]>();
      this.byPoint.set(p.driver, points);
      points.set(p.point, [...(points.get(p.point) ?? []), { entry, name: p.name }]);
    }
    return entry;
  }

  /** Stop a device's model and forget its routes (live reload); its driver is the caller's. */
  removeDevice(id: string): void {
    const entry = this.devices.get(id);
    if (!entry) return;
    entry.model.stop();
    this.devices.delete(id);
    for (const [k, r] of this.byLine) if (r.entry === entry) this.byLine.delete(k);
    for (const points of this.byPoint.values()) {
      for (const [p, routes] of points) {
        const left = routes.filter((r) => r.entry !== entry);
        if (left.length === 0) points.delete(p);
        else points.set(p, left);
      }
    }
  }

  gpioInputRefs(): LineRef[] {
    return [...this.byLine.values()].map((w) => w.wiring.ref);
  }

  /** Every point the models read from `driver`, with the device reading it (for the driver kinds). */
  pointsOf(driver: string): Array<PointBinding & { device: string }> {
    const out: Array<PointBinding & { device: string }> = [];
    for (const e of this.devices.values()) {
      for (const p of e.model.points) if (p.driver === driver) out.push({ ...p, device: e.cfg.id });
    }
    return out;
  }

  /** Which device owns this GPIO line (for line faults). */
  ownerOf(point: string): DeviceEntry | undefined {
    return this.byLine.get(point)?.entry;
  }

  wiring(deviceId: string, input: string): GpioInputWiring | undefined {
    const model = this.devices.get(deviceId)?.model;
    return model && isGpioInputModel(model) ? model.gpioInputs.find((w) => w.name === input) : undefined;
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
      const model = hit.model;
      if (value.kind === 'edge') model.input(hit.wiring.name, active, at);
      else if (value.kind === 'initial') model.initial(hit.wiring.name, active, at);
      else model.resync(hit.wiring.name, active, at);
    } else if (value.kind === 'flood') hit.model.flooding(hit.wiring.name);
    return { entry: hit.entry, value };
  }

  /** Route one reading of a non-GPIO driver to the model that declared its point. */
  onReading(driver: string, reading: Reading): boolean {
    const routes = this.byPoint.get(driver)?.get(reading.point);
    if (!routes) return false;
    for (const r of routes) r.entry.model.onReading?.(r.name, reading);
    return true;
  }

  /** Devices that read at least one point from `driver` (marked offline when it is down). */
  devicesOf(driver: string): DeviceEntry[] {
    return [...this.devices.values()].filter((e) => e.model.points.some((p) => p.driver === driver));
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
      inputs: isGpioInputModel(entry.model)
        ? entry.model.gpioInputs.map((w) => w.name)
        : (entry.model.simInputs?.() ?? entry.model.points.map((p) => p.name)),
      state: entry.model.state(),
      ...this.driverDetail(entry.cfg.id),
    };
  }

  private driverDetail(id: string): { driver?: Record<string, unknown> } {
    for (const k of this.kinds) {
      const d = k.deviceDetail?.(id);
      if (d) return { driver: d };
    }
    return {};
  }

  stop(): void {
    for (const d of this.devices.values()) d.model.stop();
  }
}
