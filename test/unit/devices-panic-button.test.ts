import { describe, expect, it, vi } from 'vitest';
import type { PanicButtonConfig } from '../../agent/config/types.js';
import { PanicButton } from '../../agent/devices/panic-button.js';
import { fakeContext, T0, useModelClock } from '../helpers/model-context.js';

const cfg = (over: Partial<PanicButtonConfig> = {}): PanicButtonConfig => ({
  id: 'panic-1',
  type: 'panic-button',
  name: 'Triage 1',
  location: 'A&E',
  input: { line: 4, activeLow: true },
  debounceMs: 20,
  minHoldMs: 50,
  severity: 'critical',
  ...over,
});

const where = { name: 'Triage 1', location: 'A&E' };

describe('PanicButton', () => {
  const { at, rel } = useModelClock();

  function started(over: Partial<PanicButtonConfig> = {}) {
    const f = fakeContext();
    const model = new PanicButton(cfg(over), f.ctx, 'gpiochip0');
    model.initial('button', false, at());
    if (over.tamper) model.initial('tamper', false, at());
    return { model, ...f };
  }

  it('chatter of 5 edges in 10 ms yields one press, stamped at the edge that began the stable level', () => {
    const { model, events } = started();
    for (const [i, level] of [true, false, true, false, true].entries()) {
      if (i > 0) vi.advanceTimersByTime(2);
      model.input('button', level, at());
    }
    vi.advanceTimersByTime(1000);
    expect(events).toEqual([
      { type: 'panic.pressed', severity: 'critical', at: rel(8), data: { ...where, input: 'button' } },
    ]);
  });

  it('a 20 ms blip below the minimum hold yields nothing', () => {
    const { model, events } = started();
    model.input('button', true, at());
    vi.advanceTimersByTime(20);
    model.input('button', false, at());
    vi.advanceTimersByTime(10_000);
    expect(events).toEqual([]);
    expect(model.state()).toMatchObject({ pressed: false, presses: 0 });
  });

  it('a press held for 10 minutes yields one pressed and one released', () => {
    const { model, events } = started();
    model.input('button', true, at());
    vi.advanceTimersByTime(10 * 60_000);
    model.input('button', false, at());
    vi.advanceTimersByTime(1000);
    expect(events).toEqual([
      { type: 'panic.pressed', severity: 'critical', at: rel(0), data: { ...where, input: 'button' } },
      { type: 'panic.released', at: rel(600_000), data: { ...where, heldMs: 600_000 } },
    ]);
  });

  it('reports a change as settling until debounce and hold decide it (the sim waits on it)', () => {
    const { model, events } = started();
    expect(model.settling()).toBe(false);
    model.input('button', true, at());
    vi.advanceTimersByTime(49);
    expect(model.settling()).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(events.map((e) => e.type)).toEqual(['panic.pressed']);
    expect(model.settling()).toBe(false);
  });

  it('a button already held at start is an alarm at once', () => {
    const { ctx, events } = fakeContext();
    new PanicButton(cfg(), ctx, 'gpiochip0').initial('button', true, at());
    expect(events).toEqual([
      { type: 'panic.pressed', severity: 'critical', at: rel(0), data: { ...where, input: 'button' } },
    ]);
  });

  describe('tamper', () => {
    const tamper = { line: 17, activeLow: true };

    it('wires the tamper line next to the button', () => {
      const { model } = started({ tamper });
      expect(model.gpioInputs).toEqual([
        { name: 'button', ref: { chip: 'gpiochip0', line: 4 }, activeLow: true },
        { name: 'tamper', ref: { chip: 'gpiochip0', line: 17 }, activeLow: true },
      ]);
    });

    it('reports panic.tamper once when the housing opens; closing it is state, not an alarm', () => {
      const { model, events } = started({ tamper });
      model.input('tamper', true, at());
      vi.advanceTimersByTime(5);
      model.input('tamper', false, at()); // bounce
      vi.advanceTimersByTime(5);
      model.input('tamper', true, at());
      vi.advanceTimersByTime(1000);
      expect(events).toEqual([{ type: 'panic.tamper', at: rel(10), data: { ...where, input: 'tamper' } }]);
      expect(model.state().tamper).toEqual({
        active: true,
        raw: true,
        since: new Date(T0 + 10).toISOString(),
        edges: 3,
        changesLastMinute: 1,
        chatter: false,
        chatterSince: null,
        count: 1,
      });

      model.input('tamper', false, at());
      vi.advanceTimersByTime(1000);
      expect(events).toHaveLength(1);
      expect(model.state().tamper).toMatchObject({ active: false, since: new Date(T0 + 1010).toISOString(), count: 1 });
      // The button is untouched by the tamper switch.
      expect(model.state()).toMatchObject({ pressed: false, presses: 0 });
    });
  });

  describe('acknowledge LED', () => {
    const led = { output: 'led-1', offAfterSec: 120 };

    it('lights on acknowledge and goes off after offAfterSec', () => {
      const { model, outputs } = started({ led });
      model.input('button', true, at());
      vi.advanceTimersByTime(100);
      expect(model.acknowledge()).toBe(true);
      expect(outputs).toEqual([{ id: 'led-1', active: true, by: 'panic-1: acknowledged' }]);
      expect(model.state()).toMatchObject({
        pressed: true,
        acknowledgedAt: new Date(T0 + 100).toISOString(),
        led: { output: 'led-1', on: true, since: new Date(T0 + 100).toISOString() },
      });
      vi.advanceTimersByTime(119_999);
      expect(outputs).toHaveLength(1);
      vi.advanceTimersByTime(1);
      expect(outputs[1]).toEqual({ id: 'led-1', active: false, by: 'panic-1: off after 120 s' });
      expect(model.state().led).toEqual({ output: 'led-1', on: false, since: new Date(T0 + 120_100).toISOString() });
    });

    it('goes off on release, and the timer no longer fires', () => {
      const { model, outputs } = started({ led });
      model.input('button', true, at());
      vi.advanceTimersByTime(100);
      model.acknowledge();
      model.input('button', false, at());
      vi.advanceTimersByTime(300_000);
      expect(outputs).toEqual([
        { id: 'led-1', active: true, by: 'panic-1: acknowledged' },
        { id: 'led-1', active: false, by: 'panic-1: released' },
      ]);
    });

    it('a local ack-led inside emit() lights the LED for the new press, not the previous one', () => {
      const f = fakeContext();
      const model = new PanicButton(
        cfg({ led }),
        {
          ...f.ctx,
          emit: (ev) => {
            f.events.push(ev);
            if (ev.type === 'panic.pressed') model.acknowledge();
          },
        },
        'gpiochip0',
      );
      model.initial('button', false, at());
      model.input('button', true, at());
      vi.advanceTimersByTime(100);
      model.input('button', false, at());
      vi.advanceTimersByTime(100);
      model.input('button', true, at());
      vi.advanceTimersByTime(100);
      expect(f.outputs.map((o) => [o.active, o.by])).toEqual([
        [true, 'panic-1: acknowledged'],
        [false, 'panic-1: released'],
        [true, 'panic-1: acknowledged'],
      ]);
      // Decided in the check phase after the 50 ms hold timer: fake timers run that 1 ms later.
      expect(model.state()).toMatchObject({
        pressed: true,
        presses: 2,
        acknowledgedAt: new Date(T0 + 251).toISOString(),
      });
    });

    it('a button without a LED records the acknowledgement and drives nothing', () => {
      const { model, outputs } = started();
      expect(model.acknowledge()).toBe(false);
      expect(outputs).toEqual([]);
      expect(model.state()).toMatchObject({ acknowledgedAt: new Date(T0).toISOString() });
      expect(model.state()).not.toHaveProperty('led');
    });
  });
});
