// The GPIO driver on the gpiod backend running the REAL libgpiod 1.6 tools (gpiomon, gpioget,
// gpioset, gpiofind) over a shimmed kernel (test/fixtures/gpio/gpiosim.ts): a bad line beside good
// ones, a restart with a button held or released while blind, an edge while gpiomon settles, and
// outputs at stop. Assertions are on the driver's readings; what the models make of them is tested
// with the models.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { type LineRef, lineKey } from '../../drivers/gpio/backend.js';
import { GpioDriver, type GpioReadingValue, type OutputSpec } from '../../drivers/gpio/driver.js';
import { GpiodBackend, type GpiodOptions } from '../../drivers/gpio/gpiod.js';
import type { DriverContext, Reading } from '../../drivers/types.js';
import { GpiodSimWorld } from '../fixtures/gpio/gpiosim.js';
import { isAlive, waitFor } from '../fixtures/gpio/harness.js';

const CHIP = 'gpiochip0';
const PANIC = { chip: CHIP, line: 17 };
const DOOR = { chip: CHIP, line: 27 };
const BUSY = { chip: CHIP, line: 5 };
const MISSING = { chip: CHIP, line: 99 }; // the chip has 54 lines
const SOUNDER = { chip: CHIP, line: 22 };
const LOCK = { chip: CHIP, line: 23 };

let world: GpiodSimWorld;
let readings: Reading[];
let drivers: GpioDriver[];

function ctx(): DriverContext {
  return {
    log: createLogger('fatal'),
    signal: new AbortController().signal,
    emit: (r) => readings.push(r),
    fail: (err) => {
      throw new Error(`the driver must not fail as a whole: ${err.message}`);
    },
  };
}

function driver(inputs: LineRef[], outputs: OutputSpec[] = [], opts: GpiodOptions = {}): GpioDriver {
  const d = new GpioDriver(
    () => new GpiodBackend({ tools: world.tools, settleMs: 30, restartBackoffMs: { min: 50, max: 200 }, ...opts }),
    inputs,
    outputs,
    { reopenBackoffMs: { min: 50, max: 200 } },
  );
  drivers.push(d);
  return d;
}

const offset = (ref: LineRef) => ref.line as number;
const seen = (ref: LineRef) =>
  readings
    .filter((r) => r.point === lineKey(ref))
    .map((r) => {
      const v = r.value as GpioReadingValue;
      return [v.kind, 'level' in v ? v.level : '', v.kind === 'resync' ? v.cause : ''].join(' ').trim();
    });

beforeEach(async () => {
  world = await GpiodSimWorld.create({ [CHIP]: 54 });
  for (const ref of [PANIC, DOOR, BUSY]) world.setLevel(CHIP, offset(ref), 1);
  readings = [];
  drivers = [];
});
afterEach(async () => {
  for (const d of drivers) await d.stop();
  await world.dispose();
});

describe('GpioDriver on the real libgpiod tools', () => {
  it('a busy line and a missing one beside good ones: those two are faulted, the others are watched', async () => {
    const blocker = await world.holdLine(CHIP, offset(BUSY)); // another program holds line 5
    const d = driver([BUSY, PANIC, MISSING, DOOR]);
    await d.start(ctx());
    expect(seen(PANIC)).toEqual(['initial 1']);
    expect(seen(DOOR)).toEqual(['initial 1']);
    const faults = readings.filter((r) => (r.value as GpioReadingValue).kind === 'fault');
    // Lines open in parallel: one slow line never delays another.
    expect(faults.map((r) => [r.point, r.value]).sort()).toEqual([
      [
        lineKey(BUSY),
        { kind: 'fault', code: 'WG_ERR_GPIO_LINE', error: expect.stringMatching(/Device or resource busy/) },
      ],
      [lineKey(MISSING), { kind: 'fault', code: 'WG_ERR_GPIO_LINE', error: expect.stringMatching(/Invalid argument/) }],
    ]);
    await world.drive(CHIP, offset(PANIC), 0);
    await waitFor('the press', () => seen(PANIC).includes('edge 0'));
    // The other program lets go: the busy line opens on its own retry, the others never noticed.
    process.kill(blocker, 'SIGTERM');
    await waitFor('line 5 opened', () => seen(BUSY).includes('initial 1'));
    expect(seen(BUSY)).toEqual(['fault', 'initial 1']);
    expect(seen(PANIC)).toEqual(['initial 1', 'edge 0']);
    expect(d.health().points).toMatchObject({
      [lineKey(BUSY)]: { ok: true },
      [lineKey(MISSING)]: { ok: false, detail: expect.stringMatching(/Invalid argument/) },
    });
  });

  it('restart with the button held while blind: a resync at 0, never a second initial', async () => {
    const d = driver([PANIC]);
    await d.start(ctx());
    await world.drive(CHIP, offset(PANIC), 0);
    await waitFor('the press', () => seen(PANIC).includes('edge 0'));
    await d.stop();
    expect(world.monitorPid(CHIP, offset(PANIC))).toBeUndefined();
    await d.start(ctx());
    expect(seen(PANIC)).toEqual(['initial 1', 'edge 0', 'recovered', 'resync 0 restart']);
  });

  it('restart after a release nobody watched: the resync carries the release', async () => {
    const d = driver([PANIC]);
    await d.start(ctx());
    await world.drive(CHIP, offset(PANIC), 0);
    await waitFor('the press', () => seen(PANIC).includes('edge 0'));
    await d.stop();
    expect(world.edge(CHIP, offset(PANIC), 1)).toBe(false); // released: no gpiomon, no event
    await d.start(ctx());
    expect(seen(PANIC)).toEqual(['initial 1', 'edge 0', 'recovered', 'resync 1 restart']);
    await world.drive(CHIP, offset(PANIC), 0);
    await waitFor('the next press', () => seen(PANIC).at(-1) === 'edge 0');
  });

  it('an edge while gpiomon settles at start is delivered after the opening level', async () => {
    const d = driver([PANIC], [], { settleMs: 1500 });
    const started = d.start(ctx());
    await waitFor('gpiomon holding the line', () => world.monitorPid(CHIP, offset(PANIC)));
    await waitFor('gpiomon reading its queue', () => world.edge(CHIP, offset(PANIC), 0)); // a press in the driver's first moments
    await started;
    await waitFor('the press', () => seen(PANIC).length === 2);
    expect(seen(PANIC)).toEqual(['initial 1', 'edge 0']);
  });

  it('stop with outputs on: each is driven at its safe state before its gpioset exits', async () => {
    const d = driver(
      [],
      [
        { ref: SOUNDER, initial: 0, safe: 0 }, // a sounder: off
        { ref: LOCK, initial: 1, safe: 1 }, // a fail-secure lock: held locked
      ],
    );
    await d.start(ctx());
    await d.write(lineKey(SOUNDER), 1);
    await d.write(lineKey(LOCK), 0);
    await waitFor('sounder on', () => world.driven(CHIP, offset(SOUNDER)) === 1);
    await d.stop();
    expect(world.drivenHistory(CHIP, offset(SOUNDER))).toEqual([0, 1, 0]);
    expect(world.drivenHistory(CHIP, offset(LOCK))).toEqual([1, 0, 1]);
    expect(world.spawned('gpioset').filter((p) => isAlive(p.pid))).toEqual([]);
    // Started again, each output is driven at the level last asked for.
    await d.start(ctx());
    await waitFor('sounder on again', () => world.driven(CHIP, offset(SOUNDER)) === 1);
    expect(world.driven(CHIP, offset(LOCK))).toBe(0);
  });
});
