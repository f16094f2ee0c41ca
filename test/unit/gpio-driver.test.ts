// The GPIO driver over the sim backend: every line stands alone (a line that cannot be opened, or
// that floods, never stops the others), a level read after any gap is a `resync`, no edge is lost
// at start, and outputs are left at their safe state. Fake timers drive the backoffs and quiet
// periods. The same with the real libgpiod tools: test/contract/gpio-driver-real-tools.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { type LineRef, lineKey } from '../../drivers/gpio/backend.js';
import {
  GpioDriver,
  type GpioDriverOptions,
  type GpioReadingValue,
  type OutputSpec,
} from '../../drivers/gpio/driver.js';
import { SimGpioBackend } from '../../drivers/gpio/sim.js';
import type { DriverContext, Reading } from '../../drivers/types.js';

const A = { chip: 'gpiochip0', line: 17 };
const B = { chip: 'gpiochip0', line: 27 };
const BAD = { chip: 'gpiochip0', line: 5 };
const OUT = { chip: 'gpiochip0', line: 22 };

let readings: Reading[];
let failed: Error[];
let sims: SimGpioBackend[];
let nextLevel: 0 | 1;
let configure: (sim: SimGpioBackend) => void;

function ctx(): DriverContext {
  return {
    log: createLogger('fatal'),
    signal: new AbortController().signal,
    emit: (r) => readings.push(r),
    fail: (err) => failed.push(err),
  };
}

function driver(inputs: LineRef[], outputs: OutputSpec[] = [], opts: GpioDriverOptions = {}): GpioDriver {
  return new GpioDriver(
    () => {
      const sim = new SimGpioBackend(nextLevel);
      configure(sim);
      sims.push(sim);
      return sim;
    },
    inputs,
    outputs,
    { reopenBackoffMs: { min: 1000, max: 4000 }, ...opts },
  );
}

const sim = () => sims.at(-1) as SimGpioBackend;
/** "point kind[ level][ cause]" per reading, for compact expectations. */
const seen = (point?: LineRef) =>
  readings
    .filter((r) => point === undefined || r.point === lineKey(point))
    .map((r) => {
      const v = r.value as GpioReadingValue;
      const detail = 'level' in v ? ` ${v.level}` : v.kind === 'flood' ? ` ${v.edgesPerSec}` : '';
      return `${r.point} ${v.kind}${detail}${v.kind === 'resync' ? ` ${v.cause}` : ''}`;
    });

beforeEach(() => {
  vi.useFakeTimers();
  readings = [];
  failed = [];
  sims = [];
  nextLevel = 1;
  configure = () => {};
});
afterEach(() => {
  vi.useRealTimers();
});

