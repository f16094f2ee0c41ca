// The web port's bounds, in process with shortened timeouts: a socket that never sends a byte and
// one that drips its header are answered 408 and closed; connections past maxConnections are
// refused and counted; malformed requests get fastify's 4xx, never a crash.
import { connect, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { hashToken } from '../../agent/web/auth.js';
import { startWeb } from '../../agent/web/server.js';
import { TEST_TOKEN, testConfig } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';

let broker: Mosquitto;
let agent: Agent;
let web: { app: FastifyInstance; url: string };
let port: number;
const sockets: Socket[] = [];

const MAX = 4;

beforeAll(async () => {
  broker = await new Mosquitto().start();
  agent = await Agent.start({ config: testConfig({ brokers: [broker.url], buttons: 1 }), log: createLogger('error') });
  web = await startWeb(agent, {
    host: '127.0.0.1',
    port: 0,
    tokens: [hashToken(TEST_TOKEN)],
    log: createLogger('error'),
    // Long enough that the held sockets outlive the opening of the extra ones on a loaded machine.
    limits: { maxConnections: MAX, headersTimeoutMs: 2000, requestTimeoutMs: 4000, checkIntervalMs: 200 },
  });
  port = Number(new URL(web.url).port);
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await web?.app.close();
  await agent?.stop();
  await broker?.stop();
});

/** A raw TCP connection to the web port, recording what the server sends and whether it closed. */
function rawConnection(): Promise<{ socket: Socket; received: () => string; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    let data = '';
    let closed = false;
    const socket = connect(port, '127.0.0.1');
    sockets.push(socket);
    socket.on('data', (d) => {
      data += d.toString();
    });
    socket.on('error', () => {}); // a reset by the server is one of the outcomes under test
    socket.on('close', () => {
      closed = true;
    });
    socket.once('connect', () => resolve({ socket, received: () => data, closed: () => closed }));
    socket.once('error', reject);
  });
}

const closeAll = () => {
  for (const s of sockets.splice(0)) s.destroy();
};

// biome-ignore lint/suspicious/noExplicitAny: the status body is checked field by field
async function status(): Promise<any> {
  const r = await fetch(`${web.url}/api/status`, {
    headers: { authorization: `Bearer ${TEST_TOKEN}`, connection: 'close' },
  });
  return r.json();
}

describe('web connection limits', () => {
  it('closes a socket that never sends a byte, with a 408, once headersTimeout has passed', async () => {
    const c = await rawConnection();
    await waitFor(c.closed, 10_000, 'server to close the silent socket');
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a socket that drips its request head one header at a time', async () => {
    const c = await rawConnection();
    c.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => c.socket.writable && c.socket.write('X-Drip: 1\r\n'), 50);
    try {
      await waitFor(c.closed, 10_000, 'server to close the dripping socket');
    } finally {
      clearInterval(drip);
    }
    expect(c.received()).toMatch(/^HTTP\/1\.1 408 /);
  });

  it(`holds at most ${MAX} connections: the rest are closed at once and counted`, async () => {
    const held = await Promise.all(Array.from({ length: MAX }, () => rawConnection()));
    const extra = await Promise.all(Array.from({ length: 3 }, () => rawConnection().catch(() => undefined)));
    // Refused ones close without a byte; held ones stay open until headersTimeout.
    await waitFor(() => extra.every((c) => c === undefined || c.closed()), 10_000, 'extra connections closed');
    for (const c of extra) expect(c?.received() ?? '').toBe('');
    await waitFor(() => held.every((c) => c.closed()), 10_000, 'held connections timed out');
    const s = await status();
    expect(s.web).toMatchObject({ maxConnections: MAX });
    expect(s.web.refused).toBeGreaterThanOrEqual(3);
    closeAll();
  });

  it('answers malformed requests with fastify 4xx and keeps serving', async () => {
    const cases: Array<[string, RegExp]> = [
      ['NOT-HTTP\r\n\r\n', /^HTTP\/1\.1 400 /],
      [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, /^HTTP\/1\.1 431 /],
      ['GET /api/sim/%E0%A4%A/button HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', /^HTTP\/1\.1 4\d\d /],
    ];
    for (const [request, expected] of cases) {
      const c = await rawConnection();
      c.socket.write(request);
      await waitFor(c.closed, 10_000, 'answer to a malformed request');
      expect(c.received()).toMatch(expected);
      expect(c.received()).not.toMatch(/at .*\.js:\d+/);
    }
    const r = await fetch(`${web.url}/healthz`);
    expect(r.status).toBe(200);
    closeAll();
  });
});
