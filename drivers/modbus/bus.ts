// One Modbus bus: a single loop owns the connection, so there is exactly one transaction at a time
// (RS-485 is half duplex; most TCP gateways serialise anyway). Each unit is polled on its own
// period; a unit that does not answer costs its timeout and nothing more; after `offlineAfter`
// consecutive failures it is offline and only probed with a doubling delay, so a dead controller
// cannot eat the bus. Writes and probes go before polls, in the order asked. A lost port or socket is reopened with backoff,
// without restarting anything (ThingsBoard gateway #474, #829: serial adapters re-plugged and
// power-cycled controllers needed a gateway restart).
import { uptimeMs } from '../../agent/clock.js';
import type { ErrorCode } from '../../agent/errors.js';
import { type Block, planBlocks, type UnitPoint } from './blocks.js';
import { BusClient, ModbusError } from './client.js';
import { isBitTable, type Table } from './points.js';
import { type BusConfig, type BusPolicy, type ModbusCounters, type ModbusReadingValue, newCounters } from './types.js';

export interface UnitSpec {
  unit: number;
  pollMs: number;
  points: UnitPoint[];
}

export interface UnitHealth extends ModbusCounters {
  unit: number;
  online: boolean | null;
  consecutiveFailures: number;
  lastErrorCode?: string;
  lastError?: string;
}

interface Unit extends UnitHealth {
  pollMs: number;
  blocks: Block[];
  point: string;
  nextDue: number;
  lastStart: number | undefined;
  retryMs: number;
  values: Map<string, number>;
  /** Next good poll reports every value (start, or back from offline). */
  first: boolean;
}

/** A queued on-demand transaction set (a write, a probe): run in turn by the bus loop, before polls. */
interface Job {
  run(): Promise<void>;
  fail(err: Error): void;
}

/** One point as a probe read it: the raw register or bit, and the bit's value for a register bit. */
export interface ProbedPoint {
  point: string;
  table: Table;
  address: number;
  bit?: number;
  raw: number;
  value: number;
}

export type BusEmit = (point: string, value: ModbusReadingValue) => void;

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5000;

export class ModbusBus {
  readonly units = new Map<number, Unit>();
  private readonly client: BusClient;
  private readonly jobs: Job[] = [];
  private stopped = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private reconnectAt = 0;
  private reconnectMs = RECONNECT_MIN_MS;
  /** Times the port or socket was opened again after a loss (the first open is not counted). */
  reconnects = 0;
  connected = false;
  private everConnected = false;
  lastError: { code: ErrorCode; message: string } | undefined;
  private readonly interFrameMs: number;

  constructor(
    readonly cfg: BusConfig,
    specs: UnitSpec[],
    private readonly policy: BusPolicy,
    private readonly emit: BusEmit,
    /** TCP port actually used (the demo's sim server listens on a port chosen at start). */
    private readonly port?: () => number | undefined,
  ) {
    this.client = new BusClient(cfg, {
      onClose: () => {
        this.connected = false;
        this.kick();
      },
      onError: (err) => {
        this.lastError = { code: 'WG_ERR_MODBUS_PORT', message: err.message };
      },
    });
    // RTU: 3.5 character times of silence between frames; 1.75 ms above 19200 baud (spec §2.5.1.1).
    this.interFrameMs =
      cfg.type === 'modbus-rtu'
        ? (cfg.interFrameMs ?? (cfg.baudRate > 19200 ? 1.75 : (3.5 * 11 * 1000) / cfg.baudRate))
        : 0;
    for (const s of specs) {
      this.units.set(s.unit, {
        ...newCounters(),
        unit: s.unit,
        online: null,
        consecutiveFailures: 0,
        pollMs: s.pollMs,
        blocks: planBlocks(s.points),
        point: `${cfg.id}/${s.unit}`,
        nextDue: 0,
        lastStart: undefined,
        retryMs: policy.retryMinMs,
        values: new Map(),
        first: true,
      });
    }
  }