describe('GpioDriver', () => {
  it('a line that cannot be opened is faulted alone and reopened with its own backoff', async () => {
    configure = (s) => s.failOpen(BAD, 'line gpiochip0:5 is busy');
    const d = driver([BAD, A]);
    await d.start(ctx());
    expect(failed).toEqual([]);
    expect(readings.map((r) => r.value)).toEqual([
      { kind: 'fault', error: expect.stringContaining('line gpiochip0:5 is busy'), code: 'WG_ERR_GPIO_LINE' },
      { kind: 'initial', level: 1 },
    ]);
    expect(d.health()).toMatchObject({
      state: 'degraded',
      lastErrorCode: 'WG_ERR_GPIO_LINE',
      counters: { faultedLines: 1 },
    });
    sim().set(A, 0);
    expect(seen(A).at(-1)).toBe('gpiochip0:17 edge 0');
    await vi.advanceTimersByTimeAsync(1000 + 2000); // two failed retries: one fault report only
    expect(seen(BAD)).toHaveLength(1);
    sim().failOpen(BAD, undefined);
    await vi.advanceTimersByTimeAsync(3999);
    expect(seen(BAD)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(seen(BAD)).toEqual(['gpiochip0:5 fault', 'gpiochip0:5 initial 1']);
    expect(d.health()).toMatchObject({ state: 'running', counters: { faultedLines: 0 } });
    await d.stop();
  });

  it('after a restart, a held button is a resync, not a second initial; a release while blind too', async () => {
    const d = driver([A]);
    await d.start(ctx());
    sim().set(A, 0); // pressed
    await d.stop();
    nextLevel = 0; // still held while nothing watched
    await d.start(ctx());
    await d.stop();
    nextLevel = 1; // released while nothing watched
    await d.start(ctx());
    expect(seen(A)).toEqual([
      'gpiochip0:17 initial 1',
      'gpiochip0:17 edge 0',
      'gpiochip0:17 recovered',
      'gpiochip0:17 resync 0 restart',
      'gpiochip0:17 recovered',
      'gpiochip0:17 resync 1 restart',
    ]);
    await d.stop();
  });

  it('delivers the edges that arrive while a line is opening, after its opening level', async () => {
    configure = (s) => {
      const open = s.openInput.bind(s);
      s.openInput = async (ref) => {
        const handle = await open(ref);
        s.set(ref, 0); // a short press as the line opens
        s.set(ref, 1);
        return handle;
      };
    };
    const d = driver([A]);
    await d.start(ctx());
    expect(seen(A)).toEqual(['gpiochip0:17 initial 1', 'gpiochip0:17 edge 0', 'gpiochip0:17 edge 1']);
    await d.stop();
  });

  it('quarantines a flooding line alone, and brings it back with its level once quiet', async () => {
    const d = driver([A, B], [], { flood: { limitPerSec: 100, quietMs: 5000 } });
    await d.start(ctx());
    readings = [];
    const t0 = 1_000_000;
    for (let i = 0; i < 500; i++) sim().set(A, i % 2 === 0 ? 0 : 1, { ts: Date.now(), uptimeMs: t0 + i });
    sim().set(B, 0);
    expect(seen(A).filter((s) => s.includes('edge'))).toHaveLength(100);
    expect(seen(A).filter((s) => !s.includes('edge'))).toEqual(['gpiochip0:17 flood 101']);
    expect(seen(B)).toEqual(['gpiochip0:27 edge 0']);
    expect(failed).toEqual([]);
    expect(d.health()).toMatchObject({ state: 'degraded', counters: { floodedLines: 1, droppedEdges: 400 } });
    // Still chattering at the first check: stays quarantined.
    sim().set(A, 1, { ts: Date.now(), uptimeMs: t0 + 2000 });
    for (let i = 0; i < 10; i++) sim().set(A, i % 2 === 0 ? 0 : 1, { ts: Date.now(), uptimeMs: t0 + 3000 + i });
    await vi.advanceTimersByTimeAsync(5000);
    expect(seen(A).at(-1)).toBe('gpiochip0:17 flood 101');
    await vi.advanceTimersByTimeAsync(5000);
    expect(seen(A).slice(-2)).toEqual(['gpiochip0:17 flood_cleared', 'gpiochip0:17 resync 1 recovered']);
    sim().set(A, 0, { ts: Date.now(), uptimeMs: t0 + 20_000 });
    expect(seen(A).at(-1)).toBe('gpiochip0:17 edge 0');
    expect(d.health()).toMatchObject({ state: 'running', counters: { floodedLines: 0 } });
    await d.stop();
  });

  it('drives every output at its safe state before releasing it, and at the level asked for after a restart', async () => {
    const d = driver(
      [],
      [
        { ref: OUT, initial: 0, safe: 0 },
        { ref: B, initial: 0, safe: 1 },
      ],
    );
    await d.start(ctx());
    await d.write(lineKey(OUT), 1);
    const first = sim();
    await d.stop();
    expect([first.level(OUT), first.level(B)]).toEqual([0, 1]);
    await d.start(ctx());
    expect([sim().level(OUT), sim().level(B)]).toEqual([1, 0]);
    await d.stop();
  });

  it('an output that cannot be opened is faulted alone; a write is kept and applied when it opens', async () => {
    configure = (s) => s.failOpen(OUT, 'no such expander');
    const d = driver([A], [{ ref: OUT, initial: 0 }]);
    await d.start(ctx());
    expect(seen(OUT)).toEqual(['gpiochip0:22 fault']);
    expect(seen(A)).toEqual(['gpiochip0:17 initial 1']);
    await expect(d.write(lineKey(OUT), 1)).rejects.toThrow(/no such expander.*driven at 1 when it opens/);
    sim().failOpen(OUT, undefined);
    await vi.advanceTimersByTimeAsync(1000);
    expect(seen(OUT)).toEqual(['gpiochip0:22 fault', 'gpiochip0:22 recovered']);
    expect(sim().level(OUT)).toBe(1);
    await d.stop();
  });
});
