// The Modbus driver (DESIGN §8): every configured bus, each with its own loop (drivers/modbus/bus.ts).
// It reads what the models declared (`bus/unit/table/address[.bit]` points) and emits changes; it
// never decides what a value means. Writes: a plain value, or a pulse `{value, restore, forMs}`
// that the driver itself restores, because it is the last one holding the port: a lock released
// for 5 s must not stay released because the agent is stopping (the restore is written at stop).
import type { Driver, DriverContext, DriverHealth } from '../types.js';
import { ModbusBus, type ProbedPoint, type UnitHealth, type UnitSpec } from './bus.js';
import { ModbusError } from './client.js';
import { parseValuePoint, type ValuePoint } from './points.js';
import type { BusConfig, BusPolicy, ModbusReadingValue } from './types.js';

export interface ModbusPointRequest {
  point: string;
  pollMs?: number;
}

export interface PulseValue {
  value: number;
  restore: number;
  forMs: number;
}

export interface ModbusDriverOptions {
  policy?: Partial<BusPolicy>;
  /** TCP port per bus chosen at run time (the demo's in-process server). */
  portOf?: (busId: string) => number | undefined;
  /** Started before the buses and stopped after them: the demo's in-process controllers. */
  sim?: { start(): Promise<void>; stop(): Promise<void> };
}

const DEFAULT_POLL_MS = 250;

export class ModbusDriver implements Driver {
  readonly name = 'modbus';
  private buses = new Map<string, ModbusBus>();
  private readonly specs = new Map<string, UnitSpec[]>();
  private readonly policy: BusPolicy;
  private readonly pulses = new Map<string, { point: ValuePoint; restore: number; timer: NodeJS.Timeout }>();
  private state: DriverHealth['state'] = 'stopped';

  constructor(
    private readonly busConfigs: BusConfig[],
    points: ModbusPointRequest[],
    private readonly opts: ModbusDriverOptions = {},
  ) {
    this.policy = { offlineAfter: 3, retryMinMs: 1000, retryMaxMs: 30_000, ...opts.policy };
    const units = new Map<string, Map<number, UnitSpec>>();
    for (const req of points) {
      const unitOnly = /^([^/]+)\/(\d{1,3})$/.exec(req.point);
      const p = parseValuePoint(req.point);
      const bus = p?.bus ?? unitOnly?.[1];
      const unit = p?.unit ?? Number(unitOnly?.[2]);
      if (bus === undefined || !Number.isInteger(unit)) continue; // check-config refuses these
      const perBus = units.get(bus) ?? new Map<number, UnitSpec>();
      units.set(bus, perBus);
      const spec = perBus.get(unit) ?? { unit, pollMs: req.pollMs ?? DEFAULT_POLL_MS, points: [] };
      perBus.set(unit, spec);
      spec.pollMs = Math.min(spec.pollMs, req.pollMs ?? DEFAULT_POLL_MS);
      if (p && !spec.points.some((x) => x.point === req.point))
        spec.points.push({
          point: req.point,
          table: p.table,
          address: p.address,
          ...(p.bit !== undefined ? { bit: p.bit } : {}),
        });
    }
    for (const [bus, perBus] of units) this.specs.set(bus, [...perBus.values()]);
  }