  start(): void {
    this.stopped = false;
    this.loop ??= this.run().catch((err) => {
      this.lastError = { code: 'WG_ERR_MODBUS_PORT', message: String(err) };
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.kick();
    for (const j of this.jobs.splice(0)) j.fail(new ModbusError('WG_ERR_MODBUS_PORT', 'bus stopping'));
    await this.loop;
    this.loop = undefined;
    await this.client.close();
    this.connected = false;
  }

  /** Queue a write (ahead of polls). Refused at once when the unit is offline (issue 8). */
  write(unit: number, table: Table, address: number, value: number): Promise<void> {
    const u = this.units.get(unit);
    if (table !== 'coil' && table !== 'hr')
      return Promise.reject(new ModbusError('WG_ERR_MODBUS_BAD_FRAME', `${table} is read-only`));
    if (this.stopped) return Promise.reject(new ModbusError('WG_ERR_MODBUS_PORT', 'bus stopped'));
    if (u && u.online === false)
      return Promise.reject(new ModbusError('WG_ERR_MODBUS_OFFLINE', `unit ${unit} on bus ${this.cfg.id}`));
    return this.enqueue(() => this.transact(unit, () => this.client.write(unit, table, address, value)));
  }

  /**
   * "Probe now" (issue 11): read these points of one unit once, queued like a write behind what is
   * already waiting (one transaction at a time on the half-duplex bus, the unit's own timeout).
   * Refused at once when the unit is offline: a dead controller must not cost the bus a timeout.
   */
  probe(unit: number, points: UnitPoint[]): Promise<{ points: ProbedPoint[]; latencyMs: number }> {
    const u = this.units.get(unit);
    if (this.stopped) return Promise.reject(new ModbusError('WG_ERR_MODBUS_PORT', 'bus stopped'));
    if (u && u.online === false)
      return Promise.reject(new ModbusError('WG_ERR_MODBUS_OFFLINE', `unit ${unit} on bus ${this.cfg.id}`));
    return this.enqueue(async () => {
      const started = performance.now();
      const out: ProbedPoint[] = [];
      for (const block of planBlocks(points)) {
        const data = await this.transact(unit, () => this.client.read(unit, block.table, block.start, block.count));
        for (const p of block.points) {
          const raw = data[p.offset] ?? 0;
          const bit = p.bit !== undefined && !isBitTable(block.table) ? p.bit : undefined;
          out.push({
            point: p.point,
            table: block.table,
            address: block.start + p.offset,
            ...(bit !== undefined ? { bit } : {}),
            raw,
            value: bit === undefined ? raw : (raw >> bit) & 1,
          });
        }
      }
      return { points: out, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
    });
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.jobs.push({ run: () => fn().then(resolve, reject), fail: reject });
      this.kick();
    });
  }

  private kick(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = undefined;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const now = Date.now();
      if (!this.client.isOpen && now >= this.reconnectAt) await this.reconnect();
      if (this.stopped) break;
      const job = this.jobs.shift();
      if (job) {
        await job.run();
        continue;
      }
      let next: Unit | undefined;
      for (const u of this.units.values()) if (!next || u.nextDue < next.nextDue) next = u;
      let wait = next ? next.nextDue - Date.now() : 1000;
      if (!this.client.isOpen) wait = Math.min(wait, this.reconnectAt - Date.now());
      if (wait > 0 || !next) {
        await this.sleep(Math.max(1, wait));
        continue;
      }
      await this.poll(next);
    }
  }

  private async reconnect(): Promise<void> {
    try {
      await this.client.open(this.port?.());
      if (this.everConnected) this.reconnects++;
      this.everConnected = true;
      this.connected = true;
      this.reconnectMs = RECONNECT_MIN_MS;
    } catch (err) {
      this.connected = false;
      this.lastError = { code: 'WG_ERR_MODBUS_PORT', message: (err as Error).message };
      this.reconnectAt = Date.now() + this.reconnectMs;
      this.reconnectMs = Math.min(this.reconnectMs * 2, RECONNECT_MAX_MS);
    }
  }

  /** One transaction with its counters; RTU keeps the inter-frame silence after it. */
  private async transact<T>(unit: number, fn: () => Promise<T>): Promise<T> {
    const u = this.units.get(unit);
    const started = performance.now();
    if (u) u.requests++;
    try {
      const r = await fn();
      if (u) {
        u.responses++;
        u.lastLatencyMs = Math.round((performance.now() - started) * 10) / 10;
      }
      return r;
    } catch (err) {
      const e = err instanceof ModbusError ? err : new ModbusError('WG_ERR_MODBUS_PORT', String(err));
      if (u) this.count(u, e);
      throw e;
    } finally {
      if (this.interFrameMs > 0 && !this.stopped) await new Promise((r) => setTimeout(r, this.interFrameMs));
    }
  }

