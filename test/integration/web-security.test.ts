// The web port's security, against the real server: headers and CSP on every answer (errors
// included), the Host check, fastify's own errors in the WG_ERR shape without echoing the request,
// requests without credentials never counted, bearer and sign-in lockouts (per address, per
// account) each logged once, CSRF with a foreign Origin, HTTPS with a Secure cookie, live events by
// push, the config view and check, and "probe now" on a device that offers none.
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { hashToken } from '../../agent/web/auth.js';
import { hashPassword } from '../../agent/web/password.js';
import { startWeb } from '../../agent/web/server.js';
import { makePki } from '../helpers/certs.js';
import { TEST_TOKEN, tempDir, testConfig } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';

let broker: Mosquitto;
let agent: Agent;
let web: { app: FastifyInstance; url: string };
let tlsWeb: { app: FastifyInstance; url: string };
let ca: string;
const logs: string[] = [];
const users = [
  { name: 'alice', password: 'alice-password-1' },
  { name: 'bob', password: 'bob-password-22' },
];
const auth = { authorization: `Bearer ${TEST_TOKEN}` };

beforeAll(async () => {
  broker = await new Mosquitto().start();
  agent = await Agent.start({ config: testConfig({ brokers: [broker.url], buttons: 2 }), log: createLogger('error') });
  const sink = new Writable({
    write(c, _e, done) {
      logs.push(String(c));
      done();
    },
  });
  const log = createLogger('info', sink);
  const accounts = await Promise.all(
    users.map(async (u) => ({ name: u.name, passwordHash: await hashPassword(u.password) })),
  );
  web = await startWeb(agent, {
    host: '127.0.0.1',
    port: 0,
    tokens: [hashToken(TEST_TOKEN)],
    users: accounts,
    log,
    lockouts: {
      token: { maxFailures: 3, windowMs: 60_000, lockMs: 60_000 },
      address: { maxFailures: 4, windowMs: 60_000, lockMs: 60_000 },
    },
  });
  const pki = makePki(tempDir('wg-web-tls-'));
  ca = readFileSync(pki.ca, 'utf8');
  tlsWeb = await startWeb(agent, {
    host: '127.0.0.1',
    port: 0,
    tokens: [],
    users: accounts,
    tls: { cert: pki.serverCert, key: pki.serverKey },
    log: createLogger('error'),
  });
  await waitFor(() => agent.uplink.connected, 10_000, 'connected');
});

afterAll(async () => {
  await web?.app.close();
  await tlsWeb?.app.close();
  await agent?.stop();
  await broker?.stop();
});

/** A raw request on a socket; resolves with everything the server sent before closing. */
function raw(text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const port = Number(new URL(web.url).port);
    let data = '';
    const s = connect(port, '127.0.0.1', () => s.write(text));
    s.on('data', (d) => {
      data += d.toString();
    });
    s.on('error', reject);
    s.on('close', () => resolve(data));
    s.setTimeout(10_000, () => s.destroy());
  });
}