  async start(ctx: DriverContext): Promise<void> {
    this.state = 'starting';
    const emit = (point: string, value: ModbusReadingValue) => {
      if (ctx.signal.aborted) return;
      ctx.emit({ point, value, ...ModbusBus.now() });
    };
    this.buses = new Map();
    await this.opts.sim?.start();
    for (const cfg of this.busConfigs) {
      const specs = this.specs.get(cfg.id);
      if (!specs) continue; // a bus nobody reads: check-config warns
      const bus = new ModbusBus(cfg, specs, this.policy, emit, () => this.opts.portOf?.(cfg.id));
      this.buses.set(cfg.id, bus);
      bus.start();
    }
    this.state = 'running';
  }

  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    // Restore every output still pulsed, before the ports close (bounded: a dead unit costs its timeout).
    const restores = [...this.pulses.values()].map((p) => {
      clearTimeout(p.timer);
      return this.writeNow(p.point, p.restore).catch(() => undefined);
    });
    this.pulses.clear();
    await Promise.race([Promise.all(restores), new Promise((r) => setTimeout(r, 2000))]);
    const buses = [...this.buses.values()];
    this.buses = new Map();
    await Promise.all(buses.map((b) => b.stop()));
    await this.opts.sim?.stop();
  }

  /** `value`: a number/boolean, or a pulse `{value, restore, forMs}` restored by the driver. */
  async write(point: string, value: unknown): Promise<void> {
    const p = parseValuePoint(point);
    if (!p) throw new ModbusError('WG_ERR_MODBUS_BAD_FRAME', `not a Modbus point: ${point}`);
    if (typeof value === 'number' || typeof value === 'boolean') {
      this.cancelPulse(point);
      return this.writeNow(p, Number(value));
    }
    const pulse = value as Partial<PulseValue>;
    if (typeof pulse?.value !== 'number' || typeof pulse.restore !== 'number' || typeof pulse.forMs !== 'number')
      throw new ModbusError('WG_ERR_MODBUS_BAD_FRAME', `bad write value for ${point}`);
    this.cancelPulse(point);
    await this.writeNow(p, pulse.value);
    const restore = pulse.restore;
    const timer = setTimeout(() => {
      this.pulses.delete(point);
      // A restore that fails (unit went offline) is retried until it lands: never leave a lock open.
      const retry = (delay: number) =>
        this.writeNow(p, restore).catch(() => {
          if (this.state !== 'stopped') setTimeout(() => void retry(Math.min(delay * 2, 10_000)), delay).unref();
        });
      void retry(500);
    }, pulse.forMs);
    this.pulses.set(point, { point: p, restore, timer });
  }

  private cancelPulse(point: string): void {
    const old = this.pulses.get(point);
    if (old) clearTimeout(old.timer);
    this.pulses.delete(point);
  }

  private writeNow(p: ValuePoint, value: number): Promise<void> {
    const bus = this.buses.get(p.bus);
    if (!bus) return Promise.reject(new ModbusError('WG_ERR_MODBUS_PORT', `bus ${p.bus} is not running`));
    return bus.write(p.unit, p.table, p.address, value);
  }

  /** "Probe now": one read of these points of one unit, queued on its bus (bus.ts `probe`). */
  probe(points: string[]): Promise<{ points: ProbedPoint[]; latencyMs: number }> {
    const parsed = points.map((point) => ({ point, p: parseValuePoint(point) }));
    const first = parsed[0]?.p;
    if (!first || parsed.some(({ p }) => !p || p.bus !== first.bus || p.unit !== first.unit))
      return Promise.reject(new ModbusError('WG_ERR_MODBUS_BAD_FRAME', 'a probe reads value points of one unit'));
    const bus = this.buses.get(first.bus);
    if (!bus) return Promise.reject(new ModbusError('WG_ERR_MODBUS_PORT', `bus ${first.bus} is not running`));
    return bus.probe(
      first.unit,
      parsed.map(({ point, p }) => ({
        point,
        table: (p as ValuePoint).table,
        address: (p as ValuePoint).address,
        ...((p as ValuePoint).bit !== undefined ? { bit: (p as ValuePoint).bit } : {}),
      })),
    );
  }

  /** Counters of one unit (the door's page and /api/devices). */
  unitHealth(busId: string, unit: number): (UnitHealth & { bus: string; connected: boolean }) | undefined {
    const bus = this.buses.get(busId);
    const u = bus?.health().find((h) => h.unit === unit);
    return bus && u ? { bus: busId, connected: bus.connected, ...u } : undefined;
  }

  health(): DriverHealth {
    try {
      const buses: Record<string, unknown> = {};
      const points: NonNullable<DriverHealth['points']> = {};
      const counters: Record<string, number> = { requests: 0, timeouts: 0, crcErrors: 0, badFrames: 0, exceptions: 0 };
      let degraded = false;
      let last: { code: string; message: string } | undefined;
      for (const [id, bus] of this.buses) {
        const units = bus.health();
        buses[id] = { type: bus.cfg.type, connected: bus.connected, reconnects: bus.reconnects, units };
        if (!bus.connected) degraded = true;
        if (bus.lastError) last = bus.lastError;
        for (const u of units) {
          counters.requests = (counters.requests ?? 0) + u.requests;
          counters.timeouts = (counters.timeouts ?? 0) + u.timeouts;
          counters.crcErrors = (counters.crcErrors ?? 0) + u.crcErrors;
          counters.badFrames = (counters.badFrames ?? 0) + u.badFrames;
          counters.exceptions = (counters.exceptions ?? 0) + Object.values(u.exceptions).reduce((a, b) => a + b, 0);
          const ok = u.online !== false;
          if (!ok) degraded = true;
          points[`${id}/${u.unit}`] = {
            ok,
            ...(u.lastError && !ok ? { detail: `${u.lastErrorCode}: ${u.lastError}` } : {}),
          };
        }
      }
      const state = this.state === 'running' && degraded ? 'degraded' : this.state;
      return {
        state,
        counters,
        points,
        detail: { buses },
        ...(last ? { lastErrorCode: last.code, lastError: last.message } : {}),
      };
    } catch (err) {
      return { state: 'faulted', lastErrorCode: 'WG_ERR_DRIVER_FAULT', lastError: String(err) };
    }
  }
}
