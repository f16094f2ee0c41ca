// The page on `wardgate demo`, whose config has every device type the box drives (buttons, fire
// panel, inputs, camera, UPS): each device shows by name with a readable state, sim inputs of every
// type are pressable, and at 390 px nothing is wider than the viewport. The page knows no device
// type it must render specially to show it (doors, cameras and UPS come from other issues).
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/agent-process.js';
import { useCleanups } from '../helpers/cleanup.js';
import { tempDir } from '../helpers/config.js';
import { waitFor } from '../helpers/ports.js';
import { CHROMIUM, SHOT_DIR } from './web-env.js';

const cleanup = useCleanups();

function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

describe('the page on the demo', () => {
  it('shows every device type by name with a state, and fits a 390 px phone', async () => {
    const proc = spawn(process.execPath, [CLI, 'demo', '--port', '0', '--mqtt-port', '0', '--data-dir', tempDir()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanup(() => stop(proc));
    let out = '';
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await waitFor(() => out.includes('Ctrl-C stops it.'), 30_000, 'demo banner');
    const link = /web page: +(\S+)/.exec(out)?.[1] as string;
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
    cleanup(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(link);
    await page.locator('#uplink', { hasText: 'connected' }).waitFor();
    await page.click('nav button[data-view="devices"]');
    await page.locator('#devices tbody tr').first().waitFor();
    const rows = await page.locator('#devices tbody tr').all();
    expect(rows.length).toBeGreaterThan(10);
    for (const row of rows) {
      const name = (await row.locator('a[data-open]').textContent()) ?? '';
      const state = ((await row.locator('td').nth(1).textContent()) ?? '').replace('state:', '').trim();
      expect(name, 'a name').not.toBe('');
      expect(state, `${name}: a readable state`).not.toBe('');
      expect(state, `${name}: not raw JSON`).not.toContain('{');
    }
    const types = await page.evaluate(
      `[...document.querySelectorAll('#devices tbody tr small')].map((e) => e.textContent)`,
    );
    for (const t of ['camera', 'UPS', 'panic button', 'fire panel']) expect(String(types)).toContain(t);
    const wide = (await page.evaluate(`(() => {
      const w = document.documentElement.clientWidth;
      return [...document.querySelectorAll('body *')].filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && r.right > w + 0.5;
      }).map((el) => el.tagName + '#' + el.id);
    })()`)) as string[];
    expect(wide).toEqual([]);
    await page.screenshot({ path: join(SHOT_DIR, 'demo-devices-390.png'), fullPage: true });
  });
});
