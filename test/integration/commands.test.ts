// Signed commands against a real Mosquitto with TLS, client certificates (scripts/provision-certs.sh)
// and the shipped ACL (config/mosquitto-wardgate.acl), issue 10: the gateway connects with mTLS;
// forged, expired, replayed (also across a restart), unknown-key, wrong-key and not-allowed
// commands are refused with their reason and nothing runs; a valid output.pulse runs exactly once;
// alarm.ack lights the LED and records who; the gateway cannot publish outside its prefix and a
// refusal blocks nothing. Every message published and every envelope sent is checked against
// docs/asyncapi.yaml.
import { describe, expect, it } from 'vitest';
import { signEnvelope } from '../../agent/commands/sign.js';
import type { Agent } from '../../agent/runtime.js';
import { type CentralPki, ControlRoom, centralBroker, contractErrors, provisionPki } from '../helpers/central.js';
import { useCleanups } from '../helpers/cleanup.js';
import { type GatewayKeys, gatewayDoc, LINES, startGateway } from '../helpers/command-gateway.js';
import { testKey } from '../helpers/commands.js';
import { tempDir } from '../helpers/config.js';
import { waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();
const keys: GatewayKeys = { ops: testKey('control-room-1'), limited: testKey('night-porter') };
const stranger = testKey('stranger');
let pkiOnce: CentralPki | undefined;
const pki = () => {
  pkiOnce ??= provisionPki(tempDir('wg-pki-'), ['test-gw'], ['control-room']);
  return pkiOnce;
};

async function setUp() {
  const { broker, tlsUrl } = await centralBroker(pki());
  cleanup(() => broker.stop());
  const sub = await new Subscriber(broker.url).connect();
  cleanup(() => sub.close());
  const room = await new ControlRoom(tlsUrl, pki()).connect();
  cleanup(() => room.close());
  const dataDir = tempDir('wg-cmd-');
  const doc = () => gatewayDoc({ brokers: [tlsUrl], pki: pki(), dataDir, keys });
  const online = () =>
    sub.messages.filter((m) => m.topic === 'wardgate/v1/test-gw/status' && m.payload.includes('"online"')).length;
  const start = async () => {
    const before = online();
    const gw = await startGateway(doc());
    cleanup(() => gw.agent.stop());
    // Subscribed before it says online (SUBSCRIBE goes out first on the same connection).
    await waitFor(() => online() > before, 20_000, 'gateway online over mTLS');
    return gw;
  };
  return { broker, tlsUrl, sub, room, start };
}

const eventsOf = (sub: Subscriber, type: string) => sub.uniqueEvents().filter((e) => e.type === type);

describe('signed commands over mTLS and the ACL', () => {
  it('refuses forged, expired, replayed, unknown/wrong-key and not-allowed commands; runs a valid pulse once', async () => {
    const { sub, room, start } = await setUp();
    let { agent, gpio } = await start();
    expect(agent.uplink.url).toMatch(/^mqtts:/);
    const ops = (over: Parameters<typeof signEnvelope>[1]) => signEnvelope(keys.ops.privateKey, over);
    const pulse = { keyId: keys.ops.id, device: 'sounder-1', action: 'output.pulse', args: { ms: 150 } };
    const valid = ops(pulse);
    const cases: Array<[string, string, Parameters<ControlRoom['send']>[2]]> = [
      ['bad-signature', 'sounder-1', { ...ops(pulse), args: { ms: 5000 } }],
      ['expired', 'sounder-1', ops({ ...pulse, issuedAtMs: Date.now() - 600_000, ttlSec: 60 })],
      ['unknown-key', 'sounder-1', signEnvelope(stranger.privateKey, { ...pulse, keyId: 'stranger' })],
      ['bad-signature', 'sounder-1', signEnvelope(stranger.privateKey, pulse)], // claims ops, signed by another key
      ['not-allowed', 'led-0', ops({ ...pulse, device: 'led-0' })], // device not allowed for the key
      ['not-allowed', 'sounder-1', ops({ ...pulse, action: 'output.set', args: { value: true } })], // action
      ['not-allowed', 'sounder-1', signEnvelope(keys.limited.privateKey, { ...pulse, keyId: keys.limited.id })],
      ['malformed', 'sounder-1', JSON.stringify({ ...ops(pulse), nonce: 'short' })],
    ];
    for (const [, device, env] of cases) await room.send('test-gw', device, env);
    await room.send('test-gw', 'sounder-1', valid);
    await room.send('test-gw', 'sounder-1', valid); // the same message again: a replay
    await waitFor(() => room.results.length >= cases.length + 2, 20_000, 'every command answered');
    const ids = cases.map(([, , env]) => (typeof env === 'string' ? JSON.parse(env).commandId : env.commandId));
    expect(ids.map((id) => room.resultOf(id)?.reason)).toEqual(cases.map(([reason]) => reason));
    expect(room.results.filter((r) => r.commandId === valid.commandId).map((r) => [r.ok, r.reason])).toEqual([
      [true, undefined],
      [false, 'replay'],
    ]);
    // Exactly one pulse on the sounder's line: on, then off.
    await waitFor(() => gpio.writesTo(LINES.sounder).length >= 2, 10_000, 'pulse ends');
    expect(gpio.writesTo(LINES.sounder)).toEqual([1, 0]);
    expect(gpio.writesTo(LINES.led)).toEqual([]);
    await waitFor(() => eventsOf(sub, 'command.rejected').length === cases.length + 1, 10_000, 'rejection events');
    expect(eventsOf(sub, 'command.executed').map((e) => e.data.commandId)).toEqual([valid.commandId]);
    expect(
      eventsOf(sub, 'command.rejected')
        .map((e) => e.data.reason)
        .sort(),
    ).toEqual([...cases.map(([r]) => r), 'replay'].sort());

    // A restart does not forget the nonce.
    await agent.stop();
    ({ agent, gpio } = await start());
    await room.send('test-gw', 'sounder-1', valid);
    await waitFor(
      () => room.results.filter((r) => r.commandId === valid.commandId).length === 3,
      20_000,
      'answer after restart',
    );
    expect(room.results.filter((r) => r.commandId === valid.commandId).at(-1)?.reason).toBe('replay');
    expect(gpio.writesTo(LINES.sounder)).toEqual([]);
    expect(agent.status().commands).toMatchObject({ enabled: true, executed: 0, rejected: 1 });
    expect(contractErrors(sub)).toEqual([]);
  });

  it('alarm.ack lights the button LED, records who acknowledged, and emits alarm.acknowledged', async () => {
    const { sub, room, start } = await setUp();
    const { agent, gpio } = await start();
    const press = (await agent.simulate('panic-0', 'button', true)).accepted[0];
    if (!press) throw new Error('no press');
    await waitFor(() => sub.events().some((e) => e.id === press.id), 10_000, 'alarm at the control room');
    expect(gpio.writesTo(LINES.led)).toEqual([]);
    const ack = signEnvelope(keys.ops.privateKey, {
      keyId: keys.ops.id,
      device: 'panic-0',
      action: 'alarm.ack',
      args: { id: press.id, by: 'Sister Okafor' },
    });
    await room.send('test-gw', 'panic-0', ack);
    await waitFor(() => room.resultOf(ack.commandId) !== undefined, 10_000, 'ack answered');
    expect(room.resultOf(ack.commandId)).toMatchObject({ ok: true });
    await waitFor(() => gpio.writesTo(LINES.led).length > 0, 10_000, 'LED written');
    expect(gpio.writesTo(LINES.led)).toEqual([1]);
    const acked = (agent as Agent).alarms.find({ id: press.id });
    expect(acked?.controlRoom).toMatchObject({ by: 'Sister Okafor (key control-room-1)', commandId: ack.commandId });
    await waitFor(() => eventsOf(sub, 'alarm.acknowledged').length === 1, 10_000, 'alarm.acknowledged');
    expect(eventsOf(sub, 'alarm.acknowledged')[0]).toMatchObject({
      device: 'panic-0',
      deviceType: 'panic-button',
      data: { alarmId: press.id, alarmSeq: press.seq, ledLit: true, by: 'Sister Okafor (key control-room-1)' },
    });
    // A momentary button released before anyone acknowledged: the ack by seq still finds it.
    await agent.simulate('panic-0', 'button', false);
    const second = (await agent.simulate('panic-0', 'button', true)).accepted[0];
    await agent.simulate('panic-0', 'button', false);
    // Pressed again before the control room acknowledged the second press: acknowledging the
    // second must not light the LED the third press's caller is watching.
    const third = (await agent.simulate('panic-0', 'button', true)).accepted[0];
    if (!second || !third) throw new Error('no presses');
    const bySeq = signEnvelope(keys.ops.privateKey, {
      keyId: keys.ops.id,
      device: 'panic-0',
      action: 'alarm.ack',
      args: { seq: second?.seq },
    });
    const wrongDevice = signEnvelope(keys.ops.privateKey, {
      keyId: keys.ops.id,
      device: 'panic-9',
      action: 'alarm.ack',
      args: { seq: second?.seq },
    });
    await room.send('test-gw', 'panic-0', bySeq);
    await room.send('test-gw', 'panic-9', wrongDevice);
    await waitFor(() => room.resultOf(wrongDevice.commandId) !== undefined, 10_000, 'answers');
    expect(room.resultOf(bySeq.commandId)).toMatchObject({ ok: true });
    expect(room.resultOf(wrongDevice.commandId)).toMatchObject({ ok: false, reason: 'unknown-alarm' });
    await waitFor(() => eventsOf(sub, 'alarm.acknowledged').length === 2, 10_000, 'second alarm.acknowledged');
    expect(eventsOf(sub, 'alarm.acknowledged')[1]?.data).toMatchObject({
      alarmSeq: second.seq,
      ledLit: false,
      newerPressSeq: third.seq,
    });
    expect(agent.deviceStates().find((d) => d.id === 'panic-0')?.state).toMatchObject({ led: { on: false } });
    // The third press's own acknowledgement lights it.
    const ackThird = signEnvelope(keys.ops.privateKey, {
      keyId: keys.ops.id,
      device: 'panic-0',
      action: 'alarm.ack',
      args: { id: third.id },
    });
    await room.send('test-gw', 'panic-0', ackThird);
    await waitFor(() => eventsOf(sub, 'alarm.acknowledged').length === 3, 10_000, 'third alarm.acknowledged');
    expect(eventsOf(sub, 'alarm.acknowledged')[2]?.data).toMatchObject({ alarmId: third.id, ledLit: true });
    expect(eventsOf(sub, 'alarm.acknowledged')[2]?.data).not.toHaveProperty('newerPressSeq');
    expect(agent.deviceStates().find((d) => d.id === 'panic-0')?.state).toMatchObject({ led: { on: true } });
    expect(contractErrors(sub)).toEqual([]);
  });

  it('the broker refuses a publish outside the gateway prefix; the refusal blocks nothing', async () => {
    const { sub, start } = await setUp();
    const { agent } = await start();
    // Another gateway's prefix, and its own cmd/ (only the control room may write commands):
    // PUBACK 0x87, and the connection stays up.
    const connects = agent.uplink.stats.connects;
    await expect(agent.uplink.publish('wardgate/v1/other-gw/status', '{"state":"online"}')).rejects.toThrow(
      /not authorized/i,
    );
    await expect(agent.uplink.publish('wardgate/v1/test-gw/cmd/sounder-1', '{}')).rejects.toThrow(/not authorized/i);
    expect(agent.uplink.connected).toBe(true);
    expect(agent.uplink.stats.connects).toBe(connects);
    const press = (await agent.simulate('panic-0', 'button', true)).accepted[0];
    await waitFor(() => sub.events().some((e) => e.id === press?.id), 20_000, 'alarm after the refusals');
    expect(sub.messages.filter((m) => m.topic.includes('other-gw') || m.topic.includes('/cmd/'))).toEqual([]);
    expect(contractErrors(sub)).toEqual([]);
  });

  it('a box presenting another gateway certificate: every row refused (0x87) and kept, the connection stays up', async () => {
    const { sub, tlsUrl } = await setUp();
    const doc = gatewayDoc({ brokers: [tlsUrl], pki: pki(), dataDir: tempDir('wg-cmd-'), keys, gatewayId: 'other-gw' });
    const { agent } = await startGateway(doc); // presents test-gw's certificate
    cleanup(() => agent.stop());
    await waitFor(() => agent.uplink.connected, 20_000, 'connected');
    await agent.simulate('panic-0', 'button', true);
    await waitFor(() => agent.outbox.refusedRows > 0, 20_000, 'rows refused (0x87)');
    expect(agent.uplink.connected).toBe(true);
    expect(agent.outbox.depth).toBeGreaterThan(0); // kept on disk until the certificate or gateway.id is fixed
    expect(agent.status().outbox.refused.code).toBe('WG_ERR_UPLINK_PUBLISH_REFUSED');
    expect(sub.messages.filter((m) => m.topic.startsWith('wardgate/v1/other-gw/'))).toEqual([]);
  });
});
