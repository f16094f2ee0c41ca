// A walk test end to end in a real browser: three chosen devices, each activation ticks with its
// time, the devices not yet activated are listed, events carry data.test and the walkTest id at
// the subscriber (a device outside the test does not), the finished test is stored and its
// printable report and CSV are downloaded.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/ports.js';
import { poll, press, SHOT_DIR, signIn, startEnv, USER, type WebEnv } from './web-env.js';

let env: WebEnv;
beforeAll(async () => {
  env = await startEnv({ buttons: 4 });
});
afterAll(async () => env?.close());

describe('walk test', () => {
  it('runs on three devices end to end and hands over a report', async () => {
    const page = await env.browser.newPage({ acceptDownloads: true });
    await signIn(page, env.web.url);
    await page.click('nav button[data-view="walktest"]');
    await page.locator('#wtDevices input').first().waitFor();
    expect(await page.inputValue('#wtTech')).toBe(USER);
    await page.fill('#wtWard', 'Ward 3B');
    const chosen = ['panic-0', 'panic-2', 'fire-1'];
    for (const box of await page.locator('#wtDevices input').all())
      if (!chosen.includes(await box.inputValue())) await box.uncheck();
    await page.click('#wtStartBtn');
    await page.locator('#wtActive').waitFor({ state: 'visible' });
    expect(await page.locator('#wtTable tbody tr').count()).toBe(3);
    expect(await page.locator('#wtPending li').count()).toBe(3);
    const id = env.agent.walkTests.active?.id as string;

    // The technician walks round: each press ticks, with its time, by push.
    expect(await press(env.web.url, 'panic-0', 'button', true)).toBe(200);
    await page.locator('#wtTable tr[data-wt="panic-0"] .tick').waitFor();
    await press(env.web.url, 'panic-0', 'button', false);
    await press(env.web.url, 'panic-3', 'button', true); // not in the test
    await press(env.web.url, 'panic-3', 'button', false);
    await press(env.web.url, 'fire-1', 'alarm', true);
    await page.locator('#wtTable tr[data-wt="fire-1"] .tick').waitFor();
    await press(env.web.url, 'fire-1', 'alarm', false);
    expect(await page.locator('#wtTable tr[data-wt="panic-0"] time').count()).toBeGreaterThan(0);
    // Not yet activated: the one device left.
    await poll(() => page.locator('#wtPending li').allTextContents()).toEqual(['Button 2 · Ward 3B, bay 3']);
    await page.screenshot({ path: join(SHOT_DIR, 'walktest-running.png'), fullPage: true });
    await press(env.web.url, 'panic-2', 'button', true);
    await page.locator('#wtTable tr[data-wt="panic-2"] .tick').waitFor();
    await press(env.web.url, 'panic-2', 'button', false);

    // The control room can tell test events apart.
    await waitFor(
      () => env.sub.events().filter((e) => e.data.walkTest === id && e.type === 'panic.pressed').length === 2,
      10_000,
      'test presses at the subscriber',
    );
    for (const e of env.sub.events().filter((x) => ['panic-0', 'panic-2', 'fire-1'].includes(x.device)))
      expect(e.data, `${e.device} ${e.type}`).toMatchObject({ test: true, walkTest: id });
    const outside = env.sub.events().filter((e) => e.device === 'panic-3');
    expect(outside.length).toBeGreaterThan(0);
    for (const e of outside) expect(e.data.test).toBeUndefined();

    await page.click('#wtFinish');
    await page.locator('#wtStart').waitFor({ state: 'visible' });
    const row = page.locator('#wtStored tbody tr').first();
    await poll(() => row.textContent()).toContain('3 of 3 devices passed');

    const [html] = await Promise.all([
      page.waitForEvent('download'),
      row.locator('a', { hasText: 'printable report' }).click(),
    ]);
    const report = readFileSync((await html.path()) as string, 'utf8');
    for (const text of [
      'test-site',
      'Ward 3B',
      USER,
      'Button 0',
      'Button 2',
      'Fire panel',
      'Ward manager (name, signature)',
    ])
      expect(report).toContain(text);
    expect(report.match(/class="pass"/g)?.length).toBe(3);
    expect(report).not.toContain('Button 3');
    expect(report).not.toMatch(/<script/i);

    const [csv] = await Promise.all([page.waitForEvent('download'), row.locator('a', { hasText: 'CSV' }).click()]);
    const lines = readFileSync((await csv.path()) as string, 'utf8')
      .trim()
      .split('\r\n');
    expect(lines[1]).toContain(`${id},test-site,Ward 3B,test-gw,${USER}`);
    const devRows = lines.slice(lines.indexOf('device,name,location,type,result,activationTs,activationType,seq') + 1);
    expect(new Set(devRows.map((l) => l.split(',')[0]))).toEqual(new Set(chosen));
    expect(devRows.every((l) => l.includes(',pass,'))).toBe(true);
    await page.screenshot({ path: join(SHOT_DIR, 'walktest-done.png'), fullPage: true });
    await page.close();
  });

  it('a test with a device never activated reports it as failed; the stored tests stay bounded', async () => {
    const run = env.agent.walkTests.start({ devices: ['panic-1'], technician: 't', ward: 'w' });
    const done = env.agent.walkTests.finish();
    expect(done.id).toBe(run.id);
    const r = await fetch(`${env.web.url}/api/walktests/${run.id}/report.csv`, {
      headers: { authorization: `Bearer ${(await import('../helpers/config.js')).TEST_TOKEN}` },
    });
    expect(await r.text()).toContain('panic-1,Button 1,"Ward 3B, bay 2",panic-button,fail');
    expect(env.agent.walkTests.list().length).toBe(2);
  });
});
