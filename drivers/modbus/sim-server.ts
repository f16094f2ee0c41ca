// The demo's door controllers: an in-process Modbus TCP server (modbus-serial's ServerTCP) on
// 127.0.0.1 and a port the kernel picks, playing `generic-door` for every unit the doors use. The
// page's sim controls set its discrete inputs; a write to the release coil drops the lock-engaged
// input while it is set, as a real strike's feedback contact would. The driver polls it over a
// real socket, exactly as it polls a controller on the ward.
import { createRequire } from 'node:module';
import type { ServerTCP as ServerTCPType } from 'modbus-serial/ServerTCP.js';

// Loaded on first use: a box without doors never pays modbus-serial's ~15 MiB (idle RSS, READY).
let serverTcp: typeof ServerTCPType | undefined;
const ServerTCPClass = (): typeof ServerTCPType => {
  serverTcp ??= (createRequire(import.meta.url)('modbus-serial') as { ServerTCP: typeof ServerTCPType }).ServerTCP;
  return serverTcp;
};

interface SimUnit {
  di: number[];
  coil: number[];
}

// generic-door: di 0 open, 1 locked, 2 rex, 3 tamper; coil 0 release.
const LOCKED = 1;
const RELEASE = 0;

export class ModbusSimServer {
  private server: ServerTCPType | undefined;
  private readonly units = new Map<number, SimUnit>();
  port = 0;

  constructor(unitIds: number[]) {
    for (const u of unitIds) this.units.set(u, { di: [0, 1, 0, 0, 0, 0, 0, 0], coil: [0, 0, 0, 0, 0, 0, 0, 0] });
  }

  async start(): Promise<number> {
    const unit = (id: number) => {
      const u = this.units.get(id);
      if (!u) throw Object.assign(new Error('no such unit'), { modbusErrorCode: 0x0b });
      return u;
    };
    const ServerTCP = ServerTCPClass();
    const server = new ServerTCP(
      {
        getDiscreteInput: (addr: number, id: number) => (unit(id).di[addr] ?? 0) === 1,
        getCoil: (addr: number, id: number) => (unit(id).coil[addr] ?? 0) === 1,
        setCoil: (addr: number, value: boolean, id: number) => {
          const u = unit(id);
          u.coil[addr] = value ? 1 : 0;
          if (addr === RELEASE) u.di[LOCKED] = value ? 0 : 1;
        },
      },
      // modbus-serial listens on `options.port || 502`: a numeric 0 would silently mean 502 (and
      // two sims would collide there). The string '0' is truthy and Node's listen() takes it.
      { host: '127.0.0.1', port: '0' as unknown as number, unitID: 255 },
    );
    server.on('socketError', () => undefined); // a client going away is not our problem
    server.on('error', () => undefined);
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('initialized', () => resolve());
      server.once('serverError', reject);
    });
    const addr = (server as unknown as { _server: { address(): { port: number } } })._server.address();
    this.port = addr.port;
    return this.port;
  }

  /** Set a discrete input of a unit (the page's sim controls). False if the unit is not simulated. */
  setInput(unitId: number, address: number, value: boolean): boolean {
    const u = this.units.get(unitId);
    if (!u) return false;
    u.di[address] = value ? 1 : 0;
    return true;
  }

  coil(unitId: number, address: number): number | undefined {
    return this.units.get(unitId)?.coil[address];
  }

  stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return Promise.resolve();
    return new Promise((resolve) => {
      for (const sock of s.socks.keys()) sock.destroy();
      s.close(() => resolve());
    });
  }
}
