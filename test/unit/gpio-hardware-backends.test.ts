// Backend-specific behaviour of the hardware GPIO backends, beyond the shared contract in
// test/contract/gpio-backend.test.ts: gpiod's process supervision, output parsing and name lookup
// (against fake libgpiod tools), sysfs numbering, and onoff's watch faults.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Edge, lineKey } from '../../drivers/gpio/backend.js';
import { GpiodBackend, type GpiodOptions } from '../../drivers/gpio/gpiod.js';
import { edgeTimes, GpiomonParser, type MonitorEvent } from '../../drivers/gpio/gpiod-tools.js';
import { OnoffBackend } from '../../drivers/gpio/onoff.js';
import { listSysfsChips, type SysfsChip, sysfsNumber, sysfsNumberIn } from '../../drivers/gpio/sysfs.js';
import {
  FakeGpiodWorld,
  FakeOnoffWorld,
  isAlive,
  makeSysfsTree,
  PI4_CHIPS,
  waitFor,
} from '../fixtures/gpio/harness.js';

describe('GpiodBackend', () => {
  const L17 = { chip: 'gpiochip0', line: 17 };
  let world: FakeGpiodWorld;
  let backend: GpiodBackend | undefined;
  let logs: Record<string, unknown>[];
  let events: string[];
  const make = (opts: GpiodOptions = {}): GpiodBackend => {
    const log = pino({ level: 'debug' }, { write: (line: string) => logs.push(JSON.parse(line)) });
    const b = new GpiodBackend({
      tools: world.tools,
      settleMs: 30,
      restartBackoffMs: { min: 100, max: 1000 },
      log,
      ...opts,
    });
    b.on('edge', (e) => events.push(`edge ${e.level}`));
    b.on('fault', (ref, err) => events.push(`fault ${lineKey(ref)}: ${err.message}`));
    b.on('recovered', (ref) => events.push(`recovered ${lineKey(ref)}`));
    backend = b;
    return b;
  };
  const logged = (msg: string) => logs.filter((l) => l.msg === msg);
  beforeEach(async () => {
    world = await FakeGpiodWorld.create({ gpiochip0: 54 });
    await world.setLevel('gpiochip0', 17, 1);
    logs = [];
    events = [];
  });
  afterEach(async () => {
    vi.useRealTimers();
    await backend?.close();
    backend = undefined;
    await world.dispose();
  });

  it("rejects an unknown chip or offset with the tool's stderr", async () => {
    // A long settle: the failing fake exits long before it, so the rejection cannot race the timer.
    const b = make({ settleMs: 10_000 });
    await expect(b.openInput({ chip: 'gpiochip7', line: 17 })).rejects.toThrow(
      /gpioget gpiochip7 17 exited with code 1: gpioget: error reading GPIO values: No such file or directory/,
    );
    await expect(b.openInput({ chip: 'gpiochip0', line: 99 })).rejects.toThrow(
      /gpioget gpiochip0 99 .*Invalid argument/,
    );
    await expect(b.openOutput({ chip: 'gpiochip7', line: 22 }, 1)).rejects.toThrow(
      /gpioset --mode=signal gpiochip7 22=1 exited with code 1: .*No such file or directory/,
    );
  });

  // The real libgpiod tools, where installed: this machine has no GPIO chip, so only their failure
  // path can run, which is the one whose message a technician reads.
  it.skipIf(!existsSync('/usr/bin/gpioget'))(
    "passes on the real tools' stderr for a chip that is not there",
    async () => {
      const b = make({ tools: {}, settleMs: 10_000 });
      const chip = 'gpiochip99';
      await expect(b.openInput({ chip, line: 17 })).rejects.toThrow(
        `gpioget ${chip} 17 exited with code 1: gpioget: error reading GPIO values: No such file or directory`,
      );
      await expect(b.openOutput({ chip, line: 22 }, 1)).rejects.toThrow(
        `gpioset --mode=signal ${chip} 22=1 exited with code 1: gpioset: error setting the GPIO line values: No such file`,
      );
      await expect(b.openInput({ chip: '', line: 'WARDGATE_NO_SUCH_LINE' })).rejects.toThrow(
        'no GPIO line is named "WARDGATE_NO_SUCH_LINE" (gpiofind WARDGATE_NO_SUCH_LINE exited with code 1)',
      );
    },
  );

  it('resolves a line name with gpiofind, and names the line it cannot find', async () => {
    await world.nameLine('PANIC_WARD_3', 'gpiochip0', 17);
    const b = make();
    const ref = { chip: '', line: 'PANIC_WARD_3' };
    const input = await b.openInput(ref);
    expect(await input.read()).toBe(1);
    const edges: Edge[] = [];
    b.on('edge', (e) => edges.push(e));
    await world.drive('gpiochip0', 17, 0);
    expect((await waitFor('an edge', () => edges[0])).ref).toBe(ref);
    await expect(b.openInput({ chip: '0', line: 17 })).rejects.toThrow(/already in use as an input \(:PANIC_WARD_3\)/);
    await expect(b.openInput({ chip: '', line: 'NO_SUCH_LINE' })).rejects.toThrow(
      /no GPIO line is named "NO_SUCH_LINE"/,
    );
    await expect(b.openInput({ chip: 'gpiochip1', line: 'PANIC_WARD_3' })).rejects.toThrow(
      /on gpiochip0, not on gpiochip1/,
    );
  });

  it('parses half lines and skips garbage without losing the monitor', async () => {
    const b = make();
    await b.openInput(L17);
    const edges: Edge[] = [];
    b.on('edge', (e) => edges.push(e));
    const pid = await waitFor('the monitor', () => world.monitorPid('gpiochip0', 17));
    const raw = (text: string) => world.writeRaw('gpiochip0', 17, text);
    await raw('Monitoring line 17 ...\n');
    await raw('17 0 12'); // one event in two writes: the parser must join them
    await raw('3 5000\n');
    await raw('17 2 1 1\n18 1 1 1\n'); // no such event type; another line's offset
    await raw('17 1 124 0\n');
    await waitFor('two edges', () => edges.length >= 2);
    expect(edges.map((e) => e.level)).toEqual([0, 1]);
    expect(edges[0]?.uptimeMs).toBeCloseTo(123_000.005, 6); // %n is unpadded: 5000 ns, not .5 s
    expect(edges[1]?.uptimeMs).toBe(124_000);
    expect(b.stats().garbageLines).toBe(3);
    expect(logged('unparseable gpiomon output').map((l) => l.text)).toEqual([
      'Monitoring line 17 ...',
      '17 2 1 1',
      'event for offset 18',
    ]);
    expect(world.monitorPid('gpiochip0', 17)).toBe(pid);
    expect(events.filter((e) => e.startsWith('fault'))).toEqual([]);
  });

  it('joins events split at any byte, and drops an endless line as garbage', () => {
    const got: MonitorEvent[] = [];
    const junk: string[] = [];
    const parser = new GpiomonParser(
      (e) => got.push(e),
      (j) => junk.push(j),
    );
    for (const ch of '17 1 5 999999999\nnoise\n27 0 6 0\n') parser.push(ch);
    expect(got).toEqual([
      { offset: 17, level: 1, sec: 5, nsec: 999_999_999 },
      { offset: 27, level: 0, sec: 6, nsec: 0 },
    ]);
    parser.push('x'.repeat(300));
    parser.push('\n17 1 7 0\n');
    expect(junk).toEqual(['noise', 'x'.repeat(80)]);
    expect(got).toHaveLength(3);
  });

  it('reads kernel timestamps as CLOCK_MONOTONIC, or as CLOCK_REALTIME from kernels before 5.7', () => {
    const wall = 1_750_000_000_000;
    expect(edgeTimes(100, 500_000_000, wall, 200_000)).toEqual({ ts: wall - 99_500, uptimeMs: 100_500 });
    expect(edgeTimes(1_749_999_999, 0, wall, 200_000)).toEqual({ ts: wall - 1000, uptimeMs: 199_000 });
  });

  it('restarts a dead gpiomon after the backoff, re-reads the level, then recovers', async () => {
    const b = make();
    await b.openInput(L17);
    const first = await waitFor('the monitor', () => world.monitorPid('gpiochip0', 17));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    process.kill(first, 'SIGKILL');
    await waitFor('a fault', () => events.length > 0);
    expect(events[0]).toMatch(
      /^fault gpiochip0:17: .*gpiomon .*gpiochip0 17 was killed by SIGKILL; .*no longer watched/,
    );
    await world.setLevel('gpiochip0', 17, 0); // the button is pressed while nothing watches it
    const reads = world.spawned('gpioget').length;
    await vi.advanceTimersByTimeAsync(99);
    expect(world.spawned('gpioget')).toHaveLength(reads); // still backing off
    await vi.advanceTimersByTimeAsync(1);
    // The new monitor's settle timer is set as it spawns, so once it is up, the timer exists.
    await waitFor(
      'a new monitor',
      () => world.monitorPid('gpiochip0', 17) !== first && world.monitorPid('gpiochip0', 17),
    );
    await vi.advanceTimersByTimeAsync(30);
    await waitFor('recovery', () => events.length >= 3);
    expect(events.slice(1)).toEqual(['edge 0', 'recovered gpiochip0:17']);
    vi.useRealTimers();
    await world.drive('gpiochip0', 17, 1);
    await waitFor('an edge from the new monitor', () => events.length >= 4);
    expect(events[3]).toBe('edge 1');
    expect(b.stats().restarts).toBe(1);
  });

  it('backs off exponentially up to the maximum while gpiomon keeps failing', async () => {
    const b = make({ restartBackoffMs: { min: 100, max: 300 } });
    await b.openInput(L17);
    const first = await waitFor('the monitor', () => world.monitorPid('gpiochip0', 17));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    await world.failMonitors(true);
    process.kill(first, 'SIGTERM');
    const delays = () => logged('restarting GPIO helper').map((l) => l.delayMs as number);
    await waitFor('the first restart', () => delays().length === 1);
    for (const n of [2, 3, 4]) {
      await vi.advanceTimersByTimeAsync(delays().at(-1) ?? 0);
      await waitFor(`restart ${n}`, () => delays().length === n);
    }
    expect(delays()).toEqual([100, 200, 300, 300]);
    expect(logged('GPIO helper restart failed').map((l) => (l.err as { message: string }).message)).toEqual(
      Array(3).fill(expect.stringContaining('Device or resource busy')),
    );
    await world.failMonitors(false);
    await vi.advanceTimersByTimeAsync(300);
    await waitFor('a new monitor', () => world.monitorPid('gpiochip0', 17));
    await vi.advanceTimersByTimeAsync(30);
    await waitFor('recovery', () => events.at(-1) === 'recovered gpiochip0:17');
    expect(events.filter((e) => e.startsWith('fault'))).toHaveLength(1); // one fault, not one per attempt
  });

  it('close() during a backoff cancels the restart and leaves no process', async () => {
    const b = make();
    await b.openInput(L17);
    const first = await waitFor('the monitor', () => world.monitorPid('gpiochip0', 17));
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    process.kill(first, 'SIGKILL');
    await waitFor('a fault', () => events.length > 0);
    expect(vi.getTimerCount()).toBe(1);
    await b.close();
    expect(vi.getTimerCount()).toBe(0);
    expect(world.spawned().filter((p) => isAlive(p.pid))).toEqual([]);
  });

  it('replaces gpioset on each write, and re-asserts the level if gpioset dies', async () => {
    const b = make();
    const ref = { chip: 'gpiochip0', line: 22 };
    const out = await b.openOutput(ref, 0);
    await waitFor('driven at 0', () => world.driven('gpiochip0', 22) === 0);
    await out.write(1);
    await waitFor('driven at 1', () => world.driven('gpiochip0', 22) === 1);
    const [old, current] = world.spawned('gpioset');
    expect(isAlive(old?.pid ?? 0)).toBe(false);
    expect(isAlive(current?.pid ?? 0)).toBe(true);
    await out.write(1); // already held at 1: no respawn, no glitch
    expect(world.spawned('gpioset')).toHaveLength(2);
    process.kill(current?.pid ?? 0, 'SIGKILL');
    await waitFor('recovery', () => events.at(-1) === 'recovered gpiochip0:22');
    expect(events[0]).toMatch(
      /^fault gpiochip0:22: GPIO line error: gpioset --mode=signal gpiochip0 22=1 was killed by SIGKILL/,
    );
    await waitFor('driven at 1 again', () => world.driven('gpiochip0', 22) === 1);
  });
});

