// Issue 14: debounce and hold are decided on edge timestamps, not on when Node read the edges; a
// driver restart neither repeats a press nor loses a release. Edges are delivered the way Node's
// loop delivers them after a stall: due timers first, then the pipe, then the check phase
// (useLoopClock in test/helpers/model-context.ts).
import { describe, expect, it, vi } from 'vitest';
import type { PanicButtonConfig } from '../../agent/config/types.js';
import { ARRIVAL_GRACE_MS } from '../../agent/devices/deadline.js';
import { PanicButton } from '../../agent/devices/panic-button.js';
import { fakeContext, useLoopClock } from '../helpers/model-context.js';

const cfg: PanicButtonConfig = {
  id: 'panic-1',
  type: 'panic-button',
  name: 'Triage 1',
  location: 'A&E',
  input: { line: 4, activeLow: true },
  debounceMs: 20,
  minHoldMs: 50,
  severity: 'critical',
};
const where = { name: 'Triage 1', location: 'A&E' };

describe('PanicButton timing (edge timestamps, not arrival)', () => {
  const loop = useLoopClock();
  const { at, rel } = loop;

  function started() {
    const f = fakeContext();
    const model = new PanicButton(cfg, f.ctx, 'gpiochip0');
    model.initial('button', false, at());
    return { model, ...f };
  }

  it('a 300 ms press read in one late chunk with its release gives the press and the release', async () => {
    const { model, events } = started();
    await loop.run(10);
    // The loop was busy from 10 ms to 400 ms (a slow commit): both edges waited in the pipe.
    await loop.stall(390, () => {
      model.input('button', true, rel(10));
      model.input('button', false, rel(310));
    });
    await loop.run(1000);
    expect(events).toEqual([
      { type: 'panic.pressed', severity: 'critical', at: rel(10), data: { ...where, input: 'button' } },
      { type: 'panic.released', at: rel(310), data: { ...where, heldMs: 300 } },
    ]);
  });

  it('a 5 ms glitch followed by an 80 ms stall gives nothing', async () => {
    const { model, events } = started();
    await loop.run(10);
    model.input('button', true, at()); // read at once: its hold timer is due at 60 ms
    // The loop stalls until 90 ms; the release (at 15 ms) is still in the pipe when the timer fires.
    await loop.stall(80, () => model.input('button', false, rel(15)));
    await loop.run(10_000);
    expect(events).toEqual([]);
    expect(model.state()).toMatchObject({ pressed: false, presses: 0 });
  });

  it('a press read late but held long enough is stamped at its edge, not at the read', async () => {
    const { model, events } = started();
    // Read 180 ms after its edge: already held past the minimum, decided once nothing more has
    // arrived for ARRIVAL_GRACE_MS (the rest of a burst gpiomon writes a line at a time).
    await loop.stall(200, () => model.input('button', true, rel(20)));
    expect(events).toEqual([]);
    await loop.run(ARRIVAL_GRACE_MS);
    expect(events).toEqual([
      { type: 'panic.pressed', severity: 'critical', at: rel(20), data: { ...where, input: 'button' } },
    ]);
  });

  it('a glitch read late whose release arrives in a later read, within the grace, gives nothing', async () => {
    const { model, events } = started();
    await loop.run(10);
    // Both edges are a second old when read, but gpiomon's lines come in two reads 10 ms apart.
    await loop.stall(1000, () => model.input('button', true, rel(10)));
    await loop.run(10);
    model.input('button', false, rel(15));
    await loop.run(10_000);
    expect(events).toEqual([]);
    expect(model.state()).toMatchObject({ pressed: false, presses: 0 });
  });

  it('heldMs is monotonic: an NTP step of a day during the press does not count', async () => {
    const { model, events } = started();
    model.input('button', true, at());
    await loop.run(1000);
    vi.setSystemTime(Date.now() + 86_400_000); // the wall clock steps; CLOCK_MONOTONIC does not
    const release = at();
    model.input('button', false, release);
    await loop.run(100);
    expect(release.uptimeMs).toBe(rel(1000).uptimeMs);
    expect(events.map((e) => [e.type, e.data?.heldMs])).toEqual([
      ['panic.pressed', undefined],
      ['panic.released', 1000],
    ]);
  });

  it('an edge stamped on another clock (an hour ahead) is not held back for ever', async () => {
    const { model, events } = started();
    const ahead = { ts: Date.now(), uptimeMs: at().uptimeMs + 3_600_000 };
    model.input('button', true, ahead);
    await loop.run(2000); // the hold, plus the 1 s a stamp may be ahead of our clock
    expect(events).toEqual([
      { type: 'panic.pressed', severity: 'critical', at: ahead, data: { ...where, input: 'button' } },
    ]);
  });

  describe('after a driver restart (initial, then resync readings)', () => {
    it('a button still held is not pressed again; its release is reported once', async () => {
      const { model, events } = started();
      model.input('button', true, at());
      await loop.run(500);
      model.resync('button', true, at()); // the driver restarted: the level read is unchanged
      model.initial('button', true, at()); // even a driver that says "initial" again is not news
      await loop.run(500);
      model.input('button', false, at());
      await loop.run(500);
      expect(events.map((e) => e.type)).toEqual(['panic.pressed', 'panic.released']);
      expect(events[1]?.data).toEqual({ ...where, heldMs: 1000 });
    });

    it('a release that happened while nothing watched is reported, flagged observedAfterGap', async () => {
      const { model, events } = started();
      model.input('button', true, at());
      await loop.run(2000);
      model.resync('button', false, at()); // read at 2000 ms after the restart
      await loop.run(100);
      expect(events).toEqual([
        { type: 'panic.pressed', severity: 'critical', at: rel(0), data: { ...where, input: 'button' } },
        { type: 'panic.released', at: rel(2000), data: { ...where, heldMs: 2000, observedAfterGap: true } },
      ]);
      expect(model.state()).toMatchObject({ pressed: false, raw: false });
    });

    it('a press that began while nothing watched is reported once it has held, flagged', async () => {
      const { model, events } = started();
      await loop.run(100);
      model.resync('button', true, at());
      await loop.run(49);
      expect(events).toEqual([]); // a level read is debounced like an edge
      await loop.run(1);
      expect(events).toEqual([
        {
          type: 'panic.pressed',
          severity: 'critical',
          at: rel(100),
          data: { ...where, input: 'button', observedAfterGap: true },
        },
      ]);
    });

    it('an unchanged level after a restart is nothing at all', async () => {
      const { model, events } = started();
      model.resync('button', false, at());
      await loop.run(1000);
      expect(events).toEqual([]);
    });
  });
});
