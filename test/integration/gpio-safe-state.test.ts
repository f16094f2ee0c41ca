// outputs[].safeState through a real Agent (sim GPIO): at stop every output is driven at its safe
// state before its line is released — logical, so an active-low sounder goes high — whatever the
// rules had it at. The same on the real libgpiod tools: test/contract/gpio-driver-real-tools.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import { Agent } from '../../agent/runtime.js';
import { SimGpioBackend } from '../../drivers/gpio/sim.js';

describe('outputs at stop', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wardgate-safe-state-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('drives each output at its safeState (default off) before releasing it', async () => {
    const r = checkConfig({
      gateway: { id: 'ward-safe', site: 'test-site', dataDir: dir, clock: { sync: 'assume' } },
      mqtt: { brokers: ['mqtt://127.0.0.1:1'], backoff: { minMs: 50, maxMs: 200 } },
      gpio: { backend: 'sim' },
      devices: [],
      outputs: [
        { id: 'sounder', line: 20, activeLow: true }, // safeState off by default: line high
        { id: 'lock', line: 21, safeState: 'on' }, // a fail-secure lock stays locked: line high
        { id: 'strobe', line: 22, initial: true }, // on at start, off at stop
      ],
    });
    if (!r.ok) throw new Error(r.problems.join('\n'));
    expect(r.config.outputs?.map((o) => o.safeState)).toEqual(['off', 'on', 'off']);
    let sim: SimGpioBackend | undefined;
    const agent = await Agent.start({
      config: r.config,
      log: pino({ level: 'silent' }),
      gpioBackend: () => {
        sim = new SimGpioBackend();
        return sim;
      },
    });
    const line = (n: number) => sim?.level({ chip: 'gpiochip0', line: n });
    await agent.outputBank.set('sounder', true, 'test');
    await agent.outputBank.set('lock', false, 'test');
    expect([line(20), line(21), line(22)]).toEqual([0, 0, 1]);
    await agent.stop('test over');
    expect([line(20), line(21), line(22)]).toEqual([1, 1, 0]);
  });
});
