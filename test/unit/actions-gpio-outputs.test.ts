// The GPIO driver's side of outputs, on the sim backend: outputs are open before the first input
// reading (so actions triggered by a held button find them), a restart reopens an output at the
// level last written (not at `initial`), and a write it cannot do fails with a stable code.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { errorCode } from '../../agent/errors.js';
import { GpioDriver } from '../../drivers/gpio/driver.js';
import { SimGpioBackend } from '../../drivers/gpio/sim.js';
import type { DriverContext, Reading } from '../../drivers/types.js';

const button = { chip: 'gpiochip0', line: 4 };
const sounder = { chip: 'gpiochip0', line: 20 };

function context(onReading: (r: Reading) => void = () => undefined): DriverContext {
  return {
    log: pino({ level: 'silent' }),
    signal: new AbortController().signal,
    emit: onReading,
    fail: () => undefined,
  };
}

describe('GpioDriver outputs', () => {
  it('opens outputs before it reports the first input level', async () => {
    let levelAtFirstReading: 0 | 1 | undefined | 'none' = 'none';
    const driver = new GpioDriver(() => new SimGpioBackend(0), [button], [{ ref: sounder, initial: 1 }]);
    await driver.start(
      context(() => {
        if (levelAtFirstReading === 'none') levelAtFirstReading = driver.outputLevel('gpiochip0:20');
      }),
    );
    expect(levelAtFirstReading).toBe(1);
    await driver.stop();
  });

  it('a restart reopens an output at the level last written', async () => {
    const backends: SimGpioBackend[] = [];
    const driver = new GpioDriver(
      () => {
        const b = new SimGpioBackend();
        backends.push(b);
        return b;
      },
      [button],
      [{ ref: sounder, initial: 0 }],
    );
    await driver.start(context());
    await driver.write('gpiochip0:20', 1);
    await driver.stop();
    await driver.start(context());
    expect(backends[1]?.level(sounder)).toBe(1);
    await driver.stop();
  });

  it('a write it cannot do fails with WG_ERR_GPIO_LINE and says why', async () => {
    const driver = new GpioDriver(() => new SimGpioBackend(), [button], [{ ref: sounder, initial: 0 }]);
    const failure = async (point: string) => {
      try {
        await driver.write(point, 1);
        return 'written';
      } catch (err) {
        return `${errorCode(err)}: ${(err as Error).message}`;
      }
    };
    expect(await failure('gpiochip0:20')).toBe(
      'WG_ERR_GPIO_LINE: GPIO line error: output gpiochip0:20 is not open (GPIO driver stopped)',
    );
    await driver.start(context());
    expect(await failure('gpiochip0:21')).toBe(
      'WG_ERR_GPIO_LINE: GPIO line error: output gpiochip0:21 is not configured',
    );
    expect(await failure('gpiochip0:20')).toBe('written');
    await driver.stop();
  });
});
