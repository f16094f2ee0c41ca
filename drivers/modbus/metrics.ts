// Modbus counters per bus and unit in /metrics (issue 8), read at scrape time from the driver's
// health (DriverHealth.detail.buses): the poll loop does no metrics work.
import { Gauge, type Registry } from 'prom-client';
import type { DriverHealth } from '../types.js';
import type { UnitHealth } from './bus.js';

type Buses = Record<string, { connected: boolean; reconnects: number; units: UnitHealth[] }>;

function buses(health: () => Record<string, DriverHealth>): Buses {
  const detail = health().modbus?.detail as { buses?: Buses } | undefined;
  return detail?.buses ?? {};
}

export function modbusGauges(r: Registry, health: () => Record<string, DriverHealth>): void {
  const perUnit = (name: string, help: string, value: (u: UnitHealth) => number | null) =>
    new Gauge({
      name,
      help,
      labelNames: ['bus', 'unit'],
      registers: [r],
      collect() {
        this.reset();
        for (const [bus, b] of Object.entries(buses(health)))
          for (const u of b.units) {
            const v = value(u);
            if (v !== null) this.set({ bus, unit: String(u.unit) }, v);
          }
      },
    });
  perUnit('wardgate_modbus_requests_total', 'Modbus transactions sent, per bus and unit', (u) => u.requests);
  perUnit('wardgate_modbus_timeouts_total', 'Modbus transactions not answered in time', (u) => u.timeouts);
  perUnit('wardgate_modbus_crc_errors_total', 'Modbus RTU replies with a bad CRC', (u) => u.crcErrors);
  perUnit('wardgate_modbus_bad_frames_total', 'Malformed Modbus replies (length, unit id, code)', (u) => u.badFrames);
  perUnit('wardgate_modbus_last_latency_seconds', 'Latency of the last good transaction', (u) =>
    u.lastLatencyMs === null ? null : u.lastLatencyMs / 1000,
  );
  perUnit('wardgate_modbus_cycle_seconds', 'Achieved poll cycle of the unit', (u) =>
    u.cycleMs === null ? null : u.cycleMs / 1000,
  );
  perUnit('wardgate_modbus_unit_online', '1 while the unit answers, 0 offline', (u) => (u.online === false ? 0 : 1));
  new Gauge({
    name: 'wardgate_modbus_exceptions_total',
    help: 'Modbus exception responses, per bus, unit and exception code',
    labelNames: ['bus', 'unit', 'code'],
    registers: [r],
    collect() {
      this.reset();
      for (const [bus, b] of Object.entries(buses(health)))
        for (const u of b.units)
          for (const [code, n] of Object.entries(u.exceptions)) this.set({ bus, unit: String(u.unit), code }, n);
    },
  });
  new Gauge({
    name: 'wardgate_modbus_bus_connected',
    help: '1 while the bus port or socket is open',
    labelNames: ['bus'],
    registers: [r],
    collect() {
      this.reset();
      for (const [bus, b] of Object.entries(buses(health))) this.set({ bus }, b.connected ? 1 : 0);
    },
  });
}
