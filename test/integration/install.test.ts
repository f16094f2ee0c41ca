// scripts/install.sh, proven in a throwaway root (--root: no apt, no users, no systemctl there):
// two installs give identical trees, the installed unit passes `systemd-analyze verify --root`,
// and --uninstall keeps the outbox and the config while --purge removes them.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/config.js';
import { install, manifest, manifestDiff, seedBoxRoot, snapshotCheckout } from '../helpers/install-tree.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('install.sh --root', () => {
  const work = tempDir('wg-install-');
  dirs.push(work);
  const src = join(work, 'src');
  const root = join(work, 'root');

  it('installs twice into the same root with identical trees, and the unit verifies', () => {
    snapshotCheckout(src);
    seedBoxRoot(root);
    const first = install(src, ['--root', root, '--prebuilt']);
    expect(first).toContain('no service started');
    const ours = (rel: string) => rel === 'usr' || rel === 'bin';
    const a = manifest(root, ours);
    expect(a.get('opt/wardgate/dist/agent/cli.js')).toMatch(/^f /);
    expect(a.get('etc/systemd/system/wardgate.service')).toMatch(/^f 644 /);
    expect(a.get('etc/wardgate/config.example.yaml')).toMatch(/^f /);
    // Dev tools pruned from the installed node_modules; runtime dependencies kept.
    expect(a.has('opt/wardgate/node_modules/vitest')).toBe(false);
    expect(a.has('opt/wardgate/node_modules/better-sqlite3')).toBe(true);
    install(src, ['--root', root, '--prebuilt']);
    expect(manifestDiff(a, manifest(root, ours))).toEqual([]);

    const unit = join(root, 'etc/systemd/system/wardgate.service');
    const v = spawnSync('systemd-analyze', ['verify', `--root=${root}`, unit], { encoding: 'utf8' });
    expect(`${v.stdout}${v.stderr}`.trim()).toBe('');
    expect(v.status).toBe(0);
    expect(readFileSync(unit, 'utf8')).toContain('ExecReload=/bin/kill -HUP $MAINPID');
  });

  it('verify --root catches a unit whose executable is not on the box', () => {
    const bad = join(root, 'etc/systemd/system/wardgate-bad.service');
    writeFileSync(
      bad,
      readFileSync(join(root, 'etc/systemd/system/wardgate.service'), 'utf8').replaceAll(
        '/usr/bin/node',
        '/usr/bin/nodejs',
      ),
    );
    const v = spawnSync('systemd-analyze', ['verify', `--root=${root}`, bad], { encoding: 'utf8' });
    rmSync(bad);
    expect(v.status).not.toBe(0);
    expect(v.stderr).toContain('/usr/bin/nodejs');
  });

  it('--uninstall keeps the data and the config; --purge removes them', () => {
    const data = join(root, 'var/lib/wardgate');
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'outbox.db'), 'events not yet delivered');
    writeFileSync(join(root, 'etc/wardgate/config.yaml'), 'gateway: {id: ward-3}\n');
    const out = install(src, ['--root', root, '--uninstall']);
    expect(out).toContain('kept the outbox');
    expect(existsSync(join(root, 'opt/wardgate'))).toBe(false);
    expect(existsSync(join(root, 'etc/systemd/system/wardgate.service'))).toBe(false);
    expect(existsSync(join(root, 'etc/wardgate/config.example.yaml'))).toBe(false);
    expect(readFileSync(join(data, 'outbox.db'), 'utf8')).toBe('events not yet delivered');
    expect(readFileSync(join(root, 'etc/wardgate/config.yaml'), 'utf8')).toContain('ward-3');
    // Reinstalling over kept data leaves the data alone.
    install(src, ['--root', root, '--prebuilt']);
    expect(readFileSync(join(data, 'outbox.db'), 'utf8')).toBe('events not yet delivered');
    install(src, ['--root', root, '--uninstall', '--purge']);
    expect(existsSync(data)).toBe(false);
    expect(existsSync(join(root, 'etc/wardgate'))).toBe(false);
  });

  it('refuses --purge without --uninstall and unknown options', () => {
    const r = spawnSync('bash', [join(src, 'scripts/install.sh'), '--root', root, '--purge'], { encoding: 'utf8' });
    expect(r.status).toBe(64);
    expect(r.stderr).toContain('--purge goes with --uninstall');
    const u = spawnSync('bash', [join(src, 'scripts/install.sh'), '--frobnicate'], { encoding: 'utf8' });
    expect(u.status).toBe(64);
  });
});
