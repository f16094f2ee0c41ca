// What the page tests share: a real Mosquitto, an agent on sim GPIO with a few devices, its web
// server with one technician account, Debian Chromium through playwright-core, and the agent's
// log lines captured (the planted-secrets test reads them).
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { hashToken } from '../../agent/web/auth.js';
import { hashPassword } from '../../agent/web/password.js';
import { startWeb, type WebOptions } from '../../agent/web/server.js';
import { TEST_TOKEN, tempDir, testConfigDoc } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

export const CHROMIUM = process.env.WARDGATE_CHROMIUM ?? '/usr/bin/chromium';
export const USER = 'tech';
export const PASSWORD = 'correct horse battery';
/** Not a real secret: planted to prove it never shows (MQTT password in the config). */
export const PLANTED_MQTT_PASSWORD = 'planted-mqtt-pw-5f3a9c';

/** Screenshots go to a temp dir (not committed); its path is printed once. */
export const SHOT_DIR = process.env.WG_SHOT_DIR ?? tempDir('wg-shots-');

export interface WebEnv {
  broker: Mosquitto;
  agent: Agent;
  web: { app: FastifyInstance; url: string };
  browser: Browser;
  sub: Subscriber;
  logs: string[];
  passwordHash: string;
  close(): Promise<void>;
}

export async function startEnv(opts: { buttons?: number; web?: Partial<WebOptions> } = {}): Promise<WebEnv> {
  const broker = await new Mosquitto().start();
  const sub = await new Subscriber(broker.url).connect();
  const doc = testConfigDoc({ brokers: [broker.url], buttons: opts.buttons ?? 3 }) as Record<string, unknown> & {
    devices: Array<Record<string, unknown>>;
    mqtt: Record<string, unknown>;
  };
  doc.devices.forEach((d, i) => {
    d.location = `Ward 3B, bay ${i + 1}`;
  });
  doc.devices.push({
    id: 'fire-1',
    type: 'fire-panel',
    name: 'Fire panel',
    location: 'Plant room',
    alarm: { line: 40 },
    fault: { line: 41 },
  });
  doc.outputs = [{ id: 'strobe-1', name: 'Corridor strobe', line: 50 }];
  doc.actions = [{ on: 'fire.alarm', do: 'set', output: 'strobe-1' }];
  doc.mqtt.username = 'wardgate';
  doc.mqtt.password = PLANTED_MQTT_PASSWORD;
  const passwordHash = await hashPassword(PASSWORD);
  doc.web = { users: [{ name: USER, passwordHash }], tokens: [hashToken(TEST_TOKEN)] };
  const checked = checkConfig(doc);
  if (!checked.ok) throw new Error(checked.problems.join('; '));
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const log = createLogger('info', sink);
  const agent = await Agent.start({ config: checked.config, log });
  const web = await startWeb(agent, {
    host: '127.0.0.1',
    port: 0,
    tokens: [hashToken(TEST_TOKEN)],
    log: log.child({ unit: 'web' }),
    ...opts.web,
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-sync'],
  });
  await waitFor(() => agent.uplink.connected, 10_000, 'connected');
  return {
    broker,
    agent,
    web,
    browser,
    sub,
    logs,
    passwordHash,
    async close() {
      await browser.close();
      await web.app.close();
      await agent.stop();
      await sub.close();
      await broker.stop();
    },
  };
}

/** Sign in through the form, as a technician would. */
export async function signIn(page: Page, url: string, name = USER, password = PASSWORD): Promise<void> {
  await page.goto(url);
  await page.locator('#signin').waitFor({ state: 'visible' });
  await page.fill('#name', name);
  await page.fill('#password', password);
  await page.click('#signinBtn');
  await page.locator('#app').waitFor({ state: 'visible' });
  // The stream's first message has arrived when the uplink section is filled in.
  await page.locator('#uplink', { hasText: 'connected' }).waitFor();
}

/** A physical press stands in as a machine call (the page under test must learn of it by push). */
export async function press(url: string, device: string, input: string, active: boolean): Promise<number> {
  const r = await fetch(`${url}/api/sim/${device}/${input}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ active }),
  });
  return r.status;
}

/** expect.poll with a deadline for a loaded machine (its default is one second). */
export const poll = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 15_000 });
