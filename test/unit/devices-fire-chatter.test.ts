// Issue 14 item 4: chatter is counted on changes that survived the debounce, never on relay bounce,
// and never holds back a genuine fire alarm for longer than the debounce plus `chatterHoldSec`.
import { describe, expect, it } from 'vitest';
import type { FirePanelConfig } from '../../agent/config/types.js';
import { FirePanel } from '../../agent/devices/fire-panel.js';
import type { ModelEvent } from '../../agent/devices/types.js';
import { fakeContext, useLoopClock } from '../helpers/model-context.js';

const where = { name: 'A&E fire panel', location: 'Plant room' };
// As in config/ward.example.yaml.
const cfg = (over: Partial<FirePanelConfig> = {}): FirePanelConfig => ({
  id: 'fire-panel-ae',
  type: 'fire-panel',
  name: 'A&E fire panel',
  location: 'Plant room',
  alarm: { line: 22, activeLow: true },
  debounceMs: 100,
  minHoldMs: 0,
  chatterEdgesPerMinute: 20,
  chatterQuietSec: 120,
  chatterHoldSec: 10,
  ...over,
});

describe('FirePanel chatter', () => {
  const loop = useLoopClock();

  function started(over: Partial<FirePanelConfig> = {}) {
    const f = fakeContext();
    const emittedAt: number[] = [];
    const emit = (ev: ModelEvent) => {
      f.events.push(ev);
      emittedAt.push(loop.now());
    };
    const ctx = { ...f.ctx, emit };
    const model = new FirePanel(cfg(over), ctx, 'gpiochip0');
    model.initial('alarm', false, loop.at());
    return { model, events: f.events, emittedAt };
  }

  /** A relay closing or opening: 7 edges 2 ms apart (relay bounce), ending at `active`. */
  async function bounce(model: FirePanel, active: boolean): Promise<void> {
    for (let i = 0; i < 7; i++) {
      if (i > 0) await loop.run(2);
      model.input('alarm', i % 2 === 0 ? active : !active, loop.at());
    }
  }

  it('alarm, reset, re-alarm with 7 bounce edges each: the third is a real fire.alarm, promptly', async () => {
    const { model, events, emittedAt } = started();
    await bounce(model, true);
    await loop.run(10_000);
    await bounce(model, false);
    await loop.run(10_000);
    const realarm = loop.now();
    await bounce(model, true); // 21 raw edges in 20 s: the old raw-edge count called this chatter
    await loop.run(200);
    expect(events).toEqual([
      { type: 'fire.alarm', at: loop.rel(12), data: { ...where, input: 'alarm' } },
      { type: 'fire.alarm_cleared', at: loop.rel(10_024), data: { ...where, input: 'alarm', activeMs: 10_012 } },
      { type: 'fire.alarm', at: loop.rel(20_036), data: { ...where, input: 'alarm' } },
    ]);
    // Out as soon as the debounce after the last bounce edge has passed.
    expect(emittedAt[2]).toBe(realarm + 12 + 100);
    expect(model.state()).toMatchObject({ alarm: true, fault: false, alarms: 2 });
  });

  it('a genuine alarm on a chattering contact goes out flagged within debounce + chatterHoldSec', async () => {
    const { model, events, emittedAt } = started();
    for (let i = 0; i < 21; i++) {
      model.input('alarm', i % 2 === 0, loop.at()); // 21 real changes, 1 s apart
      await loop.run(1000);
    }
    expect(events.at(-1)).toEqual({
      type: 'fire.fault',
      at: loop.rel(20_000),
      data: { ...where, reason: 'chatter', input: 'alarm', changesLastMinute: 21, limit: 20 },
    });
    // The 21st change (active at 20 s) is the smoke that stays: held 10 s, then out, flagged.
    await loop.run(11_000);
    const alarm = events.at(-1);
    expect(alarm).toEqual({
      type: 'fire.alarm',
      at: loop.rel(20_000),
      data: { ...where, input: 'alarm', suspectedChatter: true },
    });
    const delay = (emittedAt.at(-1) ?? 0) - 20_000;
    expect(delay).toBeGreaterThanOrEqual(10_000);
    expect(delay).toBeLessThanOrEqual(100 + 10_000 + 100); // debounce + hold (+ the debounce it waits out)
  });

  it('after the quiet period the fault clears and the window is cleared, also with chatterQuietSec < 60', async () => {
    const { model, events } = started({ chatterQuietSec: 30, chatterHoldSec: 5 });
    for (let i = 0; i < 22; i++) {
      model.input('alarm', i % 2 === 0, loop.at());
      await loop.run(500);
    }
    // Ends inactive (22 changes) at 10.5 s; quiet from then.
    await loop.run(31_000);
    expect(events.map((e) => e.type)).toEqual([
      ...Array.from({ length: 10 }, () => ['fire.alarm', 'fire.alarm_cleared']).flat(),
      'fire.fault',
      'fire.fault_cleared',
    ]);
    expect(events.at(-1)).toMatchObject({
      at: loop.rel(10_500 + 30_000),
      data: { reason: 'chatter', input: 'alarm', quietSec: 30 },
    });
    // Trusted again: the next alarm is an ordinary one, not a new chatter episode.
    model.input('alarm', true, loop.at());
    await loop.run(200);
    expect(events.at(-1)).toEqual({ type: 'fire.alarm', at: loop.rel(42_000), data: { ...where, input: 'alarm' } });
    expect(model.state()).toMatchObject({ alarm: true, fault: false });
  });
});
