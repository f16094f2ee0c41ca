// The command actions (issue 10) on a fake clock with a real OutputBank: a command's hold on an
// output is its own reason (a local rule's hold is never cut short, and it never cuts a command's
// pulse), args are checked before anything runs, and what this build lacks is refused, not faked.
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OutputBank } from '../../agent/actions/outputs.js';
import { type ActionContext, commandActions } from '../../agent/commands/actions.js';
import type { Envelope } from '../../agent/commands/envelope.js';

const T0 = Date.UTC(2026, 11, 1, 10, 0, 0);
const log = pino({ level: 'silent' });

function setup(over: Partial<ActionContext> = {}) {
  const writes: Array<[number, 0 | 1]> = [];
  const outputs = new OutputBank({
    outputs: [{ id: 'sounder-1', line: 40, activeLow: false, initial: false }],
    defaultChip: 'gpiochip0',
    write: async (_point, level) => {
      writes.push([Date.now() - T0, level]);
    },
    changed: () => undefined,
    log,
  });
  const ctx: ActionContext = {
    outputs,
    log,
    maxUnlockSec: 10,
    ackAlarm: () => ({}),
    unlockDoor: async (device, seconds) => ({ device, seconds: seconds ?? null }),
    ...over,
  };
  const { actions, stop } = commandActions(ctx);
  const env = (action: string, device: string, args: Record<string, unknown>): Envelope => ({
    commandId: `c-${action}`,
    action,
    device,
    args,
    issuedAt: new Date(T0).toISOString(),
    expiresAt: new Date(T0 + 60_000).toISOString(),
    nonce: 'n'.repeat(16),
    keyId: 'ops',
    signature: '',
  });
  const run = (action: string, device: string, args: Record<string, unknown> = {}) => {
    const a = actions.get(action);
    if (!a) throw new Error(`no ${action}`);
    a.check(args, device);
    return a.run(env(action, device, args), 'ops');
  };
  return { outputs, writes, run, actions, stop };
}

describe('command actions', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => vi.useRealTimers());

  it('output.pulse: on, off, on, off at the asked times', async () => {
    const { writes, run } = setup();
    await run('output.pulse', 'sounder-1', { ms: 100, count: 2, gapMs: 300 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(writes).toEqual([
      [0, 1],
      [100, 0],
      [400, 1],
      [500, 0],
    ]);
  });

  it("output.set forSec holds under its own reason: a local rule's hold outlasts it", async () => {
    const { outputs, writes, run } = setup();
    await run('output.set', 'sounder-1', { value: true, forSec: 2 });
    await outputs.claim('sounder-1', 'panic-1|actions[0]', 'actions[0] panic.pressed');
    await vi.advanceTimersByTimeAsync(5000);
    expect(writes).toEqual([[0, 1]]); // still on: the rule holds it
    await outputs.release('sounder-1', (k) => k === 'panic-1|actions[0]', 'released');
    expect(writes).toEqual([
      [0, 1],
      [5000, 0],
    ]);
    await run('output.set', 'sounder-1', { value: true });
    await run('output.set', 'sounder-1', { value: false }); // a later false ends the command's hold
    expect(writes.at(-1)).toEqual([5000, 0]);
  });

  it('refuses bad args before anything runs, and an output that does not exist', async () => {
    const { actions, run, writes } = setup();
    const check =
      (action: string, args: Record<string, unknown>, device = 'sounder-1') =>
      () =>
        actions.get(action)?.check(args, device);
    expect(check('output.set', { value: 'yes' })).toThrow(/args.value/);
    expect(check('output.pulse', { ms: 5 })).toThrow(/args.ms/);
    expect(check('output.pulse', { colour: 'red' })).toThrow(/args.colour: unknown/);
    expect(check('alarm.ack', { id: 'a', seq: 2 }, 'panic-1')).toThrow(/exactly one/);
    expect(check('alarm.ack', {}, 'panic-1')).toThrow(/exactly one/);
    expect(check('log.level', { level: 'debug' }, 'sounder-1')).toThrow(/cmd\/gateway/);
    expect(check('log.level', { level: 'loud' }, 'gateway')).toThrow(/args.level/);
    await expect(run('output.pulse', 'strobe-9', {})).rejects.toMatchObject({ reason: 'unknown-target' });
    expect(writes).toEqual([]);
  });

  it('door.unlock is bounded by maxUnlockSec; without the door default when no seconds', async () => {
    const { run } = setup();
    await expect(run('door.unlock', 'door-1', { seconds: 11 })).rejects.toMatchObject({ reason: 'not-allowed' });
    await expect(run('door.unlock', 'door-1', {})).resolves.toEqual({ device: 'door-1', seconds: null });
  });

  it('config.reload and walk tests: refused as unsupported without the hooks, run with them', async () => {
    const bare = setup();
    await expect(bare.run('config.reload', 'gateway')).rejects.toMatchObject({ reason: 'unsupported' });
    await expect(bare.run('walktest.start', 'gateway')).rejects.toMatchObject({ reason: 'unsupported' });
    const hooked = setup({
      reload: async (by) => ({ outcome: 'unchanged', by }),
      walkTest: {
        start: (args, by) => ({ started: true, by, devices: args.devices ?? null }),
        stop: () => {
          throw new Error('no walk test is running');
        },
      },
    });
    await expect(hooked.run('config.reload', 'gateway')).resolves.toEqual({ outcome: 'unchanged', by: 'ops' });
    await expect(hooked.run('walktest.start', 'gateway', { devices: ['panic-1'] })).resolves.toEqual({
      started: true,
      by: 'ops',
      devices: ['panic-1'],
    });
    await expect(hooked.run('walktest.stop', 'gateway')).rejects.toMatchObject({
      reason: 'failed',
      detail: 'no walk test is running',
    });
  });

  it('log.level sets the level (children follow)', async () => {
    const root = pino({ level: 'info' });
    const child = root.child({ unit: 'x' });
    const { run } = setup({ log: root });
    await expect(run('log.level', 'gateway', { level: 'debug' })).resolves.toEqual({ from: 'info', to: 'debug' });
    expect(child.isLevelEnabled('debug')).toBe(true);
  });
});
