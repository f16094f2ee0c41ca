// The process-level safety net, in a real Node process (vitest owns its own process's handlers):
// an operational error or a rejection is logged and survived; a programming error, or a storm of
// errors, makes one clean stop and exit 70 for systemd to restart.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const GUARD = join(import.meta.dirname, '..', '..', 'dist', 'agent', 'process-guard.js');

/** Run `body` in a child with the guard installed; its log lines (JSON) and exit code come back. */
function runGuarded(body: string) {
  const script = `
    import pino from 'pino';
    import { installProcessGuard } from ${JSON.stringify(GUARD)};
    const log = pino({ base: null }, pino.destination({ fd: 1, sync: true }));
    installProcessGuard({
      log,
      budget: { count: 3, windowMs: 60_000 },
      stopTimeoutMs: 2000,
      stop: async (reason) => { log.info({ reason }, 'clean stop ran'); },
    });
    const later = (fn) => new Promise((r) => setTimeout(() => { r(); fn(); }, 5));
    ${body}
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: join(import.meta.dirname, '..', '..'),
    encoding: 'utf8',
    timeout: 20_000,
  });
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { msg: string; code?: string; operational?: boolean; origin?: string });
  return { status: r.status, lines, stderr: r.stderr };
}

const emfile = () =>
  Object.assign(new Error('EMFILE: too many open files, open /proc/self/stat'), {
    code: 'EMFILE',
    errno: -24,
    syscall: 'open',
  });

describe('process guard', () => {
  it('survives an EMFILE thrown from a timer and an unhandled rejection, logging each with a code', () => {
    const r = runGuarded(`
      globalThis.emfile = ${emfile.toString()};
      await later(() => { throw emfile(); });
      Promise.reject(new Error('nobody awaited me'));
      await later(() => {});
      log.info('still running');
    `);
    expect(r.status).toBe(0);
    const escaped = r.lines.filter((l) => l.msg === 'error escaped its handler');
    expect(escaped.map((l) => [l.code, l.origin, l.operational])).toEqual([
      ['WG_ERR_UNCAUGHT', 'uncaughtException', true],
      ['WG_ERR_UNCAUGHT', 'unhandledRejection', false],
    ]);
    expect(r.lines.some((l) => l.msg === 'still running')).toBe(true);
    expect(r.lines.some((l) => l.msg === 'clean stop ran')).toBe(false);
  });

  it('a programming error thrown synchronously: one clean stop, exit 70', () => {
    const r = runGuarded(`
      await later(() => { null.boom(); });
      setTimeout(() => log.info('must not be reached'), 10_000);
    `);
    expect(r.status).toBe(70);
    expect(r.lines.filter((l) => l.msg === 'clean stop ran')).toHaveLength(1);
    expect(r.lines.some((l) => l.msg === 'must not be reached')).toBe(false);
  });

  it('a storm of operational errors past the budget: one clean stop, exit 70', () => {
    const r = runGuarded(`
      globalThis.emfile = ${emfile.toString()};
      for (let i = 0; i < 6; i++) await later(() => { throw emfile(); });
      setTimeout(() => log.info('must not be reached'), 10_000);
    `);
    expect(r.status).toBe(70);
    expect(r.lines.filter((l) => l.msg === 'error escaped its handler').length).toBeGreaterThan(3);
    expect(r.lines.filter((l) => l.msg === 'clean stop ran')).toHaveLength(1);
  });
});
