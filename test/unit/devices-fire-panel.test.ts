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

  it('a contact chattering faster than the debounce becomes one fire.fault, and nothing else', () => {
    toggle('alarm', 40, 10); // 40 edges in 390 ms: the limit is 20 a minute
    vi.advanceTimersByTime(59_000); // still inside the quiet period
    expect(events).toEqual([
      {
        type: 'fire.fault',
        at: rel(200), // the 21st edge
        data: { ...where, reason: 'chatter', input: 'alarm', edgesLastMinute: 21, limit: 20 },
      },
    ]);
    expect(model.state()).toEqual({
      alarm: false,
      alarmSince: null,
      alarms: 0,
      fault: true,
      inputs: {
        alarm: {
          active: false,
          raw: false,
          since: new Date(T0).toISOString(),
          edges: 40,
          edgesLastMinute: 40,
          chatter: true,
          chatterSince: new Date(T0 + 200).toISOString(),
        },
        fault: {
          active: false,
          raw: false,
          since: new Date(T0).toISOString(),
          edges: 0,
          edgesLastMinute: 0,
          chatter: false,
          chatterSince: null,
        },
      },
    });
  });

  it('slow chatter: changes pass until the limit, then one fire.fault and silence', () => {
    toggle('alarm', 50, 2000); // each edge outlasts the debounce: a real change until proven chatter
    const types = events.map((e) => e.type);
    expect(types.slice(0, 20)).toEqual(Array.from({ length: 10 }, () => ['fire.alarm', 'fire.alarm_cleared']).flat());
    expect(events.slice(20)).toEqual([
      {
        type: 'fire.fault',
        at: rel(40_000),
        data: { ...where, reason: 'chatter', input: 'alarm', edgesLastMinute: 21, limit: 20 },
      },
    ]);
  });

  it('after a quiet period the fault clears and the settled level is reported', () => {
    toggle('alarm', 25, 10); // ends active (odd count), last edge at 240 ms
    vi.advanceTimersByTime(60_000);
    expect(events.slice(1)).toEqual([
      {
        type: 'fire.fault_cleared',
        at: rel(60_240),
        data: { ...where, reason: 'chatter', input: 'alarm', quietSec: 60 },
      },
      { type: 'fire.alarm', at: rel(240), data: { ...where, input: 'alarm' } },
    ]);
    expect(model.state()).toMatchObject({ alarm: true, fault: false, alarms: 1 });
    expect((model.state().inputs as Record<string, unknown>).alarm).toMatchObject({ chatter: false, active: true });
  });

  it('a new edge during the quiet period restarts it', () => {
    toggle('alarm', 22, 10);
    vi.advanceTimersByTime(50_000);
    model.input('alarm', true, at());
    vi.advanceTimersByTime(50_000);
    expect(events.map((e) => e.type)).toEqual(['fire.fault']);
    vi.advanceTimersByTime(10_000);
    expect(events.map((e) => e.type)).toEqual(['fire.fault', 'fire.fault_cleared', 'fire.alarm']);
  });

  it('edges spread over more than a minute are not chatter', () => {
    toggle('alarm', 40, 6000); // 10 edges a minute
    vi.advanceTimersByTime(100);
    expect(events.filter((e) => e.type === 'fire.fault')).toEqual([]);
    expect(events).toHaveLength(40);
  });
});
