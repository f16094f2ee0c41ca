// The alarm path (issue 13): an alarm is committed as soon as the code that made it returns (not
// after the event loop's next check phase), the drain is woken by that commit and takes the row
// from memory instead of reading it back, and each stage is stamped for /metrics and the bench.
import { describe, expect, it, vi } from 'vitest';
import { makeEvent, type NewEvent, type Severity } from '../../agent/event.js';
import { createLogger } from '../../agent/log.js';
import { Drain, type DrainTarget } from '../../agent/outbox/drain.js';
import type { Outbox } from '../../agent/outbox/store.js';
import { AlarmTimeline, STAGES, stageDurations } from '../../agent/outbox/timeline.js';
import type { PublishOptions } from '../../agent/uplink/mqtt.js';
import { testOutbox, testSource } from '../helpers/outbox.js';

const src = testSource;
const ev = (severity: Severity, n = 0): NewEvent =>
  makeEvent(src, { device: `d${n}`, deviceType: 'panic-button', type: 'panic.pressed', severity, data: { n } });

function open(timeline?: AlarmTimeline): Outbox {
  return testOutbox(timeline ? { timeline } : {});
}

/** A broker stand-in: records each publish and acknowledges it when told. */
class Target implements DrainTarget {
  connected = true;
  readonly sent: Array<{ topic: string; payload: string; done: (err?: Error) => void }> = [];
  flushes = 0;
  publish(): Promise<void> {
    throw new Error('the drain uses send()');
  }
  send(topic: string, payload: string, _opts: PublishOptions, done: (err?: Error) => void): void {
    this.sent.push({ topic, payload, done });
  }
  flushWrites(): void {
    this.flushes++;
  }
}

const drainOf = (o: Outbox, t: Target, window = 8, timeline?: AlarmTimeline) =>
  new Drain(o, t, {
    window,
    fullTopic: (s) => `wardgate/v1/g/${s}`,
    clockSynced: () => true,
    telemetryExpirySec: 0,
    log: createLogger('fatal'),
    ...(timeline ? { timeline } : {}),
  });

type Fetch = { stmts: { fetch: { all: (...a: unknown[]) => unknown[] } } };

describe('the alarm path', () => {
  it('commits an alarm before the next check phase; telemetry still waits for it (group commit)', async () => {
    const o = open();
    const order: string[] = [];
    setImmediate(() => order.push('check phase'));
    await o.accept(ev('critical')).then(() => order.push('alarm durable'));
    expect(order).toEqual(['alarm durable']); // the check phase has not come round yet
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['alarm durable', 'check phase']);

    const order2: string[] = [];
    setImmediate(() => order2.push('check phase'));
    await o.accept(ev('normal')).then(() => order2.push('telemetry durable'));
    expect(order2).toEqual(['check phase', 'telemetry durable']);
    await o.close();
  });

  it('publishes the alarm from the commit that wrote it, without reading it back, and puts it on the wire now', async () => {
    const o = open();
    const t = new Target();
    const d = drainOf(o, t);
    d.resume();
    const fetch = vi.spyOn((o as unknown as Fetch).stmts.fetch, 'all');
    const accepted = await o.accept(ev('critical', 1));
    expect(t.sent).toHaveLength(1); // sent by the time the accept resolves
    expect(JSON.parse(t.sent[0]?.payload as string)).toMatchObject({ seq: accepted.seq, device: 'd1' });
    expect(fetch).not.toHaveBeenCalled();
    expect(t.flushes).toBe(1);
    t.sent[0]?.done();
    await o.close();
  });

  it('reads older unsent rows first: memory is used only when everything before was read', async () => {
    const o = open();
    const t = new Target();
    t.connected = false;
    const d = drainOf(o, t, 1);
    d.resume();
    await Promise.all([o.accept(ev('critical', 1)), o.accept(ev('critical', 2))]); // queued offline
    t.connected = true;
    await o.accept(ev('critical', 3)); // a commit wakes the drain: seq 1 comes first, from the table
    d.pump();
    const seqs = () => t.sent.map((s) => (JSON.parse(s.payload) as { seq: number }).seq);
    expect(seqs()).toEqual([1]);
    for (let i = 0; i < 3; i++) {
      t.sent[i]?.done();
      await new Promise((r) => setImmediate(r));
    }
    expect(seqs()).toEqual([1, 2, 3]); // in seq order, none twice
    await o.close();
  });

  it('stamps every stage of an alarm, in order, and nothing for telemetry', async () => {
    const timeline = new AlarmTimeline();
    const done: Float64Array[] = [];
    timeline.onComplete((s) => done.push(s));
    const o = open(timeline);
    const t = new Target();
    drainOf(o, t, 8, timeline).resume();
    const alarm = ev('critical');
    timeline.edge();
    timeline.model(alarm);
    const tele = ev('normal', 2);
    timeline.model(tele);
    await Promise.all([o.accept(alarm), o.accept(tele)]);
    for (const s of t.sent) s.done();
    expect(done).toHaveLength(1);
    const stamps = [...(done[0] as Float64Array)];
    expect(stamps.every((x) => x > 0)).toBe(true);
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]).toBeGreaterThanOrEqual(stamps[i - 1] as number);
    expect(stageDurations(done[0] as Float64Array).map(([s]) => s)).toEqual(STAGES.slice(1));
    await o.close();
  });
});
