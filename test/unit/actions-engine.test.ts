// Local actions and outputs with fake timers and a fake GPIO write: what each rule writes and when,
// and that a failing output is reported on its state, never thrown.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActionEngine } from '../../agent/actions/engine.js';
import { OutputBank } from '../../agent/actions/outputs.js';
import type { ActionRuleConfig, OutputConfig } from '../../agent/config/types.js';
import type { DeviceState } from '../../agent/devices/types.js';
import { WardgateError } from '../../agent/errors.js';

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const log = pino({ level: 'silent' });

const OUTPUTS: OutputConfig[] = [
  { id: 'sounder', line: 20, activeLow: true, initial: false },
  { id: 'strobe', name: 'Strobe', chip: 'gpiochip1', line: 3, activeLow: false, initial: false },
];

function setup(rules: ActionRuleConfig[], write?: (point: string, level: 0 | 1) => Promise<void>) {
  const writes: Array<[number, string, 0 | 1]> = [];
  const published: Array<[string, DeviceState]> = [];
  const acks: string[] = [];
  const bank = new OutputBank({
    outputs: OUTPUTS,
    defaultChip: 'gpiochip0',
    write:
      write ??
      (async (point, level) => {
        writes.push([Date.now() - T0, point, level]);
      }),
    changed: (id, snap) => published.push([id, snap]),
    log,
  });
  const engine = new ActionEngine({
    rules,
    outputs: bank,
    acknowledge: (device) => acks.push(device),
    log,
  });
  return { bank, engine, writes, published, acks };
}