async function login(name: string, password: string, extra: Record<string, string> = {}) {
  return fetch(`${web.url}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...extra },
    body: JSON.stringify({ name, password }),
  });
}

describe('web security', () => {
  it('sends a strict CSP, nosniff, no-referrer and frame denial on pages, API answers and errors', async () => {
    for (const [path, headers] of [
      ['/', {}],
      ['/assets/app.js', {}],
      ['/api/status', auth],
      ['/api/status', {}],
      ['/nope', auth],
    ] as Array<[string, Record<string, string>]>) {
      const r = await fetch(`${web.url}${path}`, { headers });
      const csp = r.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      expect(r.headers.get('x-content-type-options')).toBe('nosniff');
      expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    }
    const html = await (await fetch(`${web.url}/`)).text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i); // no inline script
    expect(html).not.toMatch(/\son[a-z]+=/i); // no inline handlers
    expect(html).not.toMatch(/\sstyle=/i);
  });

  it('answers only to IP literals, localhost and allowed names in Host', async () => {
    const port = new URL(web.url).port;
    for (const host of [`evil.example:${port}`, 'rebind.attacker.test']) {
      const answer = await raw(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      expect(answer).toMatch(/^HTTP\/1\.1 421 /);
      expect(answer).toContain('WG_ERR_HTTP_BAD_HOST');
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, '[::1]'])
      expect(await raw(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)).toMatch(/^HTTP\/1\.1 200 /);
    // Monitoring by name still reaches /healthz.
    expect(await raw('GET /healthz HTTP/1.1\r\nHost: box.example\r\nConnection: close\r\n\r\n')).toMatch(
      /^HTTP\/1\.1 200 /,
    );
  });

  it("answers fastify's own errors in the WG_ERR shape, without echoing a long URL", async () => {
    const long = 'a'.repeat(12_000);
    const cases: Array<[string, RegExp, string]> = [
      [
        'GET /api/sim/%E0%A4%A/button HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n',
        /^HTTP\/1\.1 400 /,
        'WG_ERR_HTTP_BAD_REQUEST',
      ],
      [
        `POST /api/sim/${long}/button HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
        /^HTTP\/1\.1 414 /,
        'WG_ERR_HTTP_URI_TOO_LONG',
      ],
      [
        `GET /${long} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TEST_TOKEN}\r\nConnection: close\r\n\r\n`,
        /^HTTP\/1\.1 404 /,
        'WG_ERR_HTTP_NOT_FOUND',
      ],
      ['NOT-HTTP\r\n\r\n', /^HTTP\/1\.1 400 /, 'WG_ERR_HTTP_CLIENT'],
    ];
    for (const [req, status, code] of cases) {
      const answer = await raw(req);
      expect(answer).toMatch(status);
      const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as {
        error: { code: string; message: string };
      };
      expect(body.error.code).toBe(code);
      expect(answer.length).toBeLessThan(2000);
      expect(answer).not.toContain('Client Error');
      expect(answer).not.toContain('FST_ERR');
    }
  });

  it('signs in with a session cookie (HttpOnly, SameSite=Strict), refuses a foreign Origin, expires on sign-out', async () => {
    const foreign = await login('bob', 'bob-password-22', { origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('set-cookie')).toBeNull();
    const r = await login('bob', 'bob-password-22', { origin: web.url });
    expect(r.status).toBe(200);
    const cookie = r.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).not.toMatch(/Secure/); // plain HTTP here; see the HTTPS test
    const { csrf } = (await r.json()) as { csrf: string };
    const session = cookie.split(';')[0] as string;
    const sim = (headers: Record<string, string>) =>
      fetch(`${web.url}/api/sim/panic-0/button`, {
        method: 'POST',
        headers: { cookie: session, 'content-type': 'application/json', ...headers },
        body: '{"active":false}',
      });
    expect((await sim({})).status).toBe(403);
    expect((await sim({ 'x-csrf-token': csrf, origin: 'http://evil.example' })).status).toBe(403);
    expect([200, 202]).toContain((await sim({ 'x-csrf-token': csrf, origin: web.url })).status);
    expect((await fetch(`${web.url}/api/devices`, { headers: { cookie: session } })).status).toBe(200);
    await fetch(`${web.url}/api/logout`, { method: 'POST', headers: { cookie: session, 'x-csrf-token': csrf } });
    expect((await fetch(`${web.url}/api/devices`, { headers: { cookie: session } })).status).toBe(401);
  });

  it('locks an address out after wrong passwords for any accounts, logged once with the address', async () => {
    // The bearer lockout of 127.0.0.1 above is another table: sign-ins from it are still counted apart.
    for (let i = 0; i < 4; i++) expect((await login(`nobody-${i}`, 'x')).status).toBe(401);
    const r = await login('alice', 'alice-password-1');
    expect(r.status).toBe(429);
    const lines = logs.filter(
      (l) => l.includes('WG_ERR_HTTP_LOCKED_OUT') && l.includes('"msg":"sign-in: address locked out'),
    );
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"address":"127.0.0.1"');
    for (const u of users) for (const l of logs) expect(l).not.toContain(u.password);
  });

  it('serves HTTPS with the configured certificate and marks the cookie Secure', async () => {
    const answer = await new Promise<{ status: number; cookie: string }>((resolve, reject) => {
      const req = httpsRequest(
        `${tlsWeb.url}/api/login`,
        { method: 'POST', ca: [ca], headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, cookie: String(res.headers['set-cookie'] ?? '') });
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ name: 'alice', password: 'alice-password-1' }));
    });
    expect(tlsWeb.url).toMatch(/^https:/);
    expect(answer.status).toBe(200);
    expect(answer.cookie).toMatch(/Secure/);
  });

  it('a web.tls file that cannot be read is a config error naming it', async () => {
    await expect(
      startWeb(agent, {
        host: '127.0.0.1',
        port: 0,
        tokens: [],
        tls: { cert: '/nonexistent/web.crt', key: '/nonexistent/web.key' },
        log: createLogger('silent'),
      }),
    ).rejects.toThrow(/web\.tls\.cert: .*ENOENT/);
  });

  it('ends a session idle past its expiry, and its open live stream with it; bounds the streams', async () => {
    const short = await startWeb(agent, {
      host: '127.0.0.1',
      port: 0,
      tokens: [hashToken(TEST_TOKEN)],
      users: [{ name: 'carol', passwordHash: await hashPassword('carol-password-3') }],
      sessionIdleMinutes: 0.02, // 1.2 s
      log: createLogger('silent'),
    });
    try {
      const r = await fetch(`${short.url}/api/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'carol', password: 'carol-password-3' }),
      });
      const cookie = (r.headers.get('set-cookie') ?? '').split(';')[0] as string;
      const stream = await fetch(`${short.url}/api/events/stream`, { headers: { cookie } });
      expect(stream.status).toBe(200);
      const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
      // The page sits open without a request of its own: the stream ends at a check after expiry.
      for (;;) if ((await reader.read()).done) break;
      expect((await fetch(`${short.url}/api/session`, { headers: { cookie } })).status).toBe(401);
      // At most 16 streams at a time.
      const open = await Promise.all(
        Array.from({ length: 16 }, () => fetch(`${short.url}/api/events/stream`, { headers: auth })),
      );
      expect(open.every((x) => x.status === 200)).toBe(true);
      const extra = await fetch(`${short.url}/api/events/stream`, { headers: auth });
      expect(extra.status).toBe(503);
      expect(((await extra.json()) as { error: { code: string } }).error.code).toBe('WG_ERR_HTTP_SSE_LIMIT');
      for (const o of open) await o.body?.cancel();
    } finally {
      await short.app.close();
    }
  });

  it('pushes a press to a live event stream as it is made durable', async () => {
    const ac = new AbortController();
    const r = await fetch(`${web.url}/api/events/stream`, { headers: auth, signal: ac.signal });
    expect(r.headers.get('content-type')).toContain('text/event-stream');
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const readUntil = async (what: string) => {
      while (!text.includes(what)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${what}`);
        text += new TextDecoder().decode(value);
      }
    };
    await readUntil('event: hello');
    await fetch(`${web.url}/api/sim/panic-1/button`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"active":true}',
    });
    await readUntil('"type":"panic.pressed"');
    const frame = text.slice(text.indexOf('event: events'));
    expect(frame).toContain('"alarms":[');
    ac.abort();
    await fetch(`${web.url}/api/sim/panic-1/button`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"active":false}',
    });
  });

  it('checks an uploaded config without applying it or reading its secrets; probe is refused where none is offered', async () => {
    const check = (body: string) =>
      fetch(`${web.url}/api/config/check`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/yaml' },
        body,
      });
    const bad = (await (await check('gateway: {id: 1}\n')).json()) as { ok: boolean; problems: string[] };
    expect(bad.ok).toBe(false);
    expect(bad.problems.length).toBeGreaterThan(0);
    const withSecret = [
      'gateway: {id: other, site: s, dataDir: /tmp/x}',
      'mqtt: {brokers: ["mqtt://127.0.0.1:1"], password: {file: /nonexistent/secret}}',
      'devices: []',
    ].join('\n');
    const ok = (await (await check(withSecret)).json()) as { ok: boolean; gateway: string };
    expect(ok).toMatchObject({ ok: true, gateway: 'other' });
    expect(agent.config.gateway.id).toBe('test-gw');
    const probe = await fetch(`${web.url}/api/devices/panic-0/probe`, { method: 'POST', headers: auth });
    expect(probe.status).toBe(404);
    expect(((await probe.json()) as { error: { message: string } }).error.message).toContain('offers no probe');
  });
  it('never counts requests without credentials; wrong bearer tokens lock the address out, logged once', async () => {
    for (let i = 0; i < 50; i++) expect((await fetch(`${web.url}/api/status`)).status).toBe(401);
    const stats = (await (await fetch(`${web.url}/api/status`, { headers: auth })).json()) as {
      web: { lockouts: Record<string, number> };
    };
    expect(stats.web.lockouts.tokenAddresses).toBe(0);
    for (let i = 0; i < 3; i++)
      expect((await fetch(`${web.url}/api/status`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    const locked = await fetch(`${web.url}/api/status`, { headers: auth });
    expect(locked.status).toBe(429);
    expect(((await locked.json()) as { error: { code: string } }).error.code).toBe('WG_ERR_HTTP_LOCKED_OUT');
    for (let i = 0; i < 5; i++) await fetch(`${web.url}/api/status`, { headers: { authorization: 'Bearer wrong' } });
    const lines = logs.filter((l) => l.includes('WG_ERR_HTTP_LOCKED_OUT') && l.includes('bearer token'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"address":"127.0.0.1"');
  });
});
