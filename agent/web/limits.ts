// Bounds on the web port, so that whoever can reach it cannot take the agent down (issue 7 item 6:
// ~20k idle connections that never finished a request head exhausted the agent's file
// descriptors; the next broker reconnect then died of EMFILE).
//
// - At most `maxConnections` sockets at a time. Node accepts and closes anything beyond (the
//   server's 'drop' event): the page may be unreachable during a flood, the fds stay bounded.
//   256 is far beyond a technician's browser (a handful of keep-alive sockets) and far below a
//   service's fd limit.
// - A socket that has not finished its request head after `headersTimeoutMs` is answered 408 and
//   closed. Node checks this on a timer (`connectionsCheckingInterval`, 30 s by default, with a
//   60 s headersTimeout under fastify's requestTimeout 0): a socket that never sends a byte was
//   closed only after up to 90 s. Measured on Node 20: with these values such a socket closes
//   after headersTimeout + at most one check interval (test/integration/web-limits.test.ts).
// - `idleTimeoutMs` (socket inactivity) catches what the parser's timers do not: a client that
//   stops reading a response. `requestTimeoutMs` bounds a whole request, body included.
import type { Server } from 'node:http';
import type { Logger } from 'pino';

export interface WebLimits {
  maxConnections: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  idleTimeoutMs: number;
  /** How often Node looks for sockets past headersTimeout/requestTimeout. */
  checkIntervalMs: number;
}

export const WEB_LIMITS: WebLimits = {
  maxConnections: 256,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  // The page polls every 2 s: 5 s keeps its socket between polls, not an abandoned tab's forever.
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 30_000,
  checkIntervalMs: 1_000,
};

/** Options for Fastify(): fastify applies some to the server itself, the rest go to http.createServer. */
export function fastifyServerOptions(l: WebLimits) {
  return {
    connectionTimeout: l.idleTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    http: {
      headersTimeout: l.headersTimeoutMs,
      requestTimeout: l.requestTimeoutMs,
      keepAliveTimeout: l.keepAliveTimeoutMs,
      connectionsCheckingInterval: l.checkIntervalMs,
    },
  };
}

export interface WebConnectionStats {
  open: number;
  /** Connections accepted since start. */
  accepted: number;
  maxConnections: number;
  /** Connections refused because maxConnections were open. */
  refused: number;
  serverErrors: number;
}

const LOG_EVERY_MS = 60_000;

/**
 * Apply the connection bound and count what happens. Per connection, not per request: nothing
 * here is on the alarm path (POST /api/sim).
 */
export function guardConnections(server: Server, limits: WebLimits, log: Logger): WebConnectionStats {
  const stats: WebConnectionStats = {
    open: 0,
    accepted: 0,
    maxConnections: limits.maxConnections,
    refused: 0,
    serverErrors: 0,
  };
  server.maxConnections = limits.maxConnections;
  server.on('connection', (socket) => {
    stats.open++;
    stats.accepted++;
    socket.once('close', () => stats.open--);
  });
  // Logged once a minute at most: a flood must not turn into a flood of log lines.
  let lastLog = 0;
  let refusedAtLastLog = 0;
  server.on('drop', () => {
    stats.refused++;
    const now = Date.now();
    if (now - lastLog < LOG_EVERY_MS) return;
    lastLog = now;
    log.warn(
      { code: 'WG_ERR_HTTP_CONNECTION_LIMIT', refused: stats.refused - refusedAtLastLog, max: limits.maxConnections },
      'web connection limit reached; refusing new connections',
    );
    refusedAtLastLog = stats.refused;
  });
  // An accept() that fails (EMFILE, ENFILE) is an 'error' event on a listening server; fastify
  // listens for it only until listen() resolves, so without this it would be an uncaught exception.
  let lastErrorLog = 0;
  server.on('error', (err: NodeJS.ErrnoException) => {
    stats.serverErrors++;
    const now = Date.now();
    if (now - lastErrorLog < LOG_EVERY_MS) return;
    lastErrorLog = now;
    log.error({ code: 'WG_ERR_HTTP_SERVER', err, errors: stats.serverErrors }, 'web server error');
  });
  return stats;
}
