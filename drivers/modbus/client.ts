// One connection of one bus, over modbus-serial (TCP, or RTU over serialport), with every failure
// turned into a stable code. Quirks of modbus-serial this file exists for:
// - ModbusRTU is an EventEmitter that re-emits port errors as 'error': without a listener a serial
//   port unplugged mid-transaction would crash the process. We always listen.
// - Its RTU buffered port keeps unread bytes between transactions and picks the first frame that
//   matches the expected unit and function code: a late answer to a timed-out request would be
//   taken as the next request's answer (wrong values). Its TCP port trusts the MBAP length of
//   whatever arrives: after 7 bytes of garbage every later reply was read misaligned (tests:
//   every transaction timed out). With one transaction at a time, bytes still buffered when we
//   send are stale by definition, so we drop both buffers before each request.
// - Errors are told apart only by message/errno ("CRC error", "Modbus exception N", "Data length
//   error", "Unexpected data error", errno ETIMEDOUT / "Port Not Open"): classify() maps them.
import { createRequire } from 'node:module';
import type { ModbusRTU as Raw } from 'modbus-serial/ModbusRTU.js';
import { type ErrorCode, WardgateError } from '../../agent/errors.js';
import type { Table } from './points.js';
import type { BusConfig } from './types.js';

export interface ClientEvents {
  /** The port or socket closed (unplugged adapter, controller power cycle, server gone). */
  onClose(): void;
  onError(err: Error): void;
}

export class ModbusError extends WardgateError {
  constructor(
    code: ErrorCode,
    detail: string,
    /** The Modbus exception code, for WG_ERR_MODBUS_EXCEPTION. */
    readonly exception?: number,
  ) {
    super(code, detail);
  }
}

export function classify(err: unknown): ModbusError {
  if (err instanceof ModbusError) return err;
  const e = err as { message?: string; errno?: string; modbusCode?: number; code?: string };
  const msg = String(e?.message ?? err);
  if (typeof e?.modbusCode === 'number') return new ModbusError('WG_ERR_MODBUS_EXCEPTION', msg, e.modbusCode);
  if (e?.errno === 'ETIMEDOUT' || /timed out/i.test(msg)) return new ModbusError('WG_ERR_MODBUS_TIMEOUT', msg);
  if (/CRC/i.test(msg)) return new ModbusError('WG_ERR_MODBUS_CRC', msg);
  if (/Data length error|Unexpected data error|Illegal|out of range|byteCount/i.test(msg))
    return new ModbusError('WG_ERR_MODBUS_BAD_FRAME', msg);
  return new ModbusError('WG_ERR_MODBUS_PORT', msg);
}

// CommonJS whose module.exports is the class: TypeScript's default-import typing (NodeNext) does not
// see it as constructable, so load it with require and the class type from its declaration file.
// Loaded on first use: a box without doors never pays modbus-serial's ~15 MiB (idle RSS, READY).
let modbusRtu: (new () => Raw) | undefined;
const ModbusRTUClass = (): (new () => Raw) => {
  modbusRtu ??= createRequire(import.meta.url)('modbus-serial') as new () => Raw;
  return modbusRtu;
};

export class BusClient {
  private client: Raw | undefined;

  constructor(
    private readonly cfg: BusConfig,
    private readonly events: ClientEvents,
  ) {}

  get isOpen(): boolean {
    return this.client?.isOpen === true;
  }

  async open(port?: number): Promise<void> {
    this.destroy();
    const client = new (ModbusRTUClass())();
    client.on('error', (err: unknown) => this.events.onError(err instanceof Error ? err : new Error(String(err))));
    client.on('close', () => {
      if (this.client === client) this.events.onClose();
    });
    this.client = client;
    try {
      if (this.cfg.type === 'modbus-tcp') {
        await client.connectTCP(this.cfg.host, { port: port ?? this.cfg.port, timeout: this.cfg.timeoutMs });
      } else {
        await client.connectRTUBuffered(this.cfg.path, {
          baudRate: this.cfg.baudRate,
          parity: this.cfg.parity,
          dataBits: this.cfg.dataBits,
          stopBits: this.cfg.stopBits,
        });
      }
      client.setTimeout(this.cfg.timeoutMs);
    } catch (err) {
      this.destroy();
      throw new ModbusError('WG_ERR_MODBUS_PORT', `cannot open ${describeBus(this.cfg)}: ${String(err)}`);
    }
  }

  /** Read `count` values from `table` at `address` of `unit`: bits as 0/1, registers as 0..65535. */
  async read(unit: number, table: Table, address: number, count: number): Promise<number[]> {
    const c = this.ready(unit);
    try {
      switch (table) {
        case 'di':
          return bits((await c.readDiscreteInputs(address, count)).data, count);
        case 'coil':
          return bits((await c.readCoils(address, count)).data, count);
        case 'ir':
          return (await c.readInputRegisters(address, count)).data.slice(0, count);
        case 'hr':
          return (await c.readHoldingRegisters(address, count)).data.slice(0, count);
      }
    } catch (err) {
      throw classify(err);
    }
  }

  async write(unit: number, table: 'coil' | 'hr', address: number, value: number): Promise<void> {
    const c = this.ready(unit);
    try {
      if (table === 'coil') await c.writeCoil(address, value !== 0);
      else await c.writeRegister(address, value);
    } catch (err) {
      throw classify(err);
    }
  }

  close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (!c?.isOpen) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(resolve, 1000);
      c.close(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private destroy(): void {
    const c = this.client;
    this.client = undefined;
    if (c?.isOpen) c.close(() => undefined);
  }

  private ready(unit: number): Raw {
    const c = this.client;
    if (!c?.isOpen) throw new ModbusError('WG_ERR_MODBUS_PORT', `${describeBus(this.cfg)} is not connected`);
    c.setID(unit);
    // See the header: stale bytes of a timed-out answer must not become the next answer.
    const port = (c as unknown as { _port?: { _buffer?: Buffer; _clientRcvData?: Buffer } })._port;
    if (port && Buffer.isBuffer(port._buffer)) port._buffer = Buffer.alloc(0);
    if (port && Buffer.isBuffer(port._clientRcvData)) port._clientRcvData = Buffer.alloc(0);
    return c;
  }
}

function bits(data: boolean[], count: number): number[] {
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = data[i] ? 1 : 0;
  return out;
}

export function describeBus(cfg: BusConfig): string {
  return cfg.type === 'modbus-tcp' ? `bus ${cfg.id} (tcp ${cfg.host}:${cfg.port})` : `bus ${cfg.id} (rtu ${cfg.path})`;
}
