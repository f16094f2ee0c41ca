import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FirePanelConfig } from '../../agent/config/types.js';
import { FirePanel } from '../../agent/devices/fire-panel.js';
import type { ModelEvent } from '../../agent/devices/types.js';
import { fakeContext, T0, useModelClock } from '../helpers/model-context.js';

const where = { name: 'Fire panel', location: 'Plant room' };

const cfg = (over: Partial<FirePanelConfig> = {}): FirePanelConfig => ({
  id: 'fire-1',
  type: 'fire-panel',
  name: 'Fire panel',
  location: 'Plant room',
  alarm: { line: 22, activeLow: true },
  fault: { line: 23, activeLow: false },
  debounceMs: 50,
  minHoldMs: 0,
  chatterEdgesPerMinute: 20,
  chatterQuietSec: 60,
  chatterHoldSec: 10,
  ...over,
});

describe('FirePanel', () => {
  let events: ModelEvent[];
  let model: FirePanel;
  const { at, rel } = useModelClock();

  beforeEach(() => {
    const f = fakeContext();
    events = f.events;
    const ctx = f.ctx;
    model = new FirePanel(cfg(), ctx, 'gpiochip0');
    model.initial('alarm', false, at());
    model.initial('fault', false, at());
  });
  afterEach(() => {
    model.stop();
  });

  /** `n` edges on `input`, `everyMs` apart, starting active. */
  function toggle(input: string, n: number, everyMs: number): void {
    for (let i = 0; i < n; i++) {
      if (i > 0) vi.advanceTimersByTime(everyMs);
      model.input(input, i % 2 === 0, at());
    }
  }

  it('wires both relay contacts', () => {
    expect(model.gpioInputs).toEqual([
      { name: 'alarm', ref: { chip: 'gpiochip0', line: 22 }, activeLow: true },
      { name: 'fault', ref: { chip: 'gpiochip0', line: 23 }, activeLow: false },
    ]);
  });

  it('reports alarm and its clearing, and the fault relay, with their data', () => {
    model.input('alarm', true, at());
    vi.advanceTimersByTime(30_000);
    model.input('fault', true, at());
    vi.advanceTimersByTime(1000);
    model.input('alarm', false, at());
    model.input('fault', false, at());
    vi.advanceTimersByTime(1000);
    expect(events).toEqual([
      { type: 'fire.alarm', at: rel(0), data: { ...where, input: 'alarm' } },
      { type: 'fire.fault', at: rel(30_000), data: { ...where, input: 'fault', reason: 'fault-relay' } },
      { type: 'fire.alarm_cleared', at: rel(31_000), data: { ...where, input: 'alarm', activeMs: 31_000 } },
      { type: 'fire.fault_cleared', at: rel(31_000), data: { ...where, input: 'fault', reason: 'fault-relay' } },
    ]);
  });

  it('bounce faster than the debounce is no change at all: 40 edges in 390 ms settle once', () => {
    toggle('alarm', 40, 10); // ends inactive: the contact bounced and settled back
    vi.advanceTimersByTime(1000);
    expect(events).toEqual([]);
    expect((model.state().inputs as Record<string, unknown>).alarm).toEqual({
      active: false,
      raw: false,
      since: new Date(T0).toISOString(),
      edges: 40,
      changesLastMinute: 0,
      chatter: false,
      chatterSince: null,
    });
  });

  it('slow chatter: changes pass until the limit, then one fire.fault; held changes come flagged', () => {
    toggle('alarm', 50, 2000); // each state outlasts the debounce: a real change until proven chatter
    const types = events.map((e) => e.type);
    expect(types.slice(0, 20)).toEqual(Array.from({ length: 10 }, () => ['fire.alarm', 'fire.alarm_cleared']).flat());
    expect(events.slice(20)).toEqual([
      {
        type: 'fire.fault',
        at: rel(40_000),
        data: { ...where, reason: 'chatter', input: 'alarm', changesLastMinute: 21, limit: 20 },
      },
    ]);
    // Nothing held 10 s since; the last change (inactive at 98 s) holds, but that is the level the
    // control room already has: nothing to report.
    vi.advanceTimersByTime(10_100);
    expect(events.slice(21)).toEqual([]);
    expect(model.state()).toMatchObject({ alarm: false, fault: true });
  });
});
