// Issue 14 item 5: an output is owned by reasons, not by the latest write. With the rules of
// config/ward.example.yaml, a tamper chirp on the panic sounder must not silence it 1.6 s into its
// 30 s; a forSec expiry must not turn off what a fire.alarm rule holds on.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ActionEngine } from '../../agent/actions/engine.js';
import { OutputBank } from '../../agent/actions/outputs.js';
import { loadConfig } from '../../agent/config/load.js';
import type { ActionRuleConfig, OutputConfig } from '../../agent/config/types.js';
import { shippedFile } from '../../agent/paths.js';

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const log = pino({ level: 'silent' });

function setup(outputs: OutputConfig[], rules: ActionRuleConfig[]) {
  const writes: Array<[number, string, 0 | 1]> = [];
  const bank = new OutputBank({
    outputs,
    defaultChip: 'gpiochip0',
    write: async (point, level) => {
      writes.push([Date.now() - T0, point, level]);
    },
    changed: () => undefined,
    log,
  });
  const engine = new ActionEngine({ rules, outputs: bank, acknowledge: () => undefined, log });
  const fire = (type: string, device: string) => engine.onEvent({ type, device });
  return { bank, engine, writes, fire };
}

describe('outputs owned by reasons', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('ward.example.yaml: the panic sounder keeps its 30 s through a tamper chirp on the same sounder', async () => {
    const ward = loadConfig(shippedFile('config', 'ward.example.yaml'));
    const { bank, writes, fire } = setup(ward.outputs ?? [], ward.actions ?? []);
    const sounder = 'gpiochip0:12'; // sounder-ae, active-low: on is 0
    fire('panic.pressed', 'panic-ed-triage-1');
    await vi.advanceTimersByTimeAsync(1400);
    fire('panic.tamper', 'panic-ed-triage-2'); // two 200 ms chirps: on 1.4–1.6 s and 1.8–2.0 s
    await vi.advanceTimersByTimeAsync(1000);
    expect(bank.list().find((o) => o.id === 'sounder-ae')).toMatchObject({
      active: true,
      heldBy: ['actions[0] panic.pressed from panic-ed-triage-1'],
    });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(writes.filter(([, point]) => point === sounder)).toEqual([
      [0, sounder, 0],
      [30_000, sounder, 1],
    ]);
  });

  it('a tamper chirp alone still chirps, and ends at rest', async () => {
    const ward = loadConfig(shippedFile('config', 'ward.example.yaml'));
    const { writes, fire } = setup(ward.outputs ?? [], ward.actions ?? []);
    fire('panic.tamper', 'panic-ed-triage-2');
    await vi.advanceTimersByTimeAsync(5000);
    expect(writes).toEqual([
      [0, 'gpiochip0:12', 0],
      [200, 'gpiochip0:12', 1],
      [400, 'gpiochip0:12', 0],
      [600, 'gpiochip0:12', 1],
    ]);
  });

  const sounder: OutputConfig = { id: 'sounder', line: 12, activeLow: false, initial: false };

  it('a forSec expiry does not turn off an output a fire.alarm rule holds on', async () => {
    const { bank, writes, fire } = setup(
      [sounder],
      [
        { on: 'panic.pressed', do: 'set', output: 'sounder', forSec: 30 },
        { on: 'fire.alarm', do: 'set', output: 'sounder' },
        { on: 'fire.alarm_cleared', do: 'set', output: 'sounder', value: false },
      ],
    );
    fire('panic.pressed', 'panic-1');
    await vi.advanceTimersByTimeAsync(10_000);
    fire('fire.alarm', 'fire-1');
    await vi.advanceTimersByTimeAsync(50_000); // panic's 30 s ended at 30 s
    expect(bank.list()[0]).toMatchObject({ active: true, heldBy: ['actions[1] fire.alarm from fire-1'] });
    fire('fire.alarm_cleared', 'fire-1');
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toEqual([
      [0, 'gpiochip0:12', 1],
      [60_000, 'gpiochip0:12', 0],
    ]);
    expect(bank.list()[0]).toMatchObject({
      active: false,
      heldBy: [],
      by: 'actions[2] fire.alarm_cleared from fire-1',
    });
  });

  it('a release from one button leaves the sounder to the button still pressed', async () => {
    const { writes, fire } = setup(
      [sounder],
      [
        { on: 'panic.pressed', do: 'set', output: 'sounder' },
        { on: 'panic.released', do: 'set', output: 'sounder', value: false },
      ],
    );
    fire('panic.pressed', 'panic-1');
    fire('panic.pressed', 'panic-2');
    await vi.advanceTimersByTimeAsync(1000);
    fire('panic.released', 'panic-1');
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes).toEqual([[0, 'gpiochip0:12', 1]]);
    fire('panic.released', 'panic-2');
    await vi.advanceTimersByTimeAsync(0);
    expect(writes).toEqual([
      [0, 'gpiochip0:12', 1],
      [2000, 'gpiochip0:12', 0],
    ]);
  });

  it('an output resting on (initial: true) is held off by its reasons, and back on after', async () => {
    const { writes, fire } = setup(
      [{ id: 'ok-lamp', line: 7, activeLow: false, initial: true }],
      [{ on: 'fire.alarm', do: 'set', output: 'ok-lamp', value: false, forSec: 5 }],
    );
    fire('fire.alarm', 'fire-1');
    await vi.advanceTimersByTimeAsync(6000);
    expect(writes).toEqual([
      [0, 'gpiochip0:7', 0],
      [5000, 'gpiochip0:7', 1],
    ]);
  });
});