  private count(u: Unit, e: ModbusError): void {
    if (e.code === 'WG_ERR_MODBUS_TIMEOUT') u.timeouts++;
    else if (e.code === 'WG_ERR_MODBUS_CRC') u.crcErrors++;
    else if (e.code === 'WG_ERR_MODBUS_BAD_FRAME') u.badFrames++;
    else if (e.code === 'WG_ERR_MODBUS_EXCEPTION') {
      const k = String(e.exception ?? '?');
      u.exceptions[k] = (u.exceptions[k] ?? 0) + 1;
    } else u.portErrors++;
    u.lastErrorCode = e.code;
    u.lastError = e.message;
  }

  private async poll(u: Unit): Promise<void> {
    const start = Date.now();
    if (u.lastStart !== undefined && u.online) u.cycleMs = start - u.lastStart;
    u.lastStart = start;
    const read: Array<{ block: Block; data: number[] }> = [];
    try {
      for (const block of u.blocks) {
        const data = await this.transact(u.unit, () => this.client.read(u.unit, block.table, block.start, block.count));
        read.push({ block, data });
      }
    } catch (err) {
      this.failed(u, err as ModbusError, start);
      return;
    }
    u.consecutiveFailures = 0;
    u.retryMs = this.policy.retryMinMs;
    // Keep the cadence (due + period); when behind, start a fresh period rather than burst.
    const due = u.nextDue + u.pollMs;
    u.nextDue = due < Date.now() ? Math.max(start + u.pollMs, Date.now()) : due;
    if (u.online !== true) {
      u.online = true;
      u.first = true;
      this.emit(u.point, { kind: 'online' });
    }
    // All values of one poll are emitted in one synchronous run: a model sees the poll as a whole.
    const first = u.first;
    u.first = false;
    for (const { block, data } of read) {
      for (const p of block.points) {
        const raw = data[p.offset] ?? 0;
        const value = p.bit === undefined || isBitTable(block.table) ? raw : (raw >> p.bit) & 1;
        if (!first && u.values.get(p.point) === value) continue;
        u.values.set(p.point, value);
        this.emit(p.point, { kind: 'value', value, first });
      }
    }
  }

  private failed(u: Unit, e: ModbusError, start: number): void {
    u.consecutiveFailures++;
    if (u.online !== false && u.consecutiveFailures >= this.policy.offlineAfter) {
      u.online = false;
      this.emit(u.point, { kind: 'offline', code: e.code, error: e.message });
      // A TCP peer that answers nobody may be a dead socket (power cycle without FIN): reopen it.
      if (this.cfg.type === 'modbus-tcp' && [...this.units.values()].every((x) => x.online === false))
        void this.client.close();
    }
    if (u.online === false) {
      u.nextDue = Date.now() + u.retryMs;
      u.retryMs = Math.min(u.retryMs * 2, this.policy.retryMaxMs);
    } else u.nextDue = Math.max(start + u.pollMs, Date.now());
  }

  health(): UnitHealth[] {
    return [...this.units.values()].map((u) => ({
      unit: u.unit,
      online: u.online,
      consecutiveFailures: u.consecutiveFailures,
      requests: u.requests,
      responses: u.responses,
      timeouts: u.timeouts,
      crcErrors: u.crcErrors,
      badFrames: u.badFrames,
      exceptions: { ...u.exceptions },
      portErrors: u.portErrors,
      lastLatencyMs: u.lastLatencyMs,
      cycleMs: u.cycleMs,
      ...(u.lastErrorCode ? { lastErrorCode: u.lastErrorCode, lastError: u.lastError } : {}),
    }));
  }

  /** `uptimeMs` of readings: exported for the driver's emit. */
  static now(): { ts: number; uptimeMs: number } {
    return { ts: Date.now(), uptimeMs: uptimeMs() };
  }
}