describe('local actions', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('set with forSec: on at once (active-low applied), off after the time', async () => {
    const { bank, engine, writes } = setup([{ on: 'panic.pressed', do: 'set', output: 'sounder', forSec: 30 }]);
    engine.onEvent({ type: 'panic.pressed', device: 'panic-1' });
    await vi.advanceTimersByTimeAsync(0);
    expect(bank.list()).toEqual([
      {
        id: 'sounder',
        line: 'gpiochip0:20',
        active: true,
        lastChange: new Date(T0).toISOString(),
        lastError: null,
        by: 'actions[0] panic.pressed from panic-1',
        heldBy: ['actions[0] panic.pressed from panic-1'],
      },
      {
        id: 'strobe',
        name: 'Strobe',
        line: 'gpiochip1:3',
        active: false,
        lastChange: null,
        lastError: null,
        by: null,
        heldBy: [],
      },
    ]);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(writes).toEqual([
      [0, 'gpiochip0:20', 0],
      [30_000, 'gpiochip0:20', 1],
    ]);
    expect(bank.list()[0]).toMatchObject({ active: false, by: 'actions[0] panic.pressed from panic-1, after 30 s' });
  });

  it('a second device holds the output for its own forSec; other types and devices outside `from` do nothing', async () => {
    const { engine, writes } = setup([
      { on: 'panic.pressed', from: ['panic-1', 'panic-2'], do: 'set', output: 'sounder', forSec: 30 },
    ]);
    engine.onEvent({ type: 'panic.pressed', device: 'panic-1' });
    await vi.advanceTimersByTimeAsync(20_000);
    engine.onEvent({ type: 'panic.pressed', device: 'panic-2' });
    engine.onEvent({ type: 'panic.pressed', device: 'panic-9' });
    engine.onEvent({ type: 'panic.released', device: 'panic-1' });
    await vi.advanceTimersByTimeAsync(60_000);
    // panic-1's 30 s end at 30 s, but panic-2 holds it until 50 s: one on, one off.
    expect(writes).toEqual([
      [0, 'gpiochip0:20', 0],
      [50_000, 'gpiochip0:20', 1],
    ]);
  });

  it('pulse: count pulses of pulseMs with gapMs between, ending off', async () => {
    const { engine, writes } = setup([
      { on: 'fire.alarm', do: 'pulse', output: 'strobe', pulseMs: 500, gapMs: 250, count: 3 },
    ]);
    engine.onEvent({ type: 'fire.alarm', device: 'fire-1' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(writes).toEqual([
      [0, 'gpiochip1:3', 1],
      [500, 'gpiochip1:3', 0],
      [750, 'gpiochip1:3', 1],
      [1250, 'gpiochip1:3', 0],
      [1500, 'gpiochip1:3', 1],
      [2000, 'gpiochip1:3', 0],
    ]);
  });

  it('back to rest from the same device ends its pulse train at once', async () => {
    const { bank, engine, writes } = setup([
      { on: 'fire.alarm', do: 'pulse', output: 'strobe', pulseMs: 500, count: 10 },
      { on: 'fire.alarm_cleared', do: 'set', output: 'strobe', value: false },
    ]);
    engine.onEvent({ type: 'fire.alarm', device: 'fire-1' });
    await vi.advanceTimersByTimeAsync(1200);
    engine.onEvent({ type: 'fire.alarm_cleared', device: 'fire-1' });
    await vi.advanceTimersByTimeAsync(20_000);
    expect(writes.map(([t, , l]) => [t, l])).toEqual([
      [0, 1],
      [500, 0],
      [1000, 1],
      [1200, 0],
    ]);
    expect(bank.list()[1]).toMatchObject({ active: false, by: 'actions[1] fire.alarm_cleared from fire-1' });
    expect(engine.pending()).toEqual({});
  });

  it('ack-led acknowledges the device that sent the event', () => {
    const { engine, acks } = setup([{ on: 'panic.pressed', from: ['panic-1'], do: 'ack-led' }]);
    engine.onEvent({ type: 'panic.pressed', device: 'panic-1' });
    engine.onEvent({ type: 'panic.pressed', device: 'panic-2' });
    expect(acks).toEqual(['panic-1']);
  });

  it('a failed write is logged and shown on the output with its code; the next good write clears it', async () => {
    let fail = true;
    const { bank, engine, published } = setup([{ on: 'panic.pressed', do: 'set', output: 'sounder' }], async () => {
      if (fail) throw new WardgateError('WG_ERR_GPIO_LINE', 'gpioset exited with 1');
    });
    expect(() => engine.onEvent({ type: 'panic.pressed', device: 'panic-1' })).not.toThrow();
    await vi.advanceTimersByTimeAsync(0);
    const error = {
      code: 'WG_ERR_GPIO_LINE',
      message: 'GPIO line error: gpioset exited with 1',
      at: new Date(T0).toISOString(),
    };
    expect(bank.list()[0]).toEqual({
      id: 'sounder',
      line: 'gpiochip0:20',
      active: false,
      lastChange: null,
      lastError: error,
      by: null,
      heldBy: ['actions[0] panic.pressed from panic-1'],
    });
    expect(published.at(-1)).toEqual([
      'sounder',
      {
        id: 'sounder',
        type: 'output',
        availability: 'offline',
        availabilityReason: 'WG_ERR_GPIO_LINE: GPIO line error: gpioset exited with 1',
        since: new Date(T0).toISOString(),
        state: {
          line: 'gpiochip0:20',
          active: false,
          lastChange: null,
          lastError: error,
          by: null,
          heldBy: ['actions[0] panic.pressed from panic-1'],
        },
      },
    ]);

    fail = false;
    vi.setSystemTime(T0 + 5000);
    bank.resync(); // what the runtime does when the GPIO driver is back
    await vi.advanceTimersByTimeAsync(0);
    expect(bank.list()[0]).toMatchObject({
      active: true,
      lastError: null,
      lastChange: new Date(T0 + 5000).toISOString(),
    });
    expect(published.at(-1)?.[1]).toMatchObject({ availability: 'online', since: new Date(T0 + 5000).toISOString() });
  });

  it('a write that hangs times out with a code instead of blocking the output for ever', async () => {
    const { bank, engine } = setup(
      [{ on: 'panic.pressed', do: 'set', output: 'sounder' }],
      () => new Promise(() => {}),
    );
    engine.onEvent({ type: 'panic.pressed', device: 'panic-1' });
    await vi.advanceTimersByTimeAsync(5000);
    expect(bank.list()[0]?.lastError).toEqual({
      code: 'WG_ERR_GPIO_LINE',
      message: 'GPIO line error: write to gpiochip0:20 timed out',
      at: new Date(T0 + 5000).toISOString(),
    });
  });

  it('opens each output at the physical level of its initial state', () => {
    const { bank } = setup([]);
    expect(bank.driverOutputs()).toEqual([
      { ref: { chip: 'gpiochip0', line: 20 }, initial: 1 }, // active-low, off
      { ref: { chip: 'gpiochip1', line: 3 }, initial: 0 },
    ]);
  });

  it('after stop, nothing fires', async () => {
    const { engine, writes } = setup([{ on: 'panic.pressed', do: 'set', output: 'sounder', forSec: 5 }]);
    engine.onEvent({ type: 'panic.pressed', device: 'panic-1' });
    engine.stop();
    engine.onEvent({ type: 'panic.pressed', device: 'panic-1' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(writes).toEqual([[0, 'gpiochip0:20', 0]]);
  });
});
