// The box's local web server (DESIGN §7, issue 11). /healthz and the page's own files for anyone;
// everything else needs a signed-in session (people: cookie + CSRF token on every state change)
// or a bearer token (machines). Every answer carries the security headers; every error is WG_ERR
// JSON. Connection bounds and timeouts: agent/web/limits.ts.
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { errorMessage, WardgateError } from '../errors.js';
import type { Agent } from '../runtime.js';
import { apiRoutes } from './api.js';
import { TOKEN_LOCKOUT, TokenAuth } from './auth.js';
import { configRoutes } from './config-view.js';
import { LiveEvents } from './events-sse.js';
import { HostCheck, setSecurityHeaders } from './headers.js';
import { clientErrorHandler, errorHandler, frameworkErrors, sendError } from './http-errors.js';
import { fastifyServerOptions, guardConnections, WEB_LIMITS, type WebLimits } from './limits.js';
import { Login } from './login.js';
import { DepthSampler, overview } from './overview.js';
import { cookieValue, SESSION_COOKIE, Sessions, sameSecret } from './sessions.js';
import { staticRoutes } from './static.js';
import type { LockoutOptions } from './throttle.js';
import { walkTestRoutes } from './walktest.js';

export interface WebOptions {
  host: string;
  port: number;
  /** Bearer tokens as sha256:<hex> (machines). */
  tokens: string[];
  log: Logger;
  /** Technician accounts; default: the config's `web.users`. */
  users?: Array<{ name: string; passwordHash: string }>;
  /** PEM file paths; default: the config's `web.tls`. HTTPS when given. */
  tls?: { cert: string; key: string };
  sessionIdleMinutes?: number;
  allowedHosts?: string[];
  /** Connection bound and timeouts (agent/web/limits.ts); tests shorten them. */
  limits?: Partial<WebLimits>;
  /** Lockout policies (tests shorten them). */
  lockouts?: { token?: LockoutOptions; account?: LockoutOptions; address?: LockoutOptions };
}

/** Open without a session: the page's own files, its sign-in, and the box's liveness. */
const PUBLIC = new Set(['/', '/index.html', '/healthz', '/errors', '/api/login', '/api/session']);
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

declare module 'fastify' {
  interface FastifyRequest {
    /** Who is asking: a signed-in user's name, or `token` for a bearer token. */
    who?: string;
  }
}

/** The page's certificate and key; a file that cannot be read is a config error that names it. */
function readTlsFiles(files: { cert: string; key: string }): { cert: Buffer; key: Buffer } {
  const read = (what: 'cert' | 'key') => {
    try {
      return readFileSync(files[what]);
    } catch (err) {
      throw new WardgateError('WG_ERR_CONFIG_INVALID', `web.tls.${what}: ${errorMessage(err)}`, { cause: err });
    }
  };
  return { cert: read('cert'), key: read('key') };
}

