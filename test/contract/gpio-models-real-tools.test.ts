// End to end at the hardware edge (issue 14): the REAL libgpiod tools (over the shimmed kernel of
// test/fixtures/gpio/gpiosim.ts) report kernel-stamped edges to the GPIO driver, whose readings go
// through the device registry to a panic button model, as in the agent. Edges are stamped in the
// past, as when gpiomon's output is read late in one chunk: the events must follow the kernel's
// timestamps, and a driver restart must neither repeat the press nor lose a release.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Config, PanicButtonConfig } from '../../agent/config/types.js';
import { DeviceRegistry } from '../../agent/devices/registry.js';
import type { ModelEvent } from '../../agent/devices/types.js';
import { createLogger } from '../../agent/log.js';
import { GpioDriver } from '../../drivers/gpio/driver.js';
import { GpiodBackend } from '../../drivers/gpio/gpiod.js';
import type { DriverContext } from '../../drivers/types.js';
import { GpiodSimWorld } from '../fixtures/gpio/gpiosim.js';
import { waitFor } from '../fixtures/gpio/harness.js';

const CHIP = 'gpiochip0';
const LINE = 17;
const panic: PanicButtonConfig = {
  id: 'panic-1',
  type: 'panic-button',
  input: { chip: CHIP, line: LINE, activeLow: true },
  debounceMs: 20,
  minHoldMs: 50,
  severity: 'critical',
};

let world: GpiodSimWorld;
let driver: GpioDriver;
let registry: DeviceRegistry;
let events: ModelEvent[];

const log = createLogger('fatal');
const ctx = (): DriverContext => ({
  log,
  signal: new AbortController().signal,
  emit: (reading) => registry.onGpioReading(reading),
  fail: (err) => {
    throw err;
  },
});
const MS = 1_000_000n;
/** A kernel timestamp `ago` ms before now (CLOCK_MONOTONIC ns, as the shim's edges take them). */
const past = (ago: number) => process.hrtime.bigint() - BigInt(ago) * MS;
const summary = () => events.map((e) => [e.type, e.data?.heldMs, e.data?.observedAfterGap]);

beforeEach(async () => {
  world = await GpiodSimWorld.create({ [CHIP]: 54 });
  world.setLevel(CHIP, LINE, 1); // active-low: released
  events = [];
  registry = new DeviceRegistry({ gpio: { chip: CHIP }, devices: [panic] } as unknown as Config, log, {
    emit: (_entry, ev) => events.push(ev),
    stateChanged: () => undefined,
    setOutput: () => undefined,
  });
  driver = new GpioDriver(
    () => new GpiodBackend({ tools: world.tools, settleMs: 30, restartBackoffMs: { min: 50, max: 200 } }),
    registry.gpioInputRefs(),
    [],
    { reopenBackoffMs: { min: 50, max: 200 } },
  );
  await driver.start(ctx());
});
afterEach(async () => {
  await driver.stop();
  registry.stop();
  await world.dispose();
});

describe('panic button on the real libgpiod tools', () => {
  it('a 300 ms press and its release read late together: pressed and released, heldMs from the kernel', async () => {
    const t = past(1000);
    await world.drive(CHIP, LINE, 0, t);
    await world.drive(CHIP, LINE, 1, t + 300n * MS);
    await waitFor('the release', () => events.length === 2);
    expect(summary()).toEqual([
      ['panic.pressed', undefined, undefined],
      ['panic.released', 300, undefined],
    ]);
  });

  it('a 5 ms glitch read late gives nothing, and the next real press still counts', async () => {
    const t = past(1000);
    await world.drive(CHIP, LINE, 0, t);
    await world.drive(CHIP, LINE, 1, t + 5n * MS);
    await world.drive(CHIP, LINE, 0, t + 500n * MS); // a real press, held since
    await waitFor('the press', () => events.length === 1);
    expect(summary()).toEqual([['panic.pressed', undefined, undefined]]);
    // Stamped at the real press's kernel time, not at the glitch.
    const at = events[0]?.at?.uptimeMs ?? 0;
    expect(at - Number(t) / 1e6).toBeCloseTo(500, 0);
    expect(registry.devices.get('panic-1')?.model.state()).toMatchObject({ pressed: true, presses: 1 });
  });

  it('a restart with the button held is no second press; a release while blind is reported once', async () => {
    await world.drive(CHIP, LINE, 0, past(200));
    await waitFor('the press', () => events.length === 1);
    await driver.stop();
    await driver.start(ctx()); // the driver reads the line again: still pressed
    await driver.stop();
    expect(world.edge(CHIP, LINE, 1)).toBe(false); // released while no gpiomon watched
    await driver.start(ctx());
    await waitFor('the release', () => events.length === 2);
    expect(summary()).toEqual([
      ['panic.pressed', undefined, undefined],
      ['panic.released', expect.any(Number), true],
    ]);
  });
});
