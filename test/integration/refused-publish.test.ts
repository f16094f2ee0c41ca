// A publish the broker refuses never blocks another device's alarm (issue 7 item 1). A real
// Mosquitto 2 with an ACL that forbids one panic button's topic answers its QoS 1 publishes with
// PUBACK 0x87 "not authorized" (MQTT 5). 80 presses on it fill the window many times over; a
// press on another button still reaches the control room; the refusal shows in /api/status, in
// the retained `health`, as one gateway.publish_rejected event, and drives a local output; once
// the ACL allows the topic (file rewritten, SIGHUP), the kept rows go out.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { hashToken } from '../../agent/web/auth.js';
import { startWeb } from '../../agent/web/server.js';
import { useCleanups } from '../helpers/cleanup.js';
import { TEST_TOKEN, tempDir, testConfigDoc } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();
const FORBIDDEN = 'wardgate/v1/test-gw/events/panic-button/panic-0';

interface RefusedStatus {
  code: string | null;
  rows: number;
  critical: number;
  topics: Array<{ topic: string; reasonCode: number; reason: string; critical: boolean }>;
}

describe('a topic the broker refuses', () => {
  it('never blocks another alarm, is reported everywhere, and goes out once the ACL allows it', async () => {
    const acl = join(tempDir('wg-acl-'), 'acl');
    // Anonymous clients (lines before any `user`): everything under wardgate/v1, but not panic-0.
    writeFileSync(acl, `topic readwrite wardgate/v1/#\ntopic deny ${FORBIDDEN}\n`);
    const broker = await new Mosquitto({ extra: [`acl_file ${acl}`, 'max_queued_messages 100000'] }).start();
    cleanup(() => broker.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanup(() => sub.close());

    const doc = testConfigDoc({ brokers: [broker.url], buttons: 2, inflight: 8 });
    (doc.mqtt as Record<string, unknown>).healthIntervalSec = 1;
    (doc.outbox as Record<string, unknown>).refusedRetrySec = 1;
    doc.outputs = [{ id: 'uplink-refused', line: 40 }];
    doc.actions = [{ on: 'gateway.publish_rejected', do: 'set', output: 'uplink-refused' }];
    const checked = checkConfig(doc);
    if (!checked.ok) throw new Error(checked.problems.join('; '));
    const agent = await Agent.start({ config: checked.config, log: createLogger('silent') });
    cleanup(() => agent.stop());
    const web = await startWeb(agent, {
      host: '127.0.0.1',
      port: 0,
      tokens: [hashToken(TEST_TOKEN)],
      log: createLogger('silent'),
    });
    cleanup(() => web.app.close());
    await waitFor(() => agent.uplink.connected, 10_000, 'connected');
    expect(agent.uplink.protocolVersion).toBe(5);

    // 80 presses (pressed + released: 160 refused rows) on the forbidden button: 20 windows' worth.
    const forbidden: string[] = [];
    const forbiddenSeqs: number[] = [];
    for (let i = 0; i < 80; i++) {
      for (const active of [true, false]) {
        const r = await agent.simulate('panic-0', 'button', active);
        forbidden.push(...r.accepted.map((e) => e.id));
        forbiddenSeqs.push(...r.accepted.map((e) => e.seq));
      }
    }
    expect(forbidden).toHaveLength(160);
    await waitFor(() => agent.outbox.refusedRows === 160, 20_000, 'every forbidden row refused');

    // The other button's alarm reaches the control room.
    const allowed = await agent.simulate('panic-1', 'button', true);
    const allowedId = allowed.accepted[0]?.id;
    await waitFor(() => sub.events().some((e) => e.id === allowedId), 10_000, 'the allowed alarm');
    expect(sub.events().filter((e) => e.device === 'panic-0')).toEqual([]);

    // Announced once, as a high event with topic, reason code and seq range.
    await waitFor(() => sub.events().some((e) => e.type === 'gateway.publish_rejected'), 10_000, 'announcement');
    const ann = sub.uniqueEvents().filter((e) => e.type === 'gateway.publish_rejected');
    expect(ann).toHaveLength(1);
    expect(ann[0]?.severity).toBe('high');
    expect(ann[0]?.data).toMatchObject({
      topic: FORBIDDEN,
      reasonCode: 0x87,
      reason: 'not authorized',
      critical: true,
    });
    // The range is the refused rows' own seqs (the first refusals, settled together).
    const range = ann[0]?.data as { seqFrom: number; seqTo: number } | undefined;
    expect(forbiddenSeqs).toContain(range?.seqFrom);
    expect(forbiddenSeqs).toContain(range?.seqTo);
    expect(range?.seqTo).toBeGreaterThanOrEqual(range?.seqFrom ?? Number.POSITIVE_INFINITY);

    // /api/status and the retained health say so; the local action drove its output.
    const res = await fetch(`${web.url}/api/status`, { headers: { authorization: `Bearer ${TEST_TOKEN}` } });
    const status = (await res.json()) as { outbox: { refused: RefusedStatus; lanes: Array<{ refused: number }> } };
    expect(status.outbox.refused).toMatchObject({
      code: 'WG_ERR_UPLINK_PUBLISH_REFUSED',
      rows: 160,
      topics: [{ topic: FORBIDDEN, reasonCode: 0x87, critical: true }],
    });
    expect(status.outbox.refused.critical).toBe(80);
    expect(status.outbox.lanes[0]?.refused).toBe(80);
    const healthRefused = (): RefusedStatus | undefined => {
      const h = sub.messages.filter((m) => m.topic === 'wardgate/v1/test-gw/health').at(-1);
      return h ? (JSON.parse(h.payload) as { outbox: { refused: RefusedStatus } }).outbox.refused : undefined;
    };
    await waitFor(() => healthRefused()?.rows === 160, 10_000, 'health with the refusal');
    expect(healthRefused()?.topics[0]).toMatchObject({ topic: FORBIDDEN, critical: true });
    expect(agent.outputs().find((o) => o.id === 'uplink-refused')?.active).toBe(true);

    // Retried on the slow schedule and refused again: still one announcement, rows still kept.
    const refusedBefore = agent.outbox.refusals.refusedTotal;
    await waitFor(() => agent.outbox.refusals.refusedTotal > refusedBefore, 10_000, 'a retry round');
    expect(agent.outbox.refusedRows).toBe(160);

    // The ACL is fixed: every kept row goes out on the next round.
    writeFileSync(acl, 'topic readwrite wardgate/v1/#\n');
    broker.proc?.kill('SIGHUP');
    await waitFor(
      () =>
        new Set(
          sub
            .events()
            .filter((e) => e.device === 'panic-0')
            .map((e) => e.id),
        ).size === 160,
      20_000,
      'the refused rows delivered',
    );
    await waitFor(() => agent.outbox.refusedRows === 0 && agent.outbox.depth === 0, 10_000, 'outbox empty');
    expect(
      new Set(
        sub
          .events()
          .filter((e) => e.device === 'panic-0')
          .map((e) => e.id),
      ),
    ).toEqual(new Set(forbidden));
    expect(agent.outbox.refusals.list()).toEqual([]);
    expect(sub.uniqueEvents().filter((e) => e.type === 'gateway.publish_rejected')).toHaveLength(1);
  }, 90_000);
});