export async function startWeb(agent: Agent, opts: WebOptions): Promise<{ app: FastifyInstance; url: string }> {
  const cfg = agent.config.web ?? {};
  const limits = { ...WEB_LIMITS, ...opts.limits };
  const tlsFiles = opts.tls ?? cfg.tls;
  const secure = tlsFiles !== undefined;
  const server = fastifyServerOptions(limits);
  const app = Fastify({
    logger: false,
    bodyLimit: 16 * 1024,
    frameworkErrors,
    clientErrorHandler,
    ...server,
    ...(tlsFiles ? { https: { ...server.http, ...readTlsFiles(tlsFiles) } } : {}),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;
  const connections = guardConnections(app.server, limits, opts.log);
  const tokens = new TokenAuth(opts.tokens, opts.lockouts?.token ?? TOKEN_LOCKOUT, opts.log);
  const sessions = new Sessions((opts.sessionIdleMinutes ?? cfg.sessionIdleMinutes ?? 30) * 60_000);
  const login = new Login({
    users: opts.users ?? cfg.users ?? [],
    tokens,
    sessions,
    secure,
    log: opts.log,
    ...(opts.lockouts?.account ? { accountLockout: opts.lockouts.account } : {}),
    ...(opts.lockouts?.address ? { addressLockout: opts.lockouts.address } : {}),
  });
  const hosts = new HostCheck(opts.allowedHosts ?? cfg.allowedHosts);
  const sampler = new DepthSampler(agent, opts.log);
  let live: LiveEvents | undefined;
  const webStats = (): Record<string, unknown> => ({
    ...connections,
    sessions: sessions.size,
    liveStreams: live?.open ?? 0,
    lockouts: { tokenAddresses: tokens.tracked, accounts: login.accounts.tracked, addresses: login.addresses.tracked },
  });
  const makeOverview = () => overview(agent, sampler, webStats());
  live = new LiveEvents(agent, makeOverview, opts.log, {
    max: 16,
    overviewEveryMs: 5000,
    // A bearer token has no idle expiry; a session's ends while its page sits open.
    stillSignedIn: (req) =>
      req.who === 'token' ||
      sessions.get(cookieValue(req.headers.cookie, SESSION_COOKIE), Date.now(), false) !== undefined,
  });
  const stream = live;

  // Whether a request may go on to its route; false once it has been answered here. Called from a
  // callback hook, not an async one: no promise and no extra microtask before every request (a sim
  // press on the alarm path included).
  const gate = (req: FastifyRequest, reply: FastifyReply): boolean => {
    setSecurityHeaders(reply);
    const path = req.url.split('?')[0] ?? '';
    if (path === '/healthz') return true;
    if (!hosts.ok(req.headers.host)) {
      sendError(reply, 421, 'WG_ERR_HTTP_BAD_HOST');
      return false;
    }
    // A browser says where a request comes from: no state change (sign-in included) from elsewhere.
    const origin = req.headers.origin;
    const sameOrigin = origin === undefined || origin.replace(/^https?:\/\//, '') === req.headers.host;
    if (!SAFE_METHODS.has(req.method) && !sameOrigin) {
      sendError(reply, 403, 'WG_ERR_HTTP_CSRF', 'foreign Origin');
      return false;
    }
    if (PUBLIC.has(path) || path.startsWith('/assets/') || path.startsWith('/i18n/')) return true;
    const verdict = tokens.check(req.headers.authorization, req.ip);
    if (verdict === 'ok') {
      req.who = 'token';
      return true; // a bearer token is never sent by a browser on its own: no CSRF to check
    }
    if (verdict === 'locked') {
      sendError(reply.header('retry-after', '300'), 429, 'WG_ERR_HTTP_LOCKED_OUT', 'too many wrong tokens');
      return false;
    }
    if (verdict === 'denied') {
      sendError(reply.header('www-authenticate', 'Bearer'), 401, 'WG_ERR_HTTP_UNAUTHORIZED', 'wrong token');
      return false;
    }
    const session = sessions.get(cookieValue(req.headers.cookie, SESSION_COOKIE));
    if (!session) {
      sendError(reply, 401, 'WG_ERR_HTTP_UNAUTHORIZED', 'sign in first');
      return false;
    }
    req.who = session.user;
    if (SAFE_METHODS.has(req.method)) return true;
    // Every state change from a browser: the session's CSRF token in a header a cross-site form
    // cannot set (the Origin was checked above).
    if (!sameSecret(req.headers['x-csrf-token'] as string | undefined, session.csrf)) {
      sendError(reply, 403, 'WG_ERR_HTTP_CSRF');
      return false;
    }
    return true;
  };
  app.addHook('onRequest', (req, reply, done) => {
    if (gate(req, reply)) done();
  });
  app.addHook('onSend', (req, reply, payload, done) => {
    if (req.url.startsWith('/api/') && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  app.setErrorHandler(errorHandler(opts.log));
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'WG_ERR_HTTP_NOT_FOUND', req.url.split('?')[0]));
  app.addHook('preClose', async () => {
    stream.close();
    sampler.stop();
  });

  app.get('/healthz', async () => ({
    ok: true,
    gateway: agent.config.gateway.id,
    uplink: agent.uplink.connected ? 'connected' : 'disconnected',
    outboxWritable: agent.outbox.diskLow === undefined,
  }));
  staticRoutes(app);
  login.routes(app);
  apiRoutes(app, agent, { web: webStats, overview: makeOverview });
  stream.route(app);
  walkTestRoutes(app, agent, (req) => req.who ?? 'unknown');
  configRoutes(app, agent.config);

  sampler.start();
  try {
    const address = await app.listen({ host: opts.host, port: opts.port });
    return { app, url: address };
  } catch (err) {
    // Port taken (the demo then tries another): leave no timer or tap behind.
    sampler.stop();
    stream.close();
    throw err;
  }
}
