// The sim's answer waits for the model's decision: a change still in debounce after its settle
// time (a late loop) is answered 200 with its event once decided, not 202 with nothing.
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { DeviceRegistry } from '../../agent/devices/registry.js';
import type { WgEvent } from '../../agent/event.js';
import { SimInjector } from '../../agent/sim.js';
import { SimGpioBackend } from '../../drivers/gpio/sim.js';

afterEach(() => {
  vi.useRealTimers();
});

function setup(decideAfterMs: number | undefined) {
  let settling = false;
  const model = { settleMs: () => 20, settling: () => settling };
  const devices = {
    devices: new Map([['panic-0', { model }]]),
    wiring: () => ({ ref: { chip: 'gpiochip0', line: 5 }, activeLow: false }),
  } as unknown as DeviceRegistry;
  const backend = new SimGpioBackend();
  const sim = new SimInjector(devices, () => backend);
  const event = { id: 'e1', type: 'panic.pressed' } as WgEvent;
  // The line change starts a debounce that decides `decideAfterMs` later (never if undefined).
  vi.spyOn(backend, 'set').mockImplementation(() => {
    settling = true;
    if (decideAfterMs !== undefined)
      setTimeout(() => {
        settling = false;
        sim.observe('panic-0', Promise.resolve(event));
      }, decideAfterMs);
  });
  return { sim, event };
}

describe('SimInjector', () => {
  it('waits past the settle time while the model is still deciding, and answers with the event', async () => {
    vi.useFakeTimers();
    const { sim, event } = setup(400); // far past settleMs + 25
    const answer = sim.inject('panic-0', 'button', true);
    await vi.advanceTimersByTimeAsync(450);
    await expect(answer).resolves.toEqual({ accepted: [event], pending: false });
  });

  it('answers pending (202) once the bound passes with the change still undecided', async () => {
    vi.useFakeTimers();
    const { sim } = setup(undefined);
    const answer = sim.inject('panic-0', 'button', true);
    let done = false;
    void answer.then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(1000);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1100);
    await expect(answer).resolves.toEqual({ accepted: [], pending: true });
  });
});
