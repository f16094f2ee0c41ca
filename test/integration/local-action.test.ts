// A local action fires with the broker down: a real Agent (sim GPIO, real outbox in a temp dir,
// an uplink pointed at a closed port) turns a panic press into a sounder and a lit LED, and the
// outputs' state says so — no network involved (issue 3).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import type { Config, PanicButtonConfig } from '../../agent/config/types.js';
import { Agent } from '../../agent/runtime.js';
import { SimGpioBackend } from '../../drivers/gpio/sim.js';

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('local actions with the broker down', () => {
  let dir: string;
  let agent: Agent | undefined;
  let sim: SimGpioBackend | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wardgate-local-action-'));
  });
  afterEach(async () => {
    await agent?.stop('test over');
    agent = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  function config(): Config {
    const r = checkConfig({
      gateway: { id: 'ward-test', site: 'test-site', dataDir: dir, clock: { sync: 'assume' } },
      // Port 1 on loopback: nothing listens, every connect is refused at once.
      mqtt: { brokers: ['mqtt://127.0.0.1:1'], backoff: { minMs: 50, maxMs: 200 } },
      gpio: { backend: 'sim' },
      devices: [{ id: 'panic-1', type: 'panic-button', input: { line: 4 }, led: { output: 'led-1', offAfterSec: 60 } }],
      outputs: [
        { id: 'sounder-1', line: 20, activeLow: true },
        { id: 'led-1', line: 21 },
      ],
      actions: [
        { on: 'panic.pressed', do: 'set', output: 'sounder-1', forSec: 30 },
        { on: 'panic.pressed', do: 'ack-led' },
      ],
    });
    if (!r.ok) throw new Error(r.problems.join('\n'));
    return r.config;
  }

  it('a panic press sounds the sounder and lights the LED, visible on the outputs and their retained state', async () => {
    agent = await Agent.start({
      config: config(),
      log: pino({ level: 'silent' }),
      gpioBackend: () => {
        sim = new SimGpioBackend();
        return sim;
      },
    });
    const retained = vi.spyOn(agent.retained, 'setState');
    const sounder = { chip: 'gpiochip0', line: 20 };
    const led = { chip: 'gpiochip0', line: 21 };
    // Opened at their initial (off) state: the sounder is active-low, so its line idles high.
    expect([sim?.level(sounder), sim?.level(led)]).toEqual([1, 0]);

    const { accepted } = await agent.simulate('panic-1', 'button', true);
    expect(agent.uplink.connected).toBe(false);
    expect(accepted.map((e) => e.type)).toEqual(['panic.pressed']);

    await until(() => agent?.outputs().every((o) => o.active) === true, 'both outputs on');
    expect(agent.outputs()).toEqual([
      {
        id: 'sounder-1',
        line: 'gpiochip0:20',
        active: true,
        lastChange: expect.any(String),
        lastError: null,
        by: 'actions[0] panic.pressed from panic-1',
        heldBy: ['actions[0] panic.pressed from panic-1'],
      },
      {
        id: 'led-1',
        line: 'gpiochip0:21',
        active: true,
        lastChange: expect.any(String),
        lastError: null,
        by: 'panic-1: acknowledged',
        heldBy: ['panic-1: acknowledged'],
      },
    ]);
    expect([sim?.level(sounder), sim?.level(led)]).toEqual([0, 1]);
    expect(agent.deviceStates()[0]?.state).toMatchObject({ pressed: true, led: { output: 'led-1', on: true } });
    expect(retained).toHaveBeenCalledWith('sounder-1', {
      id: 'sounder-1',
      type: 'output',
      availability: 'online',
      since: expect.any(String),
      state: {
        line: 'gpiochip0:20',
        active: true,
        lastChange: expect.any(String),
        lastError: null,
        by: 'actions[0] panic.pressed from panic-1',
        heldBy: ['actions[0] panic.pressed from panic-1'],
      },
    });

    // Releasing the button puts the LED out; the sounder keeps its 30 s.
    await agent.simulate('panic-1', 'button', false);
    await until(() => agent?.outputs()[1]?.active === false, 'LED off');
    expect([sim?.level(sounder), sim?.level(led)]).toEqual([0, 0]);
    expect(agent.outputs()[1]?.by).toBe('panic-1: released');
  });

  it('a tamper chirp on the same sounder does not cut the panic hold short (issue 14)', async () => {
    const base = config();
    const cfg: Config = {
      ...base,
      devices: [{ ...(base.devices[0] as PanicButtonConfig), tamper: { line: 17, activeLow: true } }],
      actions: [
        { on: 'panic.pressed', do: 'set', output: 'sounder-1', forSec: 30 },
        { on: 'panic.tamper', do: 'pulse', output: 'sounder-1', pulseMs: 50, count: 2 },
      ],
    };
    agent = await Agent.start({
      config: cfg,
      log: pino({ level: 'silent' }),
      gpioBackend: () => {
        sim = new SimGpioBackend();
        return sim;
      },
    });
    const sounder = { chip: 'gpiochip0', line: 20 };
    await agent.simulate('panic-1', 'button', true);
    await until(() => sim?.level(sounder) === 0, 'sounder on (active-low)');
    const { accepted } = await agent.simulate('panic-1', 'tamper', true);
    expect(accepted.map((e) => e.type)).toEqual(['panic.tamper']);
    // The chirps (2 × 50 ms) are over once only the panic's forSec timer is left.
    await until(() => agent?.actions.pending()['sounder-1'] === 1, 'pulse train over');
    expect(sim?.level(sounder)).toBe(0);
    expect(agent.outputs()[0]).toMatchObject({ active: true, heldBy: ['actions[0] panic.pressed from panic-1'] });
  });

  it('a sim press on a stalled event loop still answers with its event (models decide in the check phase)', async () => {
    agent = await Agent.start({
      config: { ...config(), actions: [] },
      log: pino({ level: 'silent' }),
      gpioBackend: () => {
        sim = new SimGpioBackend();
        return sim;
      },
    });
    const pressed = agent.simulate('panic-1', 'button', true);
    // Block the loop past both the 50 ms hold and the request's own settle wait: they fall due together.
    const until = process.hrtime.bigint() + 200_000_000n;
    while (process.hrtime.bigint() < until) {
      // busy: a slow commit on an SD card
    }
    const { accepted } = await pressed;
    expect(accepted.map((e) => e.type)).toEqual(['panic.pressed']);
  });

  it('acknowledge(deviceId) is the hook for the control room ack; unknown devices are refused', async () => {
    agent = await Agent.start({
      config: { ...config(), actions: [] },
      log: pino({ level: 'silent' }),
      gpioBackend: () => {
        sim = new SimGpioBackend();
        return sim;
      },
    });
    expect(agent.acknowledge('panic-1')).toBe(true);
    await until(() => agent?.outputs()[1]?.active === true, 'LED on');
    expect(sim?.level({ chip: 'gpiochip0', line: 21 })).toBe(1);
    expect(() => agent?.acknowledge('nope')).toThrow(/no device nope/);
  });
});
