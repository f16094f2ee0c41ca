// Retained device state (agent/uplink/retained.ts): a button's snapshot is taken when the
// coalesced publish goes out, STATE_COALESCE_MS after the first change, not on the alarm's path.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../agent/log.js';
import type { Uplink } from '../../agent/uplink/mqtt.js';
import { RetainedPublisher, STATE_COALESCE_MS } from '../../agent/uplink/retained.js';

const nextTurn = () => vi.advanceTimersByTimeAsync(STATE_COALESCE_MS);

function publisher() {
  const sent: Array<{ topic: string; payload: string }> = [];
  const uplink = {
    connected: true,
    publish: vi.fn((topic: string, payload: string) => {
      sent.push({ topic, payload });
      return Promise.resolve();
    }),
  } as unknown as Uplink;
  const r = new RetainedPublisher(uplink, { prefix: 'wardgate/v1', gateway: 'gw' }, createLogger('fatal'));
  return { r, sent };
}

describe('retained device state', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends nothing in the turn of the change: one batch when the window ends, a press and its release as one', async () => {
    const { r, sent } = publisher();
    r.setStateOf('panic-1', () => ({ state: 'pressed' }));
    r.setStateOf('door-2', () => ({ state: 'open' }));
    await vi.advanceTimersByTimeAsync(STATE_COALESCE_MS - 1);
    expect(sent).toHaveLength(0);
    r.setStateOf('panic-1', () => ({ state: 'released' }));
    await vi.advanceTimersByTimeAsync(1);
    expect(sent.map((m) => [m.topic.split('/').pop(), JSON.parse(m.payload).state])).toEqual([
      ['panic-1', 'released'],
      ['door-2', 'open'],
    ]);
    r.setState('door-2', { state: 'closed' }); // a later change opens a new window
    await vi.advanceTimersByTimeAsync(STATE_COALESCE_MS);
    expect(sent).toHaveLength(3);
  });

  it('takes a snapshot once per turn, at the publish, with the latest state', async () => {
    const { r, sent } = publisher();
    let state = 'pressed';
    const snapshot = vi.fn(() => ({ state }));
    r.setStateOf('panic-1', snapshot);
    state = 'released';
    r.setStateOf('panic-1', snapshot);
    expect(snapshot).not.toHaveBeenCalled(); // nothing built on the alarm's path
    await nextTurn();
    expect(snapshot).toHaveBeenCalledTimes(1);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.topic).toMatch(/state\/panic-1$/);
    expect(JSON.parse(sent[0]?.payload ?? '')).toEqual({ state: 'released' });
  });

  it('republishes the snapshots after a reconnect, taking any still pending', async () => {
    const { r, sent } = publisher();
    r.setState('door-1', { state: 'closed' });
    await nextTurn();
    r.setStateOf('panic-2', () => ({ state: 'idle' }));
    r.republishAll(); // before the flush: the pending snapshot is taken now
    expect(sent.map((s) => s.topic.split('/').pop()).sort()).toEqual(['door-1', 'door-1', 'panic-2']);
    await nextTurn();
    expect(sent).toHaveLength(3); // the pending batch does not send them again
  });

  it('a device removed before its flush is cleared, not published', async () => {
    const { r, sent } = publisher();
    const snapshot = vi.fn(() => ({ state: 'idle' }));
    r.setStateOf('panic-3', snapshot);
    r.clearState('panic-3');
    await nextTurn();
    expect(snapshot).not.toHaveBeenCalled();
    expect(sent).toEqual([{ topic: expect.stringMatching(/state\/panic-3$/), payload: '' }]);
  });

  it('a snapshot that throws is logged and the other devices still go out', async () => {
    const { r, sent } = publisher();
    r.setStateOf('bad', () => {
      throw new Error('boom');
    });
    r.setStateOf('good', () => ({ state: 'idle' }));
    await nextTurn();
    expect(sent.map((s) => s.topic.split('/').pop())).toEqual(['good']);
  });
});
