// One contract for every GPIO backend (sim, gpiod, onoff), like MQTT.js's abstract_store: each
// backend runs the same cases against its own fake outside world. Backend-specific behaviour
// (gpiod's process supervision and parsing, sysfs numbering, onoff watch faults) is tested in
// test/unit/gpio-hardware-backends.test.ts. The gpiod backend runs the real libgpiod v1.6 tools
// over a shimmed kernel (test/fixtures/gpio/gpiosim.ts).
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { uptimeMs } from '../../agent/clock.js';
import { type Edge, type GpioBackend, type LineRef, lineKey } from '../../drivers/gpio/backend.js';
import { GpiodBackend } from '../../drivers/gpio/gpiod.js';
import { OnoffBackend } from '../../drivers/gpio/onoff.js';
import { SimGpioBackend } from '../../drivers/gpio/sim.js';
import { GpiodSimWorld } from '../fixtures/gpio/gpiosim.js';
import { FakeOnoffWorld, isAlive, makeSysfsTree, PI4_CHIPS, waitFor } from '../fixtures/gpio/harness.js';

interface Harness {
  backend: GpioBackend;
  /** Two inputs and an output, all different lines; `bad` cannot be opened (busy or missing). */
  lines: { a: LineRef; b: LineRef; out: LineRef; bad: LineRef };
  /** The outside world changes an open input line to `level`. */
  drive(ref: LineRef, level: 0 | 1): Promise<void>;
  /** Resolves once the outside world sees the output line at `level`; fails if it never does. */
  expectOutput(ref: LineRef, level: 0 | 1): Promise<void>;
  /** Called after close(): asserts the backend holds no line, process or export. */
  assertReleased(): Promise<void>;
  dispose(): Promise<void>;
}

/** Builds a backend whose input lines start at `initial`. */
type MakeHarness = (initial: 0 | 1) => Promise<Harness>;

const LINES = {
  a: { chip: 'gpiochip0', line: 17 },
  b: { chip: 'gpiochip0', line: 27 },
  out: { chip: 'gpiochip0', line: 22 },
  bad: { chip: 'gpiochip0', line: 5 },
};
const offset = (ref: LineRef): number => ref.line as number;

function describeGpioBackendContract(name: string, make: MakeHarness): void {
  describe(`GpioBackend contract: ${name}`, () => {
    let h: Harness | undefined;
    const harness = async (initial: 0 | 1 = 1): Promise<Harness> => {
      h = await make(initial);
      return h;
    };
    afterEach(async () => {
      await h?.backend.close();
      await h?.dispose();
      h = undefined;
    });

    it.each([0, 1] as const)('reads the initial level %i of an input', async (initial) => {
      const { backend, lines } = await harness(initial);
      const input = await backend.openInput(lines.a);
      expect(input.ref).toEqual(lines.a);
      expect(await input.read()).toBe(initial);
    });

    it('reports the level read at open, stamped with the time of the read', async () => {
      const { backend, lines } = await harness(0);
      const before = uptimeMs();
      const input = await backend.openInput(lines.a);
      expect(input.opened.level).toBe(0);
      expect(input.opened.uptimeMs).toBeGreaterThanOrEqual(before - 1);
      expect(input.opened.uptimeMs).toBeLessThanOrEqual(uptimeMs() + 1);
    });

    it('refuses a line it cannot open with WG_ERR_GPIO_LINE, and the other lines still work', async () => {
      const { backend, lines, drive } = await harness(1);
      const levels: number[] = [];
      backend.on('edge', (e) => levels.push(e.level));
      await expect(backend.openInput(lines.bad)).rejects.toMatchObject({ code: 'WG_ERR_GPIO_LINE' });
      await backend.openInput(lines.a);
      await drive(lines.a, 0);
      await waitFor('an edge', () => levels.length > 0);
      expect(levels).toEqual([0]);
    });

    it('delivers an edge with its level, the ref it was opened with, and its time', async () => {
      const { backend, lines, drive } = await harness(1);
      const edges: Edge[] = [];
      backend.on('edge', (e) => edges.push(e));
      const a = await backend.openInput(lines.a);
      await backend.openInput(lines.b);
      const before = uptimeMs();
      await drive(lines.a, 0);
      const [edge] = await waitFor('an edge', () => edges.length > 0 && edges);
      expect(edge).toMatchObject({ ref: lines.a, level: 0 });
      expect(edge?.uptimeMs).toBeGreaterThanOrEqual(before - 1);
      expect(edge?.uptimeMs).toBeLessThanOrEqual(uptimeMs() + 1);
      const wallAtEdge = Date.now() - (uptimeMs() - (edge?.uptimeMs ?? 0));
      expect(Math.abs((edge?.ts ?? 0) - wallAtEdge)).toBeLessThan(50);
      expect(await a.read()).toBe(0);
      expect(edges).toHaveLength(1); // line b saw nothing
    });

    it('delivers successive edges in order', async () => {
      const { backend, lines, drive } = await harness(1);
      const levels: number[] = [];
      backend.on('edge', (e) => levels.push(e.level));
      await backend.openInput(lines.a);
      for (const level of [0, 1, 0] as const) await drive(lines.a, level);
      await waitFor('three edges', () => levels.length >= 3);
      expect(levels).toEqual([0, 1, 0]);
    });

    it('refuses to open a line that is already open, as input or output', async () => {
      const { backend, lines } = await harness(1);
      await backend.openInput(lines.a);
      await expect(backend.openInput(lines.a)).rejects.toThrow(/already in use/);
      await expect(backend.openOutput(lines.a, 0)).rejects.toThrow(/already in use/);
      await backend.openOutput(lines.out, 0);
      await expect(backend.openOutput(lines.out, 1)).rejects.toThrow(/already in use/);
      await expect(backend.openInput(lines.out)).rejects.toThrow(/already in use/);
    });

    it('drives an output at its initial level, then at each level written', async () => {
      const { backend, lines, expectOutput } = await harness(1);
      const out = await backend.openOutput(lines.out, 0);
      expect(out.level).toBe(0);
      await expectOutput(lines.out, 0);
      for (const level of [1, 0] as const) {
        await out.write(level);
        expect(out.level).toBe(level);
        await expectOutput(lines.out, level);
      }
    });

    it('close() releases every line and everything it started', async () => {
      const { backend, lines, assertReleased } = await harness(1);
      await backend.openInput(lines.a);
      const out = await backend.openOutput(lines.out, 1);
      await out.write(0);
      await backend.close();
      await assertReleased();
    });
  });
}

