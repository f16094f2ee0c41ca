import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Ports below the kernel's ephemeral range: nothing else on the machine is handed one of these
 * (outgoing connections and listen(0) both take ephemeral ports). A port taken from the ephemeral
 * range and released could be given to another test's outgoing connection before the broker that
 * was to listen on it started: Mosquitto then exited with "Address already in use" (a .ci/run, once).
 */
function quietRange(): [number, number] | undefined {
  try {
    const [low] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && low > 12_000) return [10_000, low - 1];
  } catch {
    // not Linux, or no /proc: the kernel's choice below
  }
  return undefined;
}
const QUIET = quietRange();
const handedOut = new Set<number>();

function tryListen(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(port, '127.0.0.1', () => {
      const addr = srv.address();
      const got = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(got || undefined));
    });
  });
}

/** A free TCP port on 127.0.0.1, outside the ephemeral range where the system allows it. */
export async function freePort(): Promise<number> {
  if (QUIET) {
    const [from, to] = QUIET;
    for (let i = 0; i < 50; i++) {
      const port = from + Math.floor(Math.random() * (to - from + 1));
      if (handedOut.has(port)) continue;
      if ((await tryListen(port)) === port) {
        handedOut.add(port);
        return port;
      }
    }
  }
  const port = await tryListen(0);
  if (port === undefined) throw new Error('no free TCP port on 127.0.0.1');
  return port;
}

/** Poll `cond` until true or the deadline passes (bounded wait, no fixed sleeps). */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