describe('sysfs numbering', () => {
  const roots: string[] = [];
  const tree = async (chips: SysfsChip[]) => {
    const root = await makeSysfsTree(chips);
    roots.push(root);
    return root;
  };
  afterEach(async () => {
    for (const r of roots.splice(0)) await rm(r, { recursive: true, force: true });
  });

  it('adds the chip base: GPIO17 is 512 + 17 = 529 on kernels ≥ 6.6', async () => {
    const root = await tree(PI4_CHIPS);
    expect(await listSysfsChips(root)).toEqual(PI4_CHIPS);
    expect(await sysfsNumber('gpiochip0', 17, root)).toBe(529);
    expect(await sysfsNumber('pinctrl-bcm2711', 17, root)).toBe(529);
    expect(await sysfsNumber('gpiochip1', 2, root)).toBe(572);
  });

  it('keeps base 0 numbering on legacy kernels, matching by label or sysfs name', async () => {
    const root = await tree([
      { dir: 'gpiochip100', base: 100, ngpio: 2, label: 'brcmvirt-gpio' },
      { dir: 'gpiochip0', base: 0, ngpio: 54, label: 'pinctrl-bcm2835' },
    ]);
    expect(await sysfsNumber('pinctrl-bcm2835', 17, root)).toBe(17);
    expect(await sysfsNumber('gpiochip0', 17, root)).toBe(17);
    expect(await sysfsNumber('gpiochip100', 1, root)).toBe(101);
  });

  it('rejects an offset the chip does not have', () => {
    expect(() => sysfsNumberIn(PI4_CHIPS, 'gpiochip0', 58)).toThrow(/offset 58 is out of range .*0\.\.57/);
    expect(() => sysfsNumberIn(PI4_CHIPS, 'gpiochip1', -1)).toThrow(/offset -1 is out of range/);
  });

  it('lists the chips it found when the chip is unknown', async () => {
    // On a character-device kernel the sysfs directory name (base 512) is not the chip's name.
    expect(() => sysfsNumberIn(PI4_CHIPS, 'gpiochip512', 1)).toThrow(
      'no GPIO chip "gpiochip512" in sysfs; chips found: gpiochip512 (gpiochip0, label "pinctrl-bcm2711", ' +
        'base 512, 58 lines); gpiochip570 (gpiochip1, label "raspberrypi-exp-gpio", base 570, 8 lines)',
    );
    await expect(sysfsNumber('gpiochip0', 1, '/nonexistent/gpio')).rejects.toThrow(/cannot read the sysfs GPIO/);
  });
});