describeGpioBackendContract('sim', async (initial) => {
  const sim = new SimGpioBackend(initial);
  sim.failOpen(LINES.bad, 'line gpiochip0:5 is busy');
  return {
    backend: sim,
    lines: LINES,
    drive: async (ref, level) => sim.set(ref, level),
    expectOutput: async (ref, level) => expect(sim.level(ref)).toBe(level),
    // sim holds nothing outside memory; released means the outside world no longer reaches it.
    assertReleased: async () => {
      const level = sim.level(LINES.a);
      sim.set(LINES.a, level === 1 ? 0 : 1);
      expect(sim.level(LINES.a)).toBe(level);
    },
    dispose: async () => {},
  };
});

// The real gpiomon/gpioget/gpioset/gpiofind, their hardware calls shimmed.
describeGpioBackendContract('gpiod (real libgpiod 1.6 tools)', async (initial) => {
  const world = await GpiodSimWorld.create();
  for (const ref of [LINES.a, LINES.b]) world.setLevel(ref.chip, offset(ref), initial);
  // Another program holds the line: the kernel (here the shim) answers EBUSY.
  const blocker = await world.holdLine(LINES.bad.chip, offset(LINES.bad));
  return {
    backend: new GpiodBackend({ tools: world.tools, settleMs: 30 }),
    lines: LINES,
    drive: (ref, level) => world.drive(ref.chip, offset(ref), level),
    expectOutput: async (ref, level) => {
      await waitFor(`${lineKey(ref)} driven at ${level}`, () => world.driven(ref.chip, offset(ref)) === level);
    },
    assertReleased: async () => {
      expect(world.spawned('gpiomon').length).toBeGreaterThan(0);
      const ours = world.spawned().filter((p) => p.pid !== blocker);
      expect(ours.filter((p) => isAlive(p.pid))).toEqual([]);
    },
    dispose: () => world.dispose(),
  };
});

describeGpioBackendContract('onoff', async (initial) => {
  const root = await makeSysfsTree(PI4_CHIPS);
  const world = new FakeOnoffWorld(initial);
  const sysfs = (ref: LineRef) => 512 + offset(ref); // gpiochip0 is at base 512 in PI4_CHIPS
  world.claimed.add(sysfs(LINES.bad));
  return {
    backend: new OnoffBackend({ sysfsRoot: root, gpioFactory: world.factory }),
    lines: LINES,
    drive: async (ref, level) => world.gpio(sysfs(ref)).fire(level),
    expectOutput: async (ref, level) =>
      expect(world.gpio(sysfs(ref))).toMatchObject({ unexported: false, value: level }),
    assertReleased: async () => {
      expect(world.all.length).toBeGreaterThan(0);
      expect(world.all.filter((g) => !g.unexported || g.watched)).toEqual([]);
    },
    dispose: () => rm(root, { recursive: true, force: true }),
  };
});
