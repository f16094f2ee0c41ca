// Issue 14 item 3, for every model alike: GPIO readings after a gap in watching (`resync`) report
// only a transition the model has not seen (flagged observedAfterGap), never a duplicate; the
// registry routes initial / edge / resync readings with active-low applied, and leaves line
// faults and floods (availability) to the runtime.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { Config, FirePanelConfig, InputDeviceConfig } from '../../agent/config/types.js';
import { FirePanel } from '../../agent/devices/fire-panel.js';
import { GenericInput } from '../../agent/devices/generic-input.js';
import { DeviceRegistry } from '../../agent/devices/registry.js';
import type { ModelEvent } from '../../agent/devices/types.js';
import type { GpioReadingValue } from '../../drivers/gpio/driver.js';
import { fakeContext, useLoopClock } from '../helpers/model-context.js';

const fire: FirePanelConfig = {
  id: 'fire-1',
  type: 'fire-panel',
  alarm: { line: 22, activeLow: true },
  fault: { line: 23, activeLow: false },
  debounceMs: 50,
  minHoldMs: 0,
  chatterEdgesPerMinute: 20,
  chatterQuietSec: 60,
  chatterHoldSec: 10,
};
const leak: InputDeviceConfig = {
  id: 'leak-1',
  type: 'input',
  input: { line: 25, activeLow: true },
  debounceMs: 50,
  minHoldMs: 5000,
  active: { event: 'input.active', severity: 'high' },
  inactive: { event: 'input.inactive' },
};

describe('resync after a gap in watching', () => {
  const loop = useLoopClock();
  const { at, rel } = loop;

  it('fire panel: an alarm still on is not repeated; its clearing while blind is reported once', async () => {
    const f = fakeContext();
    const panel = new FirePanel(fire, f.ctx, 'gpiochip0');
    panel.initial('alarm', true, at()); // in alarm at start: news
    panel.initial('fault', false, at());
    await loop.run(5000);
    panel.resync('alarm', true, at()); // driver restarted: still in alarm
    panel.initial('alarm', true, at());
    await loop.run(5000);
    panel.resync('alarm', false, at()); // cleared while the line was faulted
    panel.resync('alarm', false, at()); // and read again: nothing more
    await loop.run(1000);
    expect(f.events.map((e) => [e.type, e.at, e.data?.observedAfterGap, e.data?.activeMs])).toEqual([
      ['fire.alarm', rel(0), undefined, undefined],
      ['fire.alarm_cleared', rel(10_000), true, 10_000],
    ]);
    expect(panel.state()).toMatchObject({ alarm: false, alarms: 1 });
  });

  it('generic input: an activation that began while blind must still hold its minHoldMs', async () => {
    const f = fakeContext();
    const input = new GenericInput(leak, f.ctx, 'gpiochip0');
    input.initial('input', false, at());
    await loop.run(100);
    input.resync('input', true, at());
    await loop.run(4999);
    expect(f.events).toEqual([]);
    await loop.run(1);
    input.resync('input', true, at()); // a periodic check: unchanged, nothing
    input.input('input', false, at());
    await loop.run(100);
    expect(f.events.map((e) => [e.type, e.at, e.data?.observedAfterGap, e.data?.activeMs])).toEqual([
      ['input.active', rel(100), true, undefined],
      ['input.inactive', rel(5100), undefined, 5000],
    ]);
  });

  it('a level read after a gap that a bounce contradicts at once is no transition', async () => {
    const f = fakeContext();
    const input = new GenericInput({ ...leak, minHoldMs: 0 }, f.ctx, 'gpiochip0');
    input.initial('input', false, at());
    input.resync('input', true, at());
    await loop.run(10);
    input.input('input', false, at());
    await loop.run(1000);
    expect(f.events).toEqual([]);
  });
});

describe('DeviceRegistry routes GPIO readings', () => {
  const loop = useLoopClock();

  it('initial, edge and resync reach the model with active-low applied; faults and floods do not', async () => {
    const events: Array<[string, ModelEvent]> = [];
    const config = { gpio: { chip: 'gpiochip0' }, devices: [fire] } as unknown as Config;
    const registry = new DeviceRegistry(config, pino({ level: 'silent' }), {
      emit: (entry, ev) => events.push([entry.cfg.id, ev]),
      stateChanged: () => undefined,
      setOutput: () => undefined,
    });
    const read = (line: number, value: GpioReadingValue) =>
      registry.onGpioReading({ point: `gpiochip0:${line}`, value, ...loop.at() });
    read(22, { kind: 'initial', level: 1 }); // alarm is active-low: 1 is quiet
    read(23, { kind: 'initial', level: 0 });
    read(22, { kind: 'edge', level: 0 }); // alarm
    await loop.run(100);
    expect(read(22, { kind: 'fault', error: 'gpiomon exited', code: 'WG_ERR_GPIO_LINE' })?.entry.cfg.id).toBe('fire-1');
    read(22, { kind: 'flood', edgesPerSec: 500 });
    read(22, { kind: 'flood_cleared' });
    read(22, { kind: 'recovered' });
    read(22, { kind: 'resync', level: 0, cause: 'recovered' }); // still in alarm: nothing
    read(23, { kind: 'resync', level: 1, cause: 'restart' }); // fault relay opened while blind
    await loop.run(100);
    expect(events.map(([id, ev]) => [id, ev.type, ev.data?.observedAfterGap])).toEqual([
      ['fire-1', 'fire.alarm', undefined],
      ['fire-1', 'fire.fault', true],
    ]);
    expect(read(99, { kind: 'edge', level: 1 })).toBeUndefined();
    registry.stop();
  });

  it('a flooding line: the change waiting in debounce is noise, not a level that held', async () => {
    const events: ModelEvent[] = [];
    const config = { gpio: { chip: 'gpiochip0' }, devices: [leak] } as unknown as Config;
    const registry = new DeviceRegistry(config, pino({ level: 'silent' }), {
      emit: (_entry, ev) => events.push(ev),
      stateChanged: () => undefined,
      setOutput: () => undefined,
    });
    const read = (value: GpioReadingValue) => registry.onGpioReading({ point: 'gpiochip0:25', value, ...loop.at() });
    read({ kind: 'initial', level: 1 });
    for (let i = 0; i <= 200; i++) read({ kind: 'edge', level: (i % 2) as 0 | 1 }); // ends at 0: active
    read({ kind: 'flood', edgesPerSec: 400 }); // the driver now drops this line's edges
    await loop.run(60_000);
    expect(events).toEqual([]);
    read({ kind: 'flood_cleared' });
    read({ kind: 'resync', level: 0, cause: 'recovered' }); // quiet again, and really wet
    await loop.run(5000);
    expect(events.map((e) => [e.type, e.data?.observedAfterGap])).toEqual([['input.active', true]]);
    registry.stop();
  });
});