describe('OnoffBackend', () => {
  let root: string;
  let world: FakeOnoffWorld;
  let backend: OnoffBackend;
  beforeEach(async () => {
    root = await makeSysfsTree(PI4_CHIPS);
    world = new FakeOnoffWorld(1);
    backend = new OnoffBackend({ sysfsRoot: root, gpioFactory: world.factory });
  });
  afterEach(async () => {
    await backend.close();
    await rm(root, { recursive: true, force: true });
  });

  it('opens lines by sysfs number, knowing one line by its chip name and by its label', async () => {
    await backend.openInput({ chip: 'gpiochip0', line: 17 });
    await expect(backend.openInput({ chip: 'pinctrl-bcm2711', line: 17 })).rejects.toThrow(
      /\(sysfs 529\) is already in use as gpiochip0:17/,
    );
    await backend.openOutput({ chip: 'raspberrypi-exp-gpio', line: 2 }, 1);
    expect(world.all.map((g) => [g.n, g.direction, g.value])).toEqual([
      [529, 'in', 1],
      [572, 'high', 1],
    ]);
  });

  it('faults a line on a watch error and recovers it with the next value', async () => {
    const ref = { chip: 'gpiochip0', line: 17 };
    const seen: string[] = [];
    backend.on('edge', (e) => seen.push(`edge ${e.level}`));
    backend.on('fault', (r, err) => seen.push(`fault ${lineKey(r)}: ${err.message}`));
    backend.on('recovered', (r) => seen.push(`recovered ${lineKey(r)}`));
    await backend.openInput(ref);
    world.gpio(529).fail(new Error('EIO: epoll failed'));
    world.gpio(529).fail(new Error('EIO: epoll failed'));
    world.gpio(529).fire(0);
    expect(seen).toEqual([
      'fault gpiochip0:17: GPIO line error: watching gpiochip0:17 (sysfs 529) failed: EIO: epoll failed',
      'recovered gpiochip0:17',
      'edge 0',
    ]);
  });

  it('refuses line names, and reports a line the kernel will not export', async () => {
    await expect(backend.openInput({ chip: 'gpiochip0', line: 'PANIC' })).rejects.toThrow(/sysfs has no line names/);
    const other = new OnoffBackend({ sysfsRoot: root, gpioFactory: world.factory });
    await other.openInput({ chip: 'gpiochip0', line: 4 });
    await expect(backend.openInput({ chip: 'gpiochip0', line: 4 })).rejects.toThrow(
      /cannot open gpiochip0:4 as sysfs GPIO 516: EBUSY/,
    );
    await other.close();
  });
});
