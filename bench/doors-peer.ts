// The doors benchmark's controllers, in their own process so only wardgate's side is measured in
// bench/doors.ts: one Modbus TCP server (modbus-serial ServerTCP) answering 32 generic-door units.
// Sends {port} over IPC once listening; exits on SIGTERM.
import { ModbusSimServer } from '../drivers/modbus/sim-server.js';

const units = Number(process.argv[2] ?? 32);
const server = new ModbusSimServer(Array.from({ length: units }, (_, i) => i + 1));
const port = await server.start();
process.send?.({ port });
process.once('SIGTERM', () => {
  void server.stop().finally(() => process.exit(0));
});
