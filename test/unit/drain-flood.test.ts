// Under a flood (bulk commits back to back), committing comes before publishing: the drain's
// telemetry refills come at most every 25 ms, so the accept path keeps the loop; an alarm's commit
// refills at once, and so does any refill while alarms queued earlier are still in the outbox.
// Without bulk commits, a refill follows the acknowledgements at once.
// (vi fakes performance.now and timeouts; commits and settles run on real setImmediate turns.)
import { afterEach, describe, expect, it, vi } from 'vitest';
import { makeEvent, type NewEvent, type Severity } from '../../agent/event.js';
import { createLogger } from '../../agent/log.js';
import { Drain, type DrainTarget } from '../../agent/outbox/drain.js';
import { FLOOD_ROWS, type Outbox } from '../../agent/outbox/store.js';
import type { PublishOptions } from '../../agent/uplink/mqtt.js';
import { testOutbox, testSource } from '../helpers/outbox.js';

const ev = (severity: Severity, n = 0): NewEvent =>
  makeEvent(testSource, { device: `d${n}`, deviceType: 'panic-button', type: 'panic.pressed', severity, data: { n } });
const turn = () => new Promise((r) => setImmediate(r));

class Target implements DrainTarget {
  connected = true;
  readonly sent: Array<{ payload: string; done: (err?: Error) => void }> = [];
  publish(): Promise<void> {
    throw new Error('the drain uses send()');
  }
  send(_topic: string, payload: string, _opts: PublishOptions, done: (err?: Error) => void): void {
    this.sent.push({ payload, done });
  }
  ackAll(): void {
    for (const s of this.sent.splice(0)) s.done();
  }
}

const WINDOW = 8;
function setup(): { o: Outbox; t: Target; d: Drain } {
  const o = testOutbox();
  const t = new Target();
  const d = new Drain(o, t, {
    window: WINDOW,
    fullTopic: (s) => `wardgate/v1/g/${s}`,
    clockSynced: () => true,
    telemetryExpirySec: 0,
    log: createLogger('fatal'),
  });
  d.resume();
  return { o, t, d };
}

let open: Outbox | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await open?.close();
  open = undefined;
});

describe('the drain under a flood', () => {
  it('spaces telemetry refills 25 ms apart after a bulk commit; an alarm goes out at once', async () => {
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
    const { o, t, d } = setup();
    open = o;
    await Promise.all(Array.from({ length: FLOOD_ROWS * 2 }, (_, i) => o.accept(ev('normal', i))));
    expect(t.sent).toHaveLength(WINDOW); // the first refill after the bulk commit
    let sent = WINDOW;
    t.ackAll();
    for (let i = 0; i < 5; i++) await turn(); // the deletes commit; the refill they wake waits
    expect(t.sent).toHaveLength(0);
    expect(d.yielded).toBeGreaterThan(0);

    // An alarm accepted meanwhile is published by its own commit, ahead of the telemetry.
    const alarm = await o.accept(ev('critical', 999));
    expect(t.sent.map((s) => JSON.parse(s.payload).seq)).toContain(alarm.seq);
    sent += t.sent.length;
    t.ackAll();
    for (let i = 0; i < 5; i++) await turn();

    await vi.advanceTimersByTimeAsync(24);
    const before = t.sent.length;
    await vi.advanceTimersByTimeAsync(2);
    expect(t.sent.length).toBeGreaterThan(before); // the refill came at 25 ms
    sent += t.sent.length;
    expect(sent).toBeLessThanOrEqual(FLOOD_ROWS * 2 + 1);
  });

  it('holds nothing back while alarms queued earlier are still in the outbox', async () => {
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
    const { o, t, d } = setup();
    open = o;
    d.pause(); // an outage: alarms queue, then a flood of telemetry
    await Promise.all(Array.from({ length: WINDOW + 2 }, (_, i) => o.accept(ev('critical', i))));
    await Promise.all(Array.from({ length: FLOOD_ROWS * 2 }, (_, i) => o.accept(ev('normal', 100 + i))));
    d.resume();
    expect(t.sent).toHaveLength(WINDOW); // the oldest alarms first
    t.ackAll();
    for (let i = 0; i < 5 && t.sent.length === 0; i++) await turn();
    // Two alarms were still waiting: the refill comes at once, not 25 ms later.
    expect(t.sent).toHaveLength(WINDOW);
    expect(t.sent.slice(0, 2).map((s) => JSON.parse(s.payload).severity)).toEqual(['critical', 'critical']);
    expect(d.yielded).toBe(0);
  });

  it('refills at once after the acknowledgements when commits are small', async () => {
    vi.useFakeTimers({ toFake: ['performance', 'setTimeout', 'clearTimeout'] });
    const { o, t, d } = setup();
    open = o;
    await Promise.all(Array.from({ length: FLOOD_ROWS - 1 }, (_, i) => o.accept(ev('normal', i))));
    expect(t.sent).toHaveLength(WINDOW);
    t.ackAll();
    for (let i = 0; i < 5 && t.sent.length === 0; i++) await turn();
    expect(t.sent).toHaveLength(WINDOW); // no timer involved
    expect(d.yielded).toBe(0);
  });
});
