// WAL checkpoints on wardgate's schedule: at idle moments on the main connection, and from a
// worker thread only while the box is never idle. The scheduler's clock and interval are fake
// (vi fake timers for Date and setInterval only; commits still run on real setImmediate turns), so
// "idle" and "busy" mean the same on a loaded machine (issue 7: the idle case failed under load,
// when real commits were slow enough to look like a box that is never idle).
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeEvent } from '../../agent/event.js';
import { createLogger } from '../../agent/log.js';
import { Outbox } from '../../agent/outbox/store.js';
import { tempDir } from '../helpers/config.js';

const src = { gateway: 'g', site: 's', clockSynced: () => true };
const ev = (n: number) =>
  makeEvent(src, { device: 'd', deviceType: 'panic-button', type: 'input.active', data: { n, pad: 'x'.repeat(500) } });

function open(dir: string) {
  return new Outbox({
    dataDir: dir,
    maxBytes: 1e9,
    checkpointIntervalMs: 100,
    checkpoint: { idleMs: 250, busyBytes: 1024 * 1024, busyAfterMs: 1500 },
    log: createLogger('fatal'),
    gatewayEvent: (i) => makeEvent(src, { ...i, device: 'g', deviceType: 'gateway' }),
    topicOf: (e) => `events/${e.deviceType}/${e.device}`,
  });
}

describe('outbox checkpoints', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date', 'setInterval', 'clearInterval'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a WAL grown past busyBytes by a burst is checkpointed from the worker at the idle moment, then truncated', async () => {
    const dir = tempDir();
    const o = open(dir);
    await Promise.all(Array.from({ length: 20_000 }, (_, i) => o.accept(ev(i))));
    const wal = join(dir, 'outbox.db-wal');
    expect(statSync(wal).size).toBeGreaterThan(8 * 1024 * 1024); // the commits did not checkpoint
    vi.advanceTimersByTime(200); // quiet, but not yet for idleMs (250)
    expect(o.checkpointer?.workerStarts).toBe(0);
    vi.advanceTimersByTime(100);
    // Copying ~12 MiB of pages on the event loop would hold the next alarm for it: the worker does.
    expect(o.checkpointer?.workerStarts).toBe(1);
    expect(o.checkpointer?.idleCheckpoints).toBe(0);
    expect(o.checkpointer?.workerBusy).toBe(true); // its answer needs a turn of the event loop
    const until = performance.now() + 15_000; // real time: the worker's checkpoint is real I/O
    while ((o.checkpointer?.workerBusy || statSync(wal).size > 0) && performance.now() < until)
      await new Promise((r) => setTimeout(r, 20));
    expect(o.checkpointer?.workerBusy).toBe(false);
    expect(statSync(wal).size).toBe(0); // caught up, and past the 8 MiB kept: truncated
    expect(o.depth).toBe(20_000);
    vi.useRealTimers();
    await o.close();
  }, 20_000);

  it('a WAL under busyBytes is checkpointed at the idle moment on the main connection, without a worker', async () => {
    const dir = tempDir();
    const o = open(dir);
    await Promise.all(Array.from({ length: 1000 }, (_, i) => o.accept(ev(i)))); // one commit, ~0.6 MiB
    vi.advanceTimersByTime(300);
    expect(o.checkpointer?.idleCheckpoints).toBe(1);
    expect(o.checkpointer?.workerStarts).toBe(0);
    await o.close();
  });

  it('a small WAL is checkpointed at an idle moment but kept, and the next commits overwrite it', async () => {
    const dir = tempDir();
    const o = open(dir);
    const wal = join(dir, 'outbox.db-wal');
    for (let i = 0; i < 40; i++) await o.accept(ev(i)); // one commit each, under the small path's 1 MiB
    const size = statSync(wal).size;
    expect(size).toBeGreaterThan(40 * 4096);
    expect(o.checkpointer?.smallCheckpoints).toBe(0);
    vi.advanceTimersByTime(300);
    expect(o.checkpointer?.idleCheckpoints).toBe(1);
    expect(statSync(wal).size).toBe(size); // not truncated: kept for reuse
    for (let i = 0; i < 20; i++) await o.accept(ev(i));
    expect(statSync(wal).size).toBe(size); // the log started over inside the file
    expect(o.depth).toBe(60);
    await o.close();
  });

  it('small commits (alarms one at a time) checkpoint on the main connection every ~1 MiB: the WAL stays small', async () => {
    const dir = tempDir();
    const o = open(dir);
    const wal = join(dir, 'outbox.db-wal');
    for (let i = 0; i < 1000; i++) await o.accept(ev(i));
    const size = statSync(wal).size;
    // Appending, 1,000 commits of a row and its index entry would be ~8 MiB.
    expect(size).toBeLessThan(2 * 1024 * 1024);
    const small = o.checkpointer?.smallCheckpoints ?? 0;
    expect(small).toBeGreaterThan(5);
    for (let i = 0; i < 1000; i++) await o.accept(ev(i));
    // Reused: 1,000 more commits leave it within a few frames of its size (one cycle may end a
    // commit later than another), not 8 MiB bigger.
    expect(statSync(wal).size).toBeLessThan(size + 64 * 1024);
    expect(o.checkpointer?.smallCheckpoints).toBeGreaterThan(small);
    expect(o.checkpointer?.idleCheckpoints).toBe(0);
    expect(o.checkpointer?.workerStarts).toBe(0);
    expect(o.depth).toBe(2000);
    await o.close();
  });

  it('starts a worker when writes never pause, and the data stays intact', async () => {
    const dir = tempDir();
    const o = open(dir);
    const until = Date.now() + 3000;
    let n = 0;
    while (Date.now() < until) {
      await Promise.all(Array.from({ length: 50 }, () => o.accept(ev(n++))));
      vi.advanceTimersByTime(20); // busy: never 250 ms without a write
    }
    expect(o.checkpointer?.workerStarts).toBe(1);
    expect(o.checkpointer?.workerRunning).toBe(true);
    expect(o.checkpointer?.busyCheckpoints).toBeGreaterThan(0);
    expect(o.checkpointer?.idleCheckpoints).toBe(0);
    expect(o.depth).toBe(n);
    vi.useRealTimers(); // the worker's own stop timeout is real
    await o.close();
    const again = open(dir);
    expect(again.depth).toBe(n);
    expect(again.lastSeq).toBe(n);
    await again.close();
  }, 20_000);
});
