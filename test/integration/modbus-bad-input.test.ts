// Bad input on the line (issue 8): a controller that answers with exception responses, garbage
// bytes, truncated frames, the wrong unit id and (RTU) CRC errors, between good answers saying
// "closed and locked". Each is counted and shown, nothing crashes, and no door event (above all
// no door.forced) comes out of a frame that was not a good one. The peer is the test itself,
// writing raw bytes: a TCP socket on a random port, and the far end of a socat pty pair.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { SerialPort } from 'serialport';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import type { WgEvent } from '../../agent/event.js';
import { Agent } from '../../agent/runtime.js';
import { type PtyPair, startPtyPair } from '../fixtures/modbus/peers.js';
import { crc16 } from '../fixtures/modbus/rtu.js';
import { freePort, waitFor } from '../helpers/ports.js';

type Mode = 'good' | 'exception' | 'garbage' | 'truncated' | 'wrongUnit' | 'crc';
const LOCKED_CLOSED = 0b0010; // di0 open = 0, di1 locked = 1

describe('bad input on the Modbus line', () => {
  let dir: string;
  let agent: Agent | undefined;
  const cleanups: Array<() => Promise<unknown>> = [];
  const events: WgEvent[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wardgate-modbus-bad-'));
    events.length = 0;
  });
  afterEach(async () => {
    await agent?.stop('test over');
    agent = undefined;
    for (const c of cleanups.splice(0).reverse()) await c();
    await rm(dir, { recursive: true, force: true });
  });

  async function startAgent(bus: Record<string, unknown>): Promise<Agent> {
    const r = checkConfig({
      gateway: { id: 'ward-test', site: 'test-site', dataDir: dir, clock: { sync: 'assume' } },
      mqtt: { brokers: ['mqtt://127.0.0.1:1'], backoff: { minMs: 50, maxMs: 200 } },
      buses: [{ id: 'b', timeoutMs: 150, ...bus }],
      devices: [{ id: 'door-1', type: 'door', bus: 'b', unitId: 1, profile: 'generic-door', pollMs: 30 }],
    });
    if (!r.ok) throw new Error(r.problems.join('\n'));
    const a = await Agent.start({ config: r.config, log: pino({ level: 'silent' }) });
    a.outbox.onAccepted((accepted) => events.push(...accepted));
    return a;
  }

  const unit = () =>
    (agent?.deviceStates().find((d) => d.id === 'door-1')?.driver ?? {}) as {
      online?: boolean | null;
      responses?: number;
      timeouts?: number;
      crcErrors?: number;
      badFrames?: number;
      exceptions?: Record<string, number>;
    };

  /** Bad answers until every kind was counted, then good ones only: the door must come back online. */
  async function expectCountedNeverFalse(modes: Mode[], setGoodOnly: () => void): Promise<void> {
    await waitFor(
      () => {
        const u = unit();
        return (
          (u.exceptions?.['2'] ?? 0) >= 2 &&
          (u.timeouts ?? 0) >= 2 &&
          (u.badFrames ?? 0) + (u.timeouts ?? 0) >= 4 &&
          (!modes.includes('crc') || (u.crcErrors ?? 0) >= 2)
        );
      },
      30_000,
      'every bad answer counted',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify(unit())}`);
    });
    setGoodOnly();
    await waitFor(() => unit().online === true, 30_000, 'online again on good answers');
    const health = agent?.healthPayload() as { drivers?: { modbus?: { counters?: Record<string, number> } } };
    expect(health.drivers?.modbus?.counters?.exceptions).toBeGreaterThanOrEqual(2);
    const doorEvents = events.filter((e) => e.device === 'door-1' && e.type.startsWith('door.'));
    expect(doorEvents.map((e) => e.type).filter((t) => !t.startsWith('door.controller_'))).toEqual([]);
    expect(agent?.deviceStates().find((d) => d.id === 'door-1')?.state).toMatchObject({ open: false, locked: true });
  }

  it('Modbus TCP: exceptions, garbage, truncated frames, wrong unit ids', async () => {
    const modes: Mode[] = ['good', 'exception', 'good', 'garbage', 'good', 'wrongUnit', 'good', 'truncated'];
    let goodOnly = false;
    let n = 0;
    const sockets = new Set<Socket>();
    const server: Server = createServer((sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      sock.on('error', () => undefined);
      let buf = Buffer.alloc(0);
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        while (buf.length >= 12) {
          const tid = buf.readUInt16BE(0);
          const req = buf.subarray(0, 12);
          buf = buf.subarray(12);
          const mode: Mode = goodOnly ? 'good' : (modes[n++ % modes.length] as Mode);
          const id = req[6] as number;
          const fc = req[7] as number;
          const mbap = (len: number, u = id) => {
            const h = Buffer.alloc(7);
            h.writeUInt16BE(tid, 0);
            h.writeUInt16BE(len, 4);
            h[6] = u;
            return h;
          };
          if (mode === 'good') sock.write(Buffer.concat([mbap(4), Buffer.from([fc, 1, LOCKED_CLOSED])]));
          else if (mode === 'exception') sock.write(Buffer.concat([mbap(3), Buffer.from([fc | 0x80, 2])]));
          else if (mode === 'wrongUnit') sock.write(Buffer.concat([mbap(4, id + 8), Buffer.from([fc, 1, 0xff])]));
          else if (mode === 'garbage') sock.write(Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00, 0x03, 0x01]));
          else sock.write(Buffer.concat([mbap(4), Buffer.from([fc])])); // truncated: 1 of 3 PDU bytes
        }
      });
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    });
    agent = await startAgent({ type: 'modbus-tcp', host: '127.0.0.1', port });
    await expectCountedNeverFalse(modes, () => {
      goodOnly = true;
    });
  });

  it('Modbus RTU: exceptions, CRC errors, garbage, truncated frames, wrong unit ids', async () => {
    const pty: PtyPair = await startPtyPair(dir);
    cleanups.push(() => pty.stop());
    const peer = new SerialPort({ path: pty.b, baudRate: 9600 });
    await new Promise<void>((resolve, reject) => peer.once('open', resolve).once('error', reject));
    cleanups.push(() => new Promise((r) => (peer.isOpen ? peer.close(() => r(undefined)) : r(undefined))));
    const modes: Mode[] = [
      'good',
      'exception',
      'good',
      'crc',
      'good',
      'garbage',
      'good',
      'wrongUnit',
      'good',
      'truncated',
    ];
    let goodOnly = false;
    let n = 0;
    let buf = Buffer.alloc(0);
    const frame = (bytes: number[]) => {
      const b = Buffer.from([...bytes, 0, 0]);
      b.writeUInt16LE(crc16(b.subarray(0, -2)), b.length - 2);
      return b;
    };
    peer.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 8) {
        const req = buf.subarray(0, 8);
        buf = buf.subarray(8);
        const [id, fc] = [req[0] as number, req[1] as number];
        const mode: Mode = goodOnly ? 'good' : (modes[n++ % modes.length] as Mode);
        const good = frame([id, fc, 1, LOCKED_CLOSED]);
        if (mode === 'good') peer.write(good);
        else if (mode === 'exception') peer.write(frame([id, fc | 0x80, 2]));
        else if (mode === 'crc')
          peer.write(Buffer.from([id, fc, 1, 0b0011, 0x12, 0x34])); // "open": bad CRC
        else if (mode === 'wrongUnit') peer.write(frame([id + 1, fc, 1, 0b0001]));
        else if (mode === 'garbage') peer.write(Buffer.from([0x00, 0xff, 0x13, 0x37, 0x42]));
        else peer.write(good.subarray(0, 3));
      }
    });
    agent = await startAgent({ type: 'modbus-rtu', path: pty.a, baudRate: 9600 });
    await expectCountedNeverFalse(modes, () => {
      goodOnly = true;
    });
  });
});
