// sd_notify without a native module: systemd-notify with our PID (the unit sets NotifyAccess=all).
// READY only after the outbox opened and drivers started; WATCHDOG only while the event loop
// turns and the outbox accepts writes.
import { execFile } from 'node:child_process';
import type { Logger } from 'pino';

export function notify(state: string, log: Logger): void {
  if (!process.env.NOTIFY_SOCKET) return;
  execFile('systemd-notify', [`--pid=${process.pid}`, state], (err) => {
    if (err) log.warn({ err, state }, 'systemd-notify failed');
  });
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
