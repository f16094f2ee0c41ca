// The local web API: /healthz open, everything else behind a bearer token with lockout; the sim
// endpoint's errors; /metrics checked by Prometheus's own promtool.
import { spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { hashToken } from '../../agent/web/auth.js';
import { startWeb } from '../../agent/web/server.js';
import type { GpioBackend } from '../../drivers/gpio/backend.js';
import { TEST_TOKEN, testConfig } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';

let broker: Mosquitto;
let agent: Agent;
let web: { app: FastifyInstance; url: string };
let hwAgent: Agent;
let hwWeb: { app: FastifyInstance; url: string };

/** A line that reads idle and never changes: stands in for a hardware backend (no GPIO here). */
class IdleHardwareBackend implements GpioBackend {
  readonly kind = 'gpiod' as const;
  private readonly ee = new EventEmitter();
  async openInput(ref: { chip: string; line: number | string }) {
    return { ref, opened: { level: 1 as const, ts: Date.now(), uptimeMs: 0 }, read: async () => 1 as const };
  }
  async openOutput(ref: { chip: string; line: number | string }, initial: 0 | 1) {
    return { ref, level: initial, write: async () => {} };
  }
  on(e: string, l: (...a: unknown[]) => void) {
    this.ee.on(e, l);
  }
  off(e: string, l: (...a: unknown[]) => void) {
    this.ee.off(e, l);
  }
  async close() {}
}

const auth = { authorization: `Bearer ${TEST_TOKEN}` };
// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked field by field below
const json = async (r: Response): Promise<any> => r.json();

beforeAll(async () => {
  broker = await new Mosquitto().start();
  const config = testConfig({ brokers: [broker.url], buttons: 2, debounceMs: 10, minHoldMs: 30 });
  agent = await Agent.start({ config, log: createLogger('error') });
  web = await startWeb(agent, {
    host: '127.0.0.1',
    port: 0,
    tokens: [hashToken(TEST_TOKEN)],
    log: createLogger('error'),
  });
  hwAgent = await Agent.start({
    config: testConfig({ brokers: [broker.url], gatewayId: 'hw-gw' }),
    log: createLogger('error'),
    gpioBackend: () => new IdleHardwareBackend(),
  });
  hwWeb = await startWeb(hwAgent, {
    host: '127.0.0.1',
    port: 0,
    tokens: [hashToken(TEST_TOKEN)],
    log: createLogger('error'),
  });
  await waitFor(() => agent.uplink.connected, 10_000, 'connected');
});

afterAll(async () => {
  await web?.app.close();
  await hwWeb?.app.close();
  await agent?.stop();
  await hwAgent?.stop();
  await broker?.stop();
});

describe('web API', () => {
  it('GET /healthz needs no token', async () => {
    const r = await fetch(`${web.url}/healthz`);
    expect(r.status).toBe(200);
    expect(await json(r)).toEqual({ ok: true, gateway: 'test-gw', uplink: 'connected', outboxWritable: true });
  });

  it('refuses the API without a token or with a wrong one, with an error code', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: `Basic ${TEST_TOKEN}` }] as Array<
      Record<string, string>
    >) {
      const r = await fetch(`${web.url}/api/status`, { headers });
      expect(r.status).toBe(401);
      expect((await json(r)).error.code).toBe('WG_ERR_HTTP_UNAUTHORIZED');
    }
    expect((await fetch(`${web.url}/metrics`)).status).toBe(401);
  });

  it('GET /api/status reports the uplink, lastSeq and outbox lanes', async () => {
    const s = await json(await fetch(`${web.url}/api/status`, { headers: auth }));
    expect(s).toMatchObject({ gateway: 'test-gw', uplink: { connected: true, broker: broker.url } });
    expect(s.lastSeq).toBe(agent.outbox.lastSeq);
    expect(s.outbox.lanes.map((l: { lane: string }) => l.lane)).toEqual(['critical', 'high', 'normal', 'low']);
    for (const l of s.outbox.lanes) expect(l).toHaveProperty('oldestAgeMs');
  });

  it('POST /api/sim presses a button: 200 with the durable event after debounce and hold', async () => {
    const r = await fetch(`${web.url}/api/sim/panic-1/button`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ active: true }),
    });
    expect(r.status).toBe(200);
    const body = await json(r);
    expect(body.accepted).toHaveLength(1);
    expect(body.accepted[0]).toMatchObject({ type: 'panic.pressed', severity: 'critical' });
    const d = await json(await fetch(`${web.url}/api/devices`, { headers: auth }));
    expect(d.devices.find((x: { id: string }) => x.id === 'panic-1')).toMatchObject({
      availability: 'online',
      state: { pressed: true },
    });
  });

  it('POST /api/sim: same level again is 202 with nothing accepted', async () => {
    const post = () =>
      fetch(`${web.url}/api/sim/panic-0/button`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify({ active: false }),
      });
    const r = await post();
    expect(r.status).toBe(202);
    expect(await json(r)).toEqual({ accepted: [], pending: true });
  });

  it.each([
    ['unknown device', '/api/sim/nope/button', { active: true }, 404, 'WG_ERR_HTTP_NOT_FOUND'],
    ['unknown input', '/api/sim/panic-0/lever', { active: true }, 404, 'WG_ERR_HTTP_NOT_FOUND'],
    ['string instead of boolean', '/api/sim/panic-0/button', { active: 'yes' }, 400, 'WG_ERR_HTTP_BAD_REQUEST'],
    ['missing field', '/api/sim/panic-0/button', {}, 400, 'WG_ERR_HTTP_BAD_REQUEST'],
    ['extra field', '/api/sim/panic-0/button', { active: true, force: 1 }, 400, 'WG_ERR_HTTP_BAD_REQUEST'],
  ])('POST /api/sim: %s is refused with a code', async (_name, path, body, status, code) => {
    const r = await fetch(`${web.url}${path}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(r.status).toBe(status);
    expect((await json(r)).error.code).toBe(code);
  });

  it('POST /api/sim: malformed JSON and oversize bodies are 400/413, not crashes', async () => {
    const bad = await fetch(`${web.url}/api/sim/panic-0/button`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"active":',
    });
    expect(bad.status).toBe(400);
    const big = await fetch(`${web.url}/api/sim/panic-0/button`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ active: true, pad: 'x'.repeat(64 * 1024) }),
    });
    expect(big.status).toBe(413);
  });

  it('POST /api/sim on a device that is not simulated is 404', async () => {
    const r = await fetch(`${hwWeb.url}/api/sim/panic-0/button`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ active: true }),
    });
    expect(r.status).toBe(404);
    expect((await json(r)).error.code).toBe('WG_ERR_SIM_NOT_SIMULATED');
  });

  it('GET /metrics is valid Prometheus text (promtool check metrics)', async () => {
    const r = await fetch(`${web.url}/metrics`, { headers: auth });
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text).toMatch(/wardgate_outbox_depth\{lane="critical"\} \d+/);
    expect(text).toMatch(/wardgate_uplink_connected 1/);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.error).toBeUndefined();
    expect(`${check.stdout}${check.stderr}`).not.toMatch(/error/i);
    expect(check.status).toBe(0);
  });

  it('POST /api/sim answers 503 when the disk refuses the event, which is kept and committed later', async () => {
    const db = (agent.outbox as unknown as { db: import('better-sqlite3').Database }).db;
    db.pragma(`max_page_count = ${db.pragma('page_count', { simple: true })}`);
    // Something large enough to need new pages arrives first: the disk is now "full".
    const big = agent.accept(agent.gatewayEvent({ type: 'gateway.started', data: { pad: 'x'.repeat(64 * 1024) } }));
    const r = await fetch(`${web.url}/api/sim/panic-0/button`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ active: true }),
    });
    expect(r.status).toBe(503);
    expect((await json(r)).error.code).toBe('WG_ERR_OUTBOX_DISK_FULL');
    const s = await json(await fetch(`${web.url}/api/status`, { headers: auth }));
    expect(s.outbox.diskLow.error).toMatch(/SQLITE_FULL|full/i);
    expect(s.outbox.heldInMemory).toBeGreaterThan(0);
    const seqBefore = agent.outbox.lastSeq;
    db.pragma('max_page_count = 1073741823');
    await waitFor(() => agent.outbox.diskLow === undefined && agent.outbox.pendingInMemory === 0, 10_000, 'committed');
    expect((await big).seq).toBeGreaterThan(seqBefore);
    expect(agent.outbox.lastSeq).toBeGreaterThan(seqBefore + 1);
  }, 20_000);

  it('locks an address out after repeated bad tokens', async () => {
    let last = 0;
    for (let i = 0; i < 11; i++)
      last = (await fetch(`${hwWeb.url}/api/status`, { headers: { authorization: 'Bearer wrong' } })).status;
    expect(last).toBe(429);
    // Locked even with the right token, until the lock expires.
    expect((await fetch(`${hwWeb.url}/api/status`, { headers: auth })).status).toBe(429);
  });
});
