// The technician's page in a real browser (Debian Chromium through playwright-core): sign in with a
// token, see the uplink, the outbox and the devices, press a simulated button and see it register.

import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkConfig } from '../../agent/config/load.js';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { hashToken } from '../../agent/web/auth.js';
import { startWeb } from '../../agent/web/server.js';
import { TEST_TOKEN, tempDir, testConfigDoc } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const CHROMIUM = process.env.WARDGATE_CHROMIUM ?? '/usr/bin/chromium';

let broker: Mosquitto;
let agent: Agent;
let web: { app: FastifyInstance; url: string };
let browser: Browser;
let sub: Subscriber;

beforeAll(async () => {
  broker = await new Mosquitto().start();
  sub = await new Subscriber(broker.url).connect();
  const doc = testConfigDoc({ brokers: [broker.url], buttons: 3 }) as Record<string, unknown> & { devices: unknown[] };
  doc.devices.push({ id: 'fire-1', type: 'fire-panel', name: 'Fire panel', alarm: { line: 40 }, fault: { line: 41 } });
  doc.outputs = [{ id: 'strobe-1', name: 'Corridor strobe', line: 50 }];
  doc.actions = [
    { on: 'fire.alarm', do: 'set', output: 'strobe-1' },
    { on: 'fire.alarm_cleared', do: 'set', output: 'strobe-1', value: false },
  ];
  const checked = checkConfig(doc);
  if (!checked.ok) throw new Error(checked.problems.join('; '));
  agent = await Agent.start({ config: checked.config, log: createLogger('error') });
  web = await startWeb(agent, {
    host: '127.0.0.1',
    port: 0,
    tokens: [hashToken(TEST_TOKEN)],
    log: createLogger('error'),
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  await waitFor(() => agent.uplink.connected, 10_000, 'connected');
});

afterAll(async () => {
  await browser?.close();
  await web?.app.close();
  await agent?.stop();
  await sub?.close();
  await broker?.stop();
});

describe('technician page', () => {
  it('asks for a token, then shows uplink, outbox and devices; a press registers end to end', async () => {
    const page = await browser.newPage();
    await page.goto(web.url);
    await expect.poll(() => page.locator('#loginMsg').textContent()).toContain('WG_ERR_HTTP_UNAUTHORIZED');
    await page.fill('#token', TEST_TOKEN);
    await page.click('#save');
    await expect.poll(() => page.locator('#uplink').textContent()).toContain('connected');
    expect(await page.locator('#gw').textContent()).toContain('test-gw');
    expect(await page.locator('#outbox tbody tr').count()).toBe(4);
    expect(await page.locator('#devices tbody tr').count()).toBe(4);

    await page.click('button[data-d="panic-1"][data-i="button"][data-a="1"]');
    await waitFor(
      () => sub.events().some((e) => e.device === 'panic-1' && e.type === 'panic.pressed'),
      10_000,
      'press at the subscriber',
    );
    await expect
      .poll(() => page.locator('#devices tbody tr', { hasText: 'panic-1' }).textContent())
      .toContain('"pressed":true');
    await page.screenshot({ path: process.env.WG_SCREENSHOT ?? `${tempDir('wg-shot-')}/page.png`, fullPage: true });
  });

  it('a fire alarm from the page lights the strobe through a local action, shown in Outputs', async () => {
    const page = await browser.newPage();
    await page.goto(`${web.url}/#token=${TEST_TOKEN}`);
    await expect.poll(() => page.locator('#outputs tbody tr', { hasText: 'strobe-1' }).textContent()).toContain('off');
    await page.click('button[data-d="fire-1"][data-i="alarm"][data-a="1"]');
    await expect.poll(() => page.locator('#outputs tbody tr', { hasText: 'strobe-1' }).textContent()).toContain('ON');
    await waitFor(() => sub.events().some((e) => e.type === 'fire.alarm'), 10_000, 'fire.alarm at the subscriber');
    await page.click('button[data-d="fire-1"][data-i="alarm"][data-a="0"]');
    await expect.poll(() => page.locator('#outputs tbody tr', { hasText: 'strobe-1' }).textContent()).toContain('off');
  });

  it('takes the token from the URL fragment (the demo prints such a link) and drops it from the address bar', async () => {
    const page = await browser.newPage();
    await page.goto(`${web.url}/#token=${TEST_TOKEN}`);
    await expect.poll(() => page.locator('#uplink').textContent()).toContain('connected');
    expect(page.url()).not.toContain(TEST_TOKEN);
  });
});
