// The whole agent on the REAL libgpiod tools (gpiomon for inputs, gpioset for outputs, over the
// shimmed kernel of test/fixtures/gpio/gpiosim.ts), configured from config/ward.example.yaml, for
// the issue-14 scenarios that need models, local actions and outputs together: relay bounce on a
// fire panel that alarms, resets and alarms again; the staff-attack sounder held through a tamper
// chirp; and a wall-clock step in the middle of a press.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { checkConfig } from '../../agent/config/load.js';
import type { WgEvent } from '../../agent/event.js';
import { Agent } from '../../agent/runtime.js';
import { GpiodBackend } from '../../drivers/gpio/gpiod.js';
import { GpiodSimWorld } from '../fixtures/gpio/gpiosim.js';
import { waitFor } from '../fixtures/gpio/harness.js';

const CHIP = 'gpiochip0';
const MS = 1_000_000n;
// Lines of config/ward.example.yaml.
const PANIC = 4;
const TAMPER = 17;
const FIRE_ALARM = 22;
const FIRE_FAULT = 23;
const SOUNDER = 12; // active-low: driven 0 while sounding

let world: GpiodSimWorld;
let agent: Agent | undefined;
let dir: string;
let events: WgEvent[];

const types = () => events.map((e) => e.type);
const ofType = (type: string) => events.filter((e) => e.type === type);

async function startAgent(): Promise<Agent> {
  const example = parse(await readFile('config/ward.example.yaml', 'utf8')) as Record<string, unknown>;
  const r = checkConfig({
    ...example,
    gateway: { id: 'ward-ae', site: 'st-marys', dataDir: dir, clock: { sync: 'assume' } },
    // No broker: the events stay in the outbox, where the test reads them as they are accepted.
    mqtt: { brokers: ['mqtt://127.0.0.1:1'], backoff: { minMs: 50, maxMs: 200 } },
  });
  if (!r.ok) throw new Error(r.problems.join('\n'));
  const started = await Agent.start({
    config: r.config,
    log: pino({ level: 'silent' }),
    gpioBackend: () => new GpiodBackend({ tools: world.tools, settleMs: 30, restartBackoffMs: { min: 50, max: 200 } }),
  });
  started.outbox.onAccepted((accepted) => {
    for (const ev of accepted) if (ev.deviceType !== 'gateway') events.push(ev);
  });
  return started;
}

/** `count` edges `stepMs` apart from kernel time `t`, toggling from `from`: bounce that ends on the other level. */
async function bounce(line: number, from: 0 | 1, t: bigint, count = 7, stepMs = 3n): Promise<bigint> {
  let level = from;
  let at = t;
  for (let i = 0; i < count; i++) {
    level = level === 1 ? 0 : 1;
    at = t + BigInt(i) * stepMs * MS;
    await world.drive(CHIP, line, level, at);
  }
  return at;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wardgate-agent-real-gpio-'));
  world = await GpiodSimWorld.create({ [CHIP]: 54 });
  // At rest: buttons and tamper switches released (active-low inputs read 1), the fire panel's
  // alarm relay open (1), its fail-safe fault relay energised (0 = healthy).
  for (const line of [4, 5, 6, 17, 18, 27, FIRE_ALARM, 24, 25]) world.setLevel(CHIP, line, 1);
  world.setLevel(CHIP, FIRE_FAULT, 0);
  events = [];
  agent = await startAgent();
});

afterEach(async () => {
  vi.restoreAllMocks();
  await agent?.stop('test over');
  agent = undefined;
  await world.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('the agent on the real libgpiod tools', () => {
  it('fire panel: alarm, reset and re-alarm, each with 7 bounce edges, give three prompt, unflagged transitions', async () => {
    const t0 = process.hrtime.bigint();
    await bounce(FIRE_ALARM, 1, t0); // ends at 0: alarm
    await waitFor('the first alarm', () => ofType('fire.alarm').length === 1, 10_000);
    await bounce(FIRE_ALARM, 0, process.hrtime.bigint()); // ends at 1: reset
    await waitFor('the reset', () => ofType('fire.alarm_cleared').length === 1, 10_000);
    const third = process.hrtime.bigint();
    const lastBounce = await bounce(FIRE_ALARM, 1, third); // smoke still there: alarm again
    await waitFor('the re-alarm', () => ofType('fire.alarm').length === 2, 10_000);

    expect(types()).toEqual(['fire.alarm', 'fire.alarm_cleared', 'fire.alarm']);
    const again = ofType('fire.alarm')[1];
    // A genuine alarm, not a suspected chatter: not flagged, and stamped at the kernel time of the
    // bounce that settled it (so nothing held it back to wait out chatter).
    expect(again?.data.suspectedChatter).toBeUndefined();
    // (±1 ms: the event carries whole milliseconds of the kernel's nanoseconds.)
    expect(Math.abs((again?.clock.uptimeMs ?? 0) - Number(lastBounce) / 1e6)).toBeLessThanOrEqual(1);
    expect(ofType('fire.fault')).toEqual([]);
  });

  it('the staff-attack sounder stays on through a tamper chirp on the same sounder', async () => {
    await world.drive(CHIP, PANIC, 0);
    await waitFor('the press', () => ofType('panic.pressed').length === 1, 10_000);
    await waitFor('the sounder on', () => world.driven(CHIP, SOUNDER) === 0, 10_000);

    // Someone opens a button's housing: the rule pulses the same sounder twice for 200 ms.
    await world.drive(CHIP, TAMPER, 0);
    await waitFor('the tamper', () => ofType('panic.tamper').length === 1, 10_000);
    // Wait until the second pulse has come and gone (the output bank says who holds the sounder).
    const heldBy = () => JSON.stringify(agent?.outputBank.list().find((o) => o.id === 'sounder-ae')?.heldBy ?? []);
    let sawSecond = false;
    await waitFor(
      'the chirp over',
      () => {
        if (heldBy().includes('pulse 2/2')) sawSecond = true;
        return sawSecond && !heldBy().includes('pulse');
      },
      10_000,
    );
    expect(heldBy()).toContain('panic.pressed');
    // The panic's 30 s hold is not cut short: the line was never released since the press.
    expect(world.driven(CHIP, SOUNDER)).toBe(0);
    const history = world.drivenHistory(CHIP, SOUNDER);
    expect(history.slice(history.indexOf(0))).not.toContain(1);
  });

  it('a wall-clock step of a day in the middle of a press leaves heldMs at the real hold', async () => {
    const t = process.hrtime.bigint();
    await world.drive(CHIP, PANIC, 0, t);
    await waitFor('the press', () => ofType('panic.pressed').length === 1, 10_000);
    // NTP steps the wall clock forward by a day while the button is held.
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + 86_400_000);
    await world.drive(CHIP, PANIC, 1, t + 400n * MS);
    await waitFor('the release', () => ofType('panic.released').length === 1, 10_000);
    expect(ofType('panic.released')[0]?.data.heldMs).toBe(400);
  });
});
