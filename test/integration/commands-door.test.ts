// door.unlock as a signed command (issue 10) through the door driver's write (issue 8): the control
// room's valid command pulses the lock-release coil of a real Modbus peer (Debian's pymodbus)
// exactly once; a replay, a request over commands.maxUnlockSec and a non-door target do nothing.
import { describe, expect, it } from 'vitest';
import { signEnvelope } from '../../agent/commands/sign.js';
import { type DoorServer, startDoorServer } from '../fixtures/modbus/peers.js';
import { ControlRoom, centralBroker, contractErrors, provisionPki } from '../helpers/central.js';
import { useCleanups } from '../helpers/cleanup.js';
import { type GatewayKeys, gatewayDoc, startGateway } from '../helpers/command-gateway.js';
import { testKey } from '../helpers/commands.js';
import { tempDir } from '../helpers/config.js';
import { freePort, waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();
const keys: GatewayKeys = { ops: testKey('control-room-1'), limited: testKey('night-porter') };

describe('door.unlock command', () => {
  it('pulses the release coil once; replay, too long and a non-door target do nothing', async () => {
    const pki = provisionPki(tempDir('wg-pki-'), ['test-gw'], ['control-room']);
    const { broker, tlsUrl } = await centralBroker(pki);
    cleanup(() => broker.stop());
    const modbusPort = await freePort();
    const door: DoorServer = await startDoorServer('tcp', modbusPort, [1]);
    cleanup(() => door.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanup(() => sub.close());
    const room = await new ControlRoom(tlsUrl, pki).connect();
    cleanup(() => room.close());

    const doc = gatewayDoc({ brokers: [tlsUrl], pki, dataDir: tempDir('wg-door-'), keys });
    doc.buses = [{ id: 'bus-a', type: 'modbus-tcp', host: '127.0.0.1', port: modbusPort, timeoutMs: 300 }];
    (doc.devices as unknown[]).push({
      id: 'door-pharmacy',
      type: 'door',
      name: 'Pharmacy',
      bus: 'bus-a',
      unitId: 1,
      profile: 'generic-door',
      pollMs: 50,
      unlockSec: 1,
      maxUnlockSec: 10,
    });
    const ops = (doc.commands as { keys: Array<{ allow: unknown[] }> }).keys[0];
    ops?.allow.push({ action: 'door.unlock', devices: ['door-*', 'sounder-*'] });
    (doc.commands as Record<string, unknown>).maxUnlockSec = 5;
    const { agent } = await startGateway(doc);
    cleanup(() => agent.stop());
    await waitFor(() => agent.uplink.connected, 20_000, 'connected');
    await waitFor(
      () => agent.deviceStates().find((d) => d.id === 'door-pharmacy')?.availability === 'online',
      20_000,
      'door controller online',
    );
    await waitFor(() => sub.messages.some((m) => m.topic === 'wardgate/v1/test-gw/status'), 20_000, 'online');

    const sign = (over: Partial<Parameters<typeof signEnvelope>[1]>) =>
      signEnvelope(keys.ops.privateKey, {
        keyId: keys.ops.id,
        device: 'door-pharmacy',
        action: 'door.unlock',
        ...over,
      });
    const valid = sign({ args: { seconds: 1 } });
    const tooLong = sign({ args: { seconds: 8 } });
    const notADoor = sign({ device: 'sounder-1', args: { seconds: 1 } });
    await room.send('test-gw', 'door-pharmacy', valid);
    await room.send('test-gw', 'door-pharmacy', valid); // replay
    await room.send('test-gw', 'door-pharmacy', tooLong);
    await room.send('test-gw', 'sounder-1', notADoor);
    await waitFor(() => room.results.length >= 4, 20_000, 'four answers');
    // The replay is refused while the first is still writing the coil: answers in either order.
    const answers = room.results.filter((r) => r.commandId === valid.commandId).map((r) => r.reason ?? 'ok');
    expect(answers.sort()).toEqual(['ok', 'replay']);
    expect(room.resultOf(tooLong.commandId)).toMatchObject({ ok: false, reason: 'not-allowed' });
    expect(room.resultOf(notADoor.commandId)).toMatchObject({ ok: false, reason: 'unknown-target' });
    // Exactly one pulse on the release coil: on, then restored by the driver.
    await waitFor(() => door.coils.length >= 2, 15_000, 'the pulse restored');
    expect(door.coils).toEqual(['coil 1 0 1', 'coil 1 0 0']);
    await waitFor(
      () => sub.uniqueEvents().some((e) => e.type === 'command.executed' && e.data.action === 'door.unlock'),
      10_000,
      'command.executed',
    );
    expect(contractErrors(sub)).toEqual([]);
  });
});
