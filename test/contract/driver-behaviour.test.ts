// One behaviour contract for every Driver (DESIGN §8, drivers/types.ts), like MQTT.js's
// abstract_store: start within a bound, stop within a bound and emit nothing after it, health()
// never throws in any state, stop is idempotent. Each driver kind runs it against its own outside
// world: GPIO on the sim backend, Modbus against a real Modbus TCP server on a random port.
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { LineRef } from '../../drivers/gpio/backend.js';
import { GpioDriver } from '../../drivers/gpio/driver.js';
import { SimGpioBackend } from '../../drivers/gpio/sim.js';
import { ModbusDriver } from '../../drivers/modbus/driver.js';
import { ModbusSimServer } from '../../drivers/modbus/sim-server.js';
import { NutDriver } from '../../drivers/nut/driver.js';
import { NutSimServer } from '../../drivers/nut/sim-server.js';
import { OnvifDriver } from '../../drivers/onvif/driver.js';
import { OnvifFixture } from '../../drivers/onvif/responder.js';
import type { Driver, DriverContext, Reading } from '../../drivers/types.js';
import { waitFor } from '../helpers/ports.js';

interface DriverHarness {
  driver: Driver;
  /** Make the outside world change something the driver reports (a line, a discrete input). */
  stimulate(): Promise<void>;
  dispose(): Promise<void>;
}

const BOUND_MS = 10_000; // generous: a loaded 2-core machine; the supervisor's own bound is 15 s

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what} took longer than ${BOUND_MS} ms`)), BOUND_MS);
    }),
  ]).finally(() => clearTimeout(t));
}

function context(readings: Reading[], failures: Error[]): { ctx: DriverContext; abort: AbortController } {
  const abort = new AbortController();
  return {
    abort,
    ctx: {
      log: pino({ level: 'silent' }),
      signal: abort.signal,
      emit: (r) => readings.push(r),
      fail: (err) => failures.push(err),
    },
  };
}

function healthIsValid(driver: Driver): void {
  const h = driver.health();
  expect(['starting', 'running', 'degraded', 'faulted', 'stopped']).toContain(h.state);
  expect(() => JSON.stringify(h)).not.toThrow();
}

function describeDriverContract(name: string, make: () => Promise<DriverHarness>): void {
  describe(`driver contract: ${name}`, () => {
    let h: DriverHarness | undefined;
    afterEach(async () => {
      await h?.driver.stop().catch(() => undefined);
      await h?.dispose();
      h = undefined;
    });

    it('health() never throws: before start, running, after stop', async () => {
      h = await make();
      healthIsValid(h.driver);
      const readings: Reading[] = [];
      const { ctx } = context(readings, []);
      await within(h.driver.start(ctx), 'start');
      healthIsValid(h.driver);
      await within(h.driver.stop(), 'stop');
      healthIsValid(h.driver);
    });

    it('starts within the bound, reports the world, stops within the bound and emits nothing after', async () => {
      const harness = await make();
      h = harness;
      const readings: Reading[] = [];
      const failures: Error[] = [];
      const { ctx, abort } = context(readings, failures);
      await within(harness.driver.start(ctx), 'start');
      const before = readings.length;
      await harness.stimulate();
      await waitFor(() => readings.length > before, BOUND_MS, `${name}: a reading after the stimulus`);
      for (const r of readings) {
        expect(typeof r.point).toBe('string');
        expect(Number.isFinite(r.ts) && Number.isFinite(r.uptimeMs)).toBe(true);
      }
      abort.abort(); // as the supervisor does before stop()
      await within(harness.driver.stop(), 'stop');
      const atStop = readings.length;
      await harness.stimulate();
      // Absence can only be observed over a while: a few polling periods of every driver here.
      await new Promise((r) => setTimeout(r, 600));
      expect(readings.length).toBe(atStop);
      expect(failures).toEqual([]);
    });

    it('stop is idempotent and safe before start', async () => {
      h = await make();
      await within(h.driver.stop(), 'stop before start');
      const { ctx } = context([], []);
      await within(h.driver.start(ctx), 'start');
      await within(Promise.all([h.driver.stop(), h.driver.stop()]), 'two concurrent stops');
      healthIsValid(h.driver);
    });
  });
}

const IN: LineRef = { chip: 'gpiochip0', line: 17 };

describeDriverContract('gpio (sim backend)', async () => {
  let backend: SimGpioBackend | undefined;
  let level: 0 | 1 = 1;
  const driver = new GpioDriver(() => {
    backend = new SimGpioBackend(1);
    return backend;
  }, [IN]);
  return {
    driver,
    stimulate: async () => {
      level = level === 1 ? 0 : 1;
      backend?.set(IN, level);
    },
    dispose: async () => undefined,
  };
});

describeDriverContract('modbus (TCP, a Modbus server on a random port)', async () => {
  const server = new ModbusSimServer([1]);
  const port = await server.start();
  let open = false;
  const driver = new ModbusDriver(
    [{ id: 'bus', type: 'modbus-tcp', host: '127.0.0.1', port, timeoutMs: 300 }],
    ['bus/1', 'bus/1/di/0', 'bus/1/di/1'].map((point) => ({ point, pollMs: 20 })),
  );
  return {
    driver,
    stimulate: async () => {
      open = !open;
      server.setInput(1, 0, open);
    },
    dispose: () => server.stop(),
  };
});

describeDriverContract('nut (a NUT server on a random port)', async () => {
  const server = new NutSimServer('ups1');
  await server.start();
  let onBattery = false;
  const driver = new NutDriver([
    { point: 'ups-1', host: '127.0.0.1', port: server.port, ups: 'ups1', timeoutMs: 1000, pollMs: 100 },
  ]);
  return {
    driver,
    stimulate: async () => {
      onBattery = !onBattery;
      server.set('on-battery', onBattery);
    },
    dispose: () => server.stop(),
  };
});

describeDriverContract('onvif (a loopback ONVIF camera on a random port)', async () => {
  const cam = await new OnvifFixture().start();
  const driver = new OnvifDriver([
    {
      point: 'cam-1',
      target: {
        host: '127.0.0.1',
        port: cam.port,
        username: 'admin',
        password: 'cam-secret',
        timeoutMs: 1000,
        snapshot: true,
      },
      checkMs: 150,
    },
  ]);
  return {
    driver,
    stimulate: async () => {
      cam.state.frozen = !cam.state.frozen;
    },
    dispose: () => cam.stop(),
  };
});
