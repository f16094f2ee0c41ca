// The `gpiod` backend's own behaviour beyond the shared contract (test/contract/gpio-backend.test.ts):
// process supervision (restarts, backoff, stable interval), output parsing, name lookup, overflow
// re-reads and the tools' version — the real libgpiod 1.6 tools over a shimmed kernel. The `onoff`
// backend and sysfs numbering: test/unit/gpio-onoff-sysfs.test.ts.
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Edge, lineKey } from '../../drivers/gpio/backend.js';
import { GpiodBackend, type GpiodOptions } from '../../drivers/gpio/gpiod.js';
import { edgeTimes, GpiomonParser, type MonitorEvent } from '../../drivers/gpio/gpiod-tools.js';
import { GpiodSimWorld } from '../fixtures/gpio/gpiosim.js';
import { isAlive, waitFor } from '../fixtures/gpio/harness.js';

describe('GpiodBackend', () => {
  const L17 = { chip: 'gpiochip0', line: 17 };
  let world: GpiodSimWorld;
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
    b.on('level', (r) => events.push(`level ${r.level} ${r.cause}`));
    b.on('fault', (ref, err) => events.push(`fault ${lineKey(ref)}: ${err.message}`));
    b.on('recovered', (ref) => events.push(`recovered ${lineKey(ref)}`));
    backend = b;
    return b;
  };
  const logged = (msg: string) => logs.filter((l) => l.msg === msg);
  beforeEach(async () => {
    world = await GpiodSimWorld.create({ gpiochip0: 54 });
    world.setLevel('gpiochip0', 17, 1);
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

  it('reads unpadded nanoseconds and skips lines that are not events', () => {
    const got: MonitorEvent[] = [];
    const junk: string[] = [];
    const parser = new GpiomonParser(
      (e) => got.push(e),
      (j) => junk.push(j),
    );
    expect(parser.push('Monitoring line 17 ...\n17 0 12')).toBe(0);
    expect(parser.push('3 5000\n17 2 1 1\n17 1 124 0\n')).toBe(2);
    expect(got).toEqual([
      { offset: 17, level: 0, sec: 123, nsec: 5000 }, // 5000 ns, not .5 s
      { offset: 17, level: 1, sec: 124, nsec: 0 },
    ]);
    expect(junk).toEqual(['Monitoring line 17 ...', '17 2 1 1']);
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
    world.setLevel('gpiochip0', 17, 0); // the button is pressed while nothing watches it
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
    // The level read before the new monitor: the model learns of the press it could not see.
    expect(events.slice(1)).toEqual(['level 0 recovered', 'recovered gpiochip0:17']);
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

  it('a gpiomon that keeps dying after it settled is restarted ever more slowly: one outage, not a storm', async () => {
    const b = make({ restartBackoffMs: { min: 100, max: 400 }, stableMs: 5000 });
    await b.openInput(L17);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const delays = () => logged('restarting GPIO helper').map((l) => l.delayMs as number);
    // Six times: the monitor settles (its settle timer runs out), then dies before stableMs.
    for (let n = 1; n <= 6; n++) {
      const pid = await waitFor('a settled monitor', () => world.monitorPid('gpiochip0', 17));
      await vi.advanceTimersByTimeAsync(30);
      await waitFor(`monitor ${n} reading its queue`, () => world.crashMonitor('gpiochip0', 17));
      await waitFor(`restart ${n} scheduled`, () => delays().length === n && !isAlive(pid));
      await vi.advanceTimersByTimeAsync(delays().at(-1) ?? 0);
    }
    expect(delays()).toEqual([100, 200, 400, 400, 400, 400]);
    // Recovered once, after the first restart; the later ones must first last stableMs.
    expect(events.filter((e) => e.startsWith('fault'))).toHaveLength(2);
    expect(events.filter((e) => e.startsWith('recovered'))).toHaveLength(1);
    await waitFor('a settled monitor', () => world.monitorPid('gpiochip0', 17));
    await vi.advanceTimersByTimeAsync(30);
    await vi.advanceTimersByTimeAsync(4900);
    expect(events.filter((e) => e.startsWith('recovered'))).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(100);
    await waitFor('recovered for good', () => events.filter((e) => e.startsWith('recovered')).length === 2);
    // Stable now: the next death restarts after the minimum again.
    await waitFor('the monitor reading its queue', () => world.crashMonitor('gpiochip0', 17));
    await waitFor('restart 7', () => delays().length === 7);
    expect(delays().at(-1)).toBe(100);
    // Every restart read the level first (a release while blind would be seen).
    expect(events.filter((e) => e === 'level 1 recovered')).toHaveLength(6);
  });

  it('re-reads the level after a burst that may have overflowed the kernel queue', async () => {
    const b = make({ overflowQuietMs: 100 });
    await b.openInput(L17);
    const first = await waitFor('the monitor', () => world.monitorPid('gpiochip0', 17));
    // gpiomon falls behind while the line chatters: the kernel keeps 16 edges and drops the rest,
    // the last one (the line settles low) included.
    await waitFor('the monitor reading its queue', () => world.stall('gpiochip0', 17, 300));
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 40; i++) world.edge('gpiochip0', 17, i % 2 === 0 ? 0 : 1, t0 + BigInt(i) * 1_000_000n);
    world.edge('gpiochip0', 17, 0, t0 + 41_000_000n);
    await waitFor('16 edges', () => events.filter((e) => e.startsWith('edge')).length === 16);
    expect(events.filter((e) => e.startsWith('edge')).at(-1)).toBe('edge 1'); // stale: the line is low
    await waitFor('the re-read', () => events.includes('level 0 overflow'));
    const second = await waitFor('a new monitor', () => world.monitorPid('gpiochip0', 17));
    expect(second).not.toBe(first);
    expect(b.stats()).toMatchObject({ overflowChecks: 1 });
    expect(events.filter((e) => e.startsWith('fault'))).toEqual([]); // a check, not an outage
  });

  it('keeps the kernel timestamps of edges read late in one chunk, and counts a repeated level as a lost edge', async () => {
    const b = make();
    await b.openInput(L17);
    const edges: Edge[] = [];
    b.on('edge', (e) => edges.push(e));
    await waitFor('the monitor', () => world.monitorPid('gpiochip0', 17));
    // A 300 ms press and its release, both read after a 200 ms stall: the times are the kernel's.
    await waitFor('the monitor reading its queue', () => world.stall('gpiochip0', 17, 200));
    const t0 = process.hrtime.bigint();
    world.edge('gpiochip0', 17, 0, t0);
    world.edge('gpiochip0', 17, 1, t0 + 300_000_000n);
    world.edge('gpiochip0', 17, 1, t0 + 310_000_000n); // the falling edge between was lost
    await waitFor('three edges', () => edges.length === 3);
    const ms = Number(t0 / 1_000_000n) + Number(t0 % 1_000_000n) / 1e6;
    expect(edges.map((e) => [e.level, Math.round(e.uptimeMs - ms)])).toEqual([
      [0, 0],
      [1, 300],
      [1, 310],
    ]);
    expect(b.stats().lostEdges).toBe(1);
  });

  it('refuses the libgpiod v2 tools with a clear error', async () => {
    // No v2 tool is installed here: a stand-in that only answers --version as v2.1 does.
    const dir = await mkdtemp(join(tmpdir(), 'wardgate-gpiod-v2-'));
    const gpiomon = join(dir, 'gpiomon');
    await writeFile(
      gpiomon,
      '#!/bin/sh\necho "gpiomon (libgpiod) v2.1.3"\necho "Copyright (C) 2017-2023 Bartosz Golaszewski"\n',
    );
    await chmod(gpiomon, 0o755);
    try {
      const b = make({ tools: { ...world.tools, gpiomon } });
      await expect(b.openInput(L17)).rejects.toThrow(
        /gpiomon is libgpiod v2\.1; the gpiod backend needs the v1\.6 tools .*or use gpio\.backend: onoff/,
      );
      await expect(b.openOutput({ chip: 'gpiochip0', line: 22 }, 0)).rejects.toMatchObject({
        code: 'WG_ERR_GPIO_LINE',
      });
      expect(world.spawned()).toEqual([]); // nothing was run with options v2 does not know
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
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
