// The last line of defence: what happens to an error that escaped every handler.
//
// Node's default is to die. On this box a death costs the alarm path RestartSec plus a start (the
// outbox keeps every accepted event, but nothing is accepted meanwhile), and one bad moment, such
// as EMFILE from a read of /proc (issue 7 item 6), must not cost that. So:
//
// - An operational error (a system call failed: EMFILE, ENOMEM, ECONNRESET…; anything carrying
//   `syscall`/`errno`) and any unhandled promise rejection are logged with WG_ERR_UNCAUGHT and
//   the process carries on. The code that failed had finished its own step; nothing was torn
//   halfway through someone else's state.
// - A programming error thrown synchronously (TypeError, RangeError…) may have interrupted an
//   emitter or stream in the middle of an update: carrying on would be guessing. The agent stops
//   cleanly (drivers, outbox flushed and closed, status offline) and exits 70 (EX_SOFTWARE), so
//   systemd (Restart=always, RestartSec=2) starts a fresh process.
// - More than `budget.count` errors of any kind within `budget.windowMs` is not one bad moment:
//   the same clean stop and exit (a leak of file descriptors is only fixed by a restart).
//
// The stop is bounded by `stopTimeoutMs`, below the unit's TimeoutStopSec=15, so systemd never
// has to SIGKILL it. Handlers throughout the agent (periodic jobs, connect steps, web routes)
// contain their own errors first; this guard counts what got past them.
import type { Logger } from 'pino';

export const EXIT_SOFTWARE = 70;

export interface ProcessGuardOptions {
  log: Logger;
  /** Clean stop of everything that runs; called at most once. */
  stop: (reason: string) => Promise<void>;
  stopTimeoutMs?: number;
  budget?: { count: number; windowMs: number };
  /** process.exit, replaced in tests. */
  exit?: (code: number) => void;
}

/** A system call failed (the environment), as opposed to a bug in the code. */
export function isOperational(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { syscall?: unknown; errno?: unknown };
  return typeof e.syscall === 'string' || typeof e.errno === 'number';
}

/** Install the handlers; returns a function that removes them. */
export function installProcessGuard(opts: ProcessGuardOptions): () => void {
  const { log } = opts;
  const budget = opts.budget ?? { count: 20, windowMs: 60_000 };
  const stopTimeoutMs = opts.stopTimeoutMs ?? 10_000;
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const recent: number[] = [];
  let restarting = false;

  const restart = (reason: string) => {
    if (restarting) return;
    restarting = true;
    log.fatal({ code: 'WG_ERR_UNCAUGHT', reason }, 'stopping cleanly so that systemd restarts the agent');
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        log.error({ code: 'WG_ERR_UNCAUGHT', stopTimeoutMs }, 'clean stop did not finish in time; exiting');
        resolve();
      }, stopTimeoutMs);
    });
    Promise.race([
      opts.stop(reason).catch((err) => log.error({ code: 'WG_ERR_UNCAUGHT', err }, 'error while stopping')),
      deadline,
    ]).finally(() => {
      clearTimeout(timer);
      log.flush?.();
      exit(EXIT_SOFTWARE);
    });
  };

  const handle = (err: unknown, origin: 'uncaughtException' | 'unhandledRejection') => {
    const now = Date.now();
    recent.push(now);
    while (recent.length > 0 && (recent[0] ?? now) <= now - budget.windowMs) recent.shift();
    const operational = isOperational(err);
    log.error(
      { code: 'WG_ERR_UNCAUGHT', origin, operational, err, recent: recent.length },
      'error escaped its handler',
    );
    if (restarting) return;
    if (origin === 'uncaughtException' && !operational) restart('a programming error escaped its handler');
    else if (recent.length > budget.count)
      restart(`${recent.length} uncaught errors within ${budget.windowMs / 1000} s`);
  };

  const onException = (err: Error) => handle(err, 'uncaughtException');
  const onRejection = (reason: unknown) => handle(reason, 'unhandledRejection');
  process.on('uncaughtException', onException);
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('uncaughtException', onException);
    process.off('unhandledRejection', onRejection);
  };
}
