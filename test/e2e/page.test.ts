// The technician's page in a real browser (Debian Chromium through playwright-core): sign in, an
// alarm at the top by push, refused without a session, CSRF refused, nothing wider than a 390 px
// phone, screenshots of each main view, and planted secrets shown nowhere.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_TOKEN } from '../helpers/config.js';
import { waitFor } from '../helpers/ports.js';
import {
  PASSWORD,
  PLANTED_MQTT_PASSWORD,
  poll,
  press,
  SHOT_DIR,
  signIn,
  startEnv,
  USER,
  type WebEnv,
} from './web-env.js';

let env: WebEnv;
const VIEWS = ['overview', 'devices', 'events', 'walktest', 'config'] as const;

beforeAll(async () => {
  env = await startEnv({ buttons: 3 });
  process.stdout.write(`page screenshots: ${SHOT_DIR}\n`);
});
afterAll(async () => env?.close());

async function view(page: Page, v: (typeof VIEWS)[number]) {
  await page.click(`nav button[data-view="${v}"]`);
  await page.locator(`#view-${v}`).waitFor({ state: 'visible' });
}

describe('technician page', () => {
  it('shows the sign-in form with no error, signs in, and shows uplink, outbox and devices by name', async () => {
    const page = await env.browser.newPage();
    await page.goto(env.web.url);
    await page.locator('#signin').waitFor({ state: 'visible' });
    expect(await page.locator('#loginMsg').textContent()).toBe('');
    await page.screenshot({ path: join(SHOT_DIR, 'signin.png') });
    await signIn(page, env.web.url);
    expect(await page.locator('#gw').textContent()).toContain('test-gw');
    expect(await page.locator('#outbox tbody tr').count()).toBe(4);
    await view(page, 'devices');
    await poll(() => page.locator('#devices tbody tr').count()).toBe(4);
    expect(await page.locator('#devices tbody').textContent()).toContain('Button 0');
    expect(await page.locator('#devices tbody').textContent()).toContain('Ward 3B, bay 1');
    await page.close();
  });

  it('an alarm appears at the top by push: no request from the page between the press and its display', async () => {
    const page = await env.browser.newPage({ acceptDownloads: true });
    await signIn(page, env.web.url);
    await view(page, 'events');
    const requests: string[] = [];
    page.on('request', (r) => requests.push(`${r.method()} ${r.url()}`));
    // The moment the alarm shows, in the page's own clock (same machine as the press below).
    // (Browser code as text: the tests are type-checked without the DOM library.)
    await page.evaluate(`new MutationObserver(() => {
      if (!window.alarmShownAt && document.querySelector('#alarms li.alarm')?.textContent?.includes('Button 1'))
        window.alarmShownAt = Date.now();
    }).observe(document.getElementById('alarms'), { childList: true, subtree: true })`);
    const pressedAt = Date.now();
    expect(await press(env.web.url, 'panic-1', 'button', true)).toBe(200);
    const alarm = page.locator('#alarms li.alarm', { hasText: 'Button 1' });
    await alarm.waitFor();
    const shownAt = (await page.evaluate('window.alarmShownAt')) as number;
    process.stdout.write(`alarm on the page ${shownAt - pressedAt} ms after the press was sent\n`);
    expect(requests).toEqual([]);
    // At the top: the alarm list comes before every view, whatever view is open.
    const alarmsY = (await page.locator('#alarmsBox').boundingBox())?.y ?? Number.POSITIVE_INFINITY;
    const eventsY = (await page.locator('#view-events').boundingBox())?.y ?? 0;
    expect(alarmsY).toBeLessThan(eventsY);
    expect(await alarm.textContent()).toContain('not acknowledged by the control room');
    // The live events list got it too, by the same push.
    await poll(() => page.locator('#events tbody').textContent()).toContain('panic button pressed');
    // Filters and CSV export of what they show.
    await page.selectOption('#fSeverity', 'critical');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    const csv = readFileSync((await download.path()) as string, 'utf8').split('\r\n');
    expect(csv[0]).toBe('ts,seq,severity,type,device,deviceType,test,walkTest,id');
    expect(csv.slice(1).every((l) => l.includes(',critical,'))).toBe(true);
    expect(csv.some((l) => l.includes(',panic.pressed,panic-1,'))).toBe(true);
    // The control room's acknowledgement (issue 10's alarm.ack) is shown apart, with who.
    const a = env.agent.alarms.list().find((x) => x.device === 'panic-1');
    env.agent.alarms.acknowledge({ id: a?.id as string }, 'control room: J. Doe');
    await view(page, 'overview');
    await poll(() => alarm.textContent()).toContain('acknowledged by the control room (control room: J. Doe)');
    await press(env.web.url, 'panic-1', 'button', false);
    await alarm.waitFor({ state: 'detached' });
    await page.close();
  });

  it('refuses the API and the stream without a session, and shows the sign-in form', async () => {
    for (const path of [
      '/api/status',
      '/api/devices',
      '/api/events/stream',
      '/api/walktests',
      '/api/config',
      '/metrics',
    ]) {
      const r = await fetch(`${env.web.url}${path}`);
      expect(r.status, path).toBe(401);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('WG_ERR_HTTP_UNAUTHORIZED');
    }
    const ctx = await env.browser.newContext();
    const page = await ctx.newPage();
    const r = await page.request.get(`${env.web.url}/api/overview`);
    expect(r.status()).toBe(401);
    await page.goto(env.web.url);
    await page.locator('#signin').waitFor({ state: 'visible' });
    expect(await page.locator('#app').isHidden()).toBe(true);
    await ctx.close();
  });

  it('refuses a state change without the CSRF token, from the signed-in browser itself', async () => {
    const page = await env.browser.newPage();
    await signIn(page, env.web.url);
    const post = async (csrf: string | null) =>
      (await page.evaluate(`(async () => {
        const headers = { 'content-type': 'application/json' };
        if (${JSON.stringify(csrf)} !== null) headers['x-csrf-token'] = ${JSON.stringify(csrf)};
        const r = await fetch('/api/walktests', { method: 'POST', headers, body: '{"devices":["panic-0"]}' });
        return { status: r.status, body: await r.json() };
      })()`)) as { status: number; body: { error: { code: string } } };
    for (const bad of [null, 'forged']) {
      const r = await post(bad);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('WG_ERR_HTTP_CSRF');
    }
    expect(env.agent.walkTests.active).toBeUndefined();
    // The page's own token works (and the test it started is ended again).
    const { csrf } = (await page.evaluate(`fetch('/api/session').then((r) => r.json())`)) as { csrf: string };
    expect((await post(csrf)).status).toBe(200);
    const end = await page.evaluate(
      `fetch('/api/walktests/finish', { method: 'POST', headers: { 'x-csrf-token': ${JSON.stringify(csrf)} } }).then((r) => r.status)`,
    );
    expect(end).toBe(200);
    await page.close();
  });

  it('at 390 px no element is wider than the viewport, on every view; screenshots of each', async () => {
    const ctx = await env.browser.newContext({ viewport: { width: 390, height: 844 } });
    const page = await ctx.newPage();
    await signIn(page, env.web.url);
    await press(env.web.url, 'panic-2', 'button', true); // an alarm on screen, with its long texts
    await page.locator('#alarms li.alarm', { hasText: 'Button 2' }).waitFor();
    for (const v of VIEWS) {
      await view(page, v);
      if (v === 'devices') {
        await page.click('a[data-open="panic-2"]');
        await page.locator('#devRaw').waitFor();
        await page.click('#devRaw summary');
      }
      if (v === 'config') await page.locator('#configText', { hasText: 'gateway' }).waitFor();
      const wide = (await page.evaluate(`(() => {
        const w = document.documentElement.clientWidth;
        const out = [];
        if (document.documentElement.scrollWidth > w) out.push('document ' + document.documentElement.scrollWidth);
        for (const el of document.querySelectorAll('body *')) {
          const r = el.getBoundingClientRect();
          if (r.width > 0 && (r.right > w + 0.5 || r.left < -0.5)) out.push(el.tagName + '#' + el.id + '.' + el.className + ' ' + r.left + '-' + r.right);
        }
        return out;
      })()`)) as string[];
      expect(wide, v).toEqual([]);
      await page.screenshot({ path: join(SHOT_DIR, `390-${v}.png`), fullPage: true });
    }
    await press(env.web.url, 'panic-2', 'button', false);
    await ctx.close();
  });

  it('screenshots each main view at laptop width', async () => {
    const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    await signIn(page, env.web.url);
    await press(env.web.url, 'panic-0', 'button', true);
    await page.locator('#alarms li.alarm', { hasText: 'Button 0' }).waitFor();
    for (const v of VIEWS) {
      await view(page, v);
      await page.screenshot({ path: join(SHOT_DIR, `${v}.png`), fullPage: true });
      if (v === 'overview' && process.env.WG_SCREENSHOT) await page.screenshot({ path: process.env.WG_SCREENSHOT });
    }
    await press(env.web.url, 'panic-0', 'button', false);
    await ctx.close();
  });

  it('planted secrets (MQTT password, token, password hash) appear in no page, API answer or log line', async () => {
    const secrets = [PLANTED_MQTT_PASSWORD, TEST_TOKEN, env.passwordHash, env.passwordHash.split(':')[5] as string];
    const auth = { authorization: `Bearer ${TEST_TOKEN}` };
    const bodies: string[] = [];
    for (const path of [
      '/api/status',
      '/api/overview',
      '/api/devices',
      '/api/devices/panic-0',
      '/api/outputs',
      '/api/alarms',
      '/api/events/recent',
      '/api/walktests',
      '/api/config',
      '/metrics',
      '/',
      '/errors',
      '/healthz',
    ])
      bodies.push(await (await fetch(`${env.web.url}${path}`, { headers: auth })).text());
    // The config view shows that the secrets exist, not what they are.
    expect(bodies.find((b) => b.includes('"users"'))).toContain('[redacted]');
    const page = await env.browser.newPage();
    await signIn(page, env.web.url, USER, PASSWORD);
    for (const v of VIEWS) {
      await view(page, v);
      if (v === 'config') await page.locator('#configText', { hasText: 'gateway' }).waitFor();
      bodies.push(await page.content());
    }
    await page.close();
    await waitFor(() => env.logs.some((l) => l.includes('signed in')), 5000, 'sign-in logged');
    for (const s of secrets) {
      for (const b of bodies) expect(b.includes(s), `a page or answer shows ${s.slice(0, 6)}…`).toBe(false);
      for (const l of env.logs) expect(l.includes(s), `a log line shows ${s.slice(0, 6)}…`).toBe(false);
    }
  });

  it('speaks Simplified Chinese to a Chinese browser, and switches language from the header', async () => {
    const ctx = await env.browser.newContext({ locale: 'zh-CN' });
    const page = await ctx.newPage();
    await page.goto(env.web.url);
    await poll(() => page.locator('#signin h2').textContent()).toBe('登录');
    await page.fill('#name', USER);
    await page.fill('#password', PASSWORD);
    await page.click('#signinBtn');
    await page.locator('#app').waitFor({ state: 'visible' });
    await poll(() => page.locator('#uplink').textContent()).toContain('已连接');
    expect(await page.locator('nav button[data-view="overview"]').textContent()).toBe('概览');
    await page.screenshot({ path: join(SHOT_DIR, 'overview-zh-CN.png'), fullPage: true });
    await page.selectOption('#lang', 'en');
    await poll(() => page.locator('nav button[data-view="overview"]').textContent()).toBe('Overview');
    expect(await page.locator('#uplink').textContent()).toContain('connected');
    await ctx.close();
  });

  it('can be used with the keyboard alone: sign in, then move between views', async () => {
    const page = await env.browser.newPage();
    await page.goto(env.web.url);
    await page.locator('#signin').waitFor({ state: 'visible' });
    const focused = () => page.evaluate('document.activeElement && document.activeElement.id');
    for (let i = 0; i < 6 && (await focused()) !== 'name'; i++) await page.keyboard.press('Tab');
    expect(await focused()).toBe('name');
    await page.keyboard.type(USER);
    await page.keyboard.press('Tab');
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press('Enter');
    await page.locator('#app').waitFor({ state: 'visible' });
    await page.locator('nav button[data-view="devices"]').focus();
    await page.keyboard.press('Enter');
    await page.locator('#view-devices').waitFor({ state: 'visible' });
    expect(await page.locator('nav button[data-view="devices"]').getAttribute('aria-current')).toBe('page');
    // Pressing a sim input from the keyboard: the pushed update keeps the focus on the button.
    await page.locator('button[data-d="panic-0"][data-a="1"]').focus();
    await page.keyboard.press('Enter');
    await page.locator('#devices tr[data-device="panic-0"]', { hasText: 'PRESSED' }).waitFor();
    expect(await page.evaluate(`document.activeElement.dataset.d + ' ' + document.activeElement.dataset.a`)).toBe(
      'panic-0 1',
    );
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter'); // the "off" button next to it
    await page.locator('#devices tr[data-device="panic-0"]', { hasText: 'idle' }).waitFor();
    await page.close();
  });

  it('text contrast is at least WCAG AA (4.5:1, 3:1 for large text) on every view, alarm shown', async () => {
    const page = await env.browser.newPage();
    await signIn(page, env.web.url);
    await press(env.web.url, 'panic-1', 'button', true);
    await page.locator('#alarms li.alarm', { hasText: 'Button 1' }).waitFor();
    for (const v of VIEWS) {
      await view(page, v);
      const low = (await page.evaluate(`(() => {
        const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
        const lum = ([r, g, b]) => {
          const f = (x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; };
          return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
        };
        const bg = (el) => {
          for (let e = el; e; e = e.parentElement) {
            const c = rgb(getComputedStyle(e).backgroundColor);
            if (c.length === 3 || (c.length === 4 && c[3] > 0)) return c.slice(0, 3);
          }
          return [255, 255, 255];
        };
        const out = [];
        for (const el of document.querySelectorAll('body *')) {
          const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
          const r = el.getBoundingClientRect();
          if (!own || r.width === 0) continue;
          const s = getComputedStyle(el);
          const a = lum(rgb(s.color));
          const b = lum(bg(el));
          const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
          const large = parseFloat(s.fontSize) >= 24 || (parseFloat(s.fontSize) >= 18.66 && Number(s.fontWeight) >= 700);
          if (ratio < (large ? 3 : 4.5)) out.push(el.tagName + '.' + el.className + ' "' + el.textContent.trim().slice(0, 30) + '" ' + ratio.toFixed(2));
        }
        return out;
      })()`)) as string[];
      expect(low, v).toEqual([]);
    }
    await press(env.web.url, 'panic-1', 'button', false);
    await page.close();
  });
});
