// The shipped unit file passes systemd's own checker.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { shippedFile } from '../../agent/paths.js';

describe('systemd unit', () => {
  const unit = shippedFile('systemd', 'wardgate.service');

  it('passes systemd-analyze verify', () => {
    const r = spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8' });
    expect(r.error).toBeUndefined();
    // verify warns about the absent binary path on machines without /opt/wardgate; nothing else.
    const problems = `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() && !l.includes('/opt/wardgate'));
    expect(problems).toEqual([]);
  });

  it('is Type=notify with a watchdog, restarts always, and does not restart on a bad config', () => {
    const text = readFileSync(unit, 'utf8');
    for (const line of [
      'Type=notify',
      'NotifyAccess=all',
      'Restart=always',
      'RestartPreventExitStatus=78',
      'NoNewPrivileges=yes',
    ]) {
      expect(text).toContain(line);
    }
    expect(text).toMatch(/^WatchdogSec=\d+/m);
  });
});
