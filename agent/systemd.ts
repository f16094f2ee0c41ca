// sd_notify without a native module: systemd-notify with our PID (the unit sets NotifyAccess=all).
// READY only after the outbox opened and drivers started; WATCHDOG only while the event loop
// turns and the outbox accepts writes.
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

// One systemd-notify at a time: two child processes may otherwise deliver RELOADING=1 after the
// READY=1 that ends the reload, and systemd would wait for a READY that never comes.
let chain: Promise<void> = Promise.resolve();

export function notify(state: string, log: Logger): Promise<void> {
  if (!process.env.NOTIFY_SOCKET) return Promise.resolve();
  // RELOADING=1 carries the monotonic time it was sent at: systemd >= 253 requires it (for
  // Type=notify-reload); 252 (Debian 12) ignores it. process.hrtime is CLOCK_MONOTONIC on Linux.
  const fields = state === 'RELOADING=1' ? [state, `MONOTONIC_USEC=${process.hrtime.bigint() / 1000n}`] : [state];
  chain = chain.then(
    () =>
      new Promise<void>((resolve) => {
        execFile('systemd-notify', [`--pid=${process.pid}`, ...fields], (err) => {
          if (err) log.warn({ err, state }, 'systemd-notify failed');
          resolve();
        });
      }),
  );
  return chain;
}

/** Ping the watchdog at half its period while `healthy()` holds; returns a stop function. */
export function startWatchdog(healthy: () => boolean, log: Logger): () => void {
  const usec = Number(process.env.WATCHDOG_USEC ?? 0);
  if (!process.env.NOTIFY_SOCKET || !usec) return () => {};
  const t = setInterval(
    () => {
      if (healthy()) notify('WATCHDOG=1', log);
      else log.error('not pinging the watchdog: outbox writer unhealthy');
    },
    Math.max(1000, usec / 2000),
  );
  t.unref();
  return () => clearInterval(t);
}
