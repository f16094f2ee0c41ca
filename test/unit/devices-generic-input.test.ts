import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { InputDeviceConfig } from '../../agent/config/types.js';
import { GenericInput } from '../../agent/devices/generic-input.js';
import type { ModelEvent } from '../../agent/devices/types.js';
import { fakeContext, T0, useModelClock } from '../helpers/model-context.js';

describe('GenericInput', () => {
  let events: ModelEvent[];
  const { at, rel } = useModelClock();
  const ctx = () => {
    const f = fakeContext();
    events = f.events;
    return f.ctx;
  };
  const make = (over: Partial<InputDeviceConfig> = {}) =>
    new GenericInput(
      {
        id: 'door-server',
        type: 'input',
        name: 'Server room door',
        input: { line: 24, activeLow: true },
        debounceMs: 50,
        minHoldMs: 0,
        active: { event: 'input.active' },
        inactive: { event: 'input.inactive' },
        ...over,
      },
      ctx(),
      'gpiochip0',
    );

  beforeEach(() => {
    events = [];
  });

  it('emits the configured event types and severities', () => {
    const door = make({ active: { event: 'door.opened', severity: 'high' }, inactive: { event: 'door.closed' } });
    door.initial('input', false, at());
    door.input('input', true, at());
    vi.advanceTimersByTime(90_000);
    door.input('input', false, at());
    vi.advanceTimersByTime(100);
    expect(events).toEqual([
      {
        type: 'door.opened',
        severity: 'high',
        at: rel(0),
        data: { name: 'Server room door', location: undefined, input: 'input', active: true },
      },
      {
        type: 'door.closed',
        at: rel(90_000),
        data: { name: 'Server room door', location: undefined, input: 'input', active: false, activeMs: 90_000 },
      },
    ]);
    expect(door.state()).toEqual({
      active: false,
      activeSince: null,
      activations: 1,
      events: { active: 'door.opened', inactive: 'door.closed' },
      inputs: {
        input: {
          active: false,
          raw: false,
          since: new Date(T0 + 90_000).toISOString(),
          edges: 2,
          changesLastMinute: 1,
          chatter: false,
          chatterSince: null,
        },
      },
    });
  });

  it('a leak already wet at start is reported at once', () => {
    const leak = make({ id: 'leak', name: 'Leak', active: { event: 'input.active', severity: 'high' } });
    leak.initial('input', true, at());
    expect(events).toEqual([
      {
        type: 'input.active',
        severity: 'high',
        at: rel(0),
        data: { name: 'Leak', location: undefined, input: 'input', active: true },
      },
    ]);
  });

  it('minHoldMs: a splash shorter than the hold is not a leak', () => {
    const leak = make({ minHoldMs: 5000 });
    leak.initial('input', false, at());
    leak.input('input', true, at());
    vi.advanceTimersByTime(4000);
    leak.input('input', false, at());
    vi.advanceTimersByTime(10_000);
    expect(events).toEqual([]);
  });
});
