// The box's local web server: /healthz for anyone, everything else behind a bearer token.
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ERRORS, type ErrorCode, errorMessage, WardgateError } from '../errors.js';
import type { Agent } from '../runtime.js';
import { TokenAuth } from './auth.js';
import { fastifyServerOptions, guardConnections, WEB_LIMITS, type WebLimits } from './limits.js';
import { PAGE_HTML } from './page.js';

export interface WebOptions {
  host: string;
  port: number;
  tokens: string[];
  log: Logger;
  /** Connection bound and timeouts (agent/web/limits.ts); tests shorten them. */
  limits?: Partial<WebLimits>;
}

/**
 * `{"active": true|false}` and nothing else. Checked by hand: no coercion ("yes" is a mistake to
 * report, not to guess at), and no second JSON-schema compiler in an agent that should stay small.
 */
function simBody(body: unknown): boolean {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new WardgateError('WG_ERR_HTTP_BAD_REQUEST', 'body must be a JSON object {"active": true|false}');
  }
  const extra = Object.keys(body).filter((k) => k !== 'active');
  if (extra.length > 0) throw new WardgateError('WG_ERR_HTTP_BAD_REQUEST', `unknown key(s): ${extra.join(', ')}`);
  const { active } = body as { active?: unknown };
  if (typeof active !== 'boolean') throw new WardgateError('WG_ERR_HTTP_BAD_REQUEST', '"active" must be true or false');
  return active;
}

function sendError(reply: FastifyReply, status: number, code: ErrorCode, detail?: string) {
  return reply.code(status).send({ error: { code, message: detail ? `${ERRORS[code]}: ${detail}` : ERRORS[code] } });
}

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  WG_ERR_HTTP_NOT_FOUND: 404,
  WG_ERR_SIM_NOT_SIMULATED: 404,
  WG_ERR_HTTP_BAD_REQUEST: 400,
  WG_ERR_OUTBOX_CLOSED: 503,
  WG_ERR_OUTBOX_DISK_FULL: 503,
};

export async function startWeb(agent: Agent, opts: WebOptions): Promise<{ app: FastifyInstance; url: string }> {
  const limits = { ...WEB_LIMITS, ...opts.limits };
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024, ...fastifyServerOptions(limits) });
  const connections = guardConnections(app.server, limits, opts.log);
  const auth = new TokenAuth(opts.tokens);

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0];
    // The page shell holds no data; it asks for a token and calls the API with it.
    if (path === '/healthz' || path === '/' || path === '/index.html') return;
    const verdict = auth.check(req.headers.authorization, req.ip);
    if (verdict === 'ok') return;
    if (verdict === 'locked')
      return sendError(
        reply.header('retry-after', '300'),
        429,
        'WG_ERR_HTTP_UNAUTHORIZED',
        'too many failed attempts; locked for 5 minutes',
      );
    return sendError(reply.header('www-authenticate', 'Bearer'), 401, 'WG_ERR_HTTP_UNAUTHORIZED');
  });

  app.setErrorHandler((err: Error & { statusCode?: number; validation?: unknown }, _req, reply) => {
    if (err instanceof WardgateError) return sendError(reply, STATUS_OF[err.code] ?? 500, err.code, errorMessage(err));
    if (err.validation || (err.statusCode && err.statusCode < 500))
      return sendError(reply, err.statusCode ?? 400, 'WG_ERR_HTTP_BAD_REQUEST', err.message);
    opts.log.error({ code: 'WG_ERR_INTERNAL', err }, 'web request failed');
    return sendError(reply, 500, 'WG_ERR_INTERNAL');
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'WG_ERR_HTTP_NOT_FOUND', req.url.split('?')[0]));

  app.get('/', async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(PAGE_HTML),
  );

  app.get('/healthz', async () => ({
    ok: true,
    gateway: agent.config.gateway.id,
    uplink: agent.uplink.connected ? 'connected' : 'disconnected',
    outboxWritable: agent.outbox.diskLow === undefined,
  }));

  app.get('/api/status', async () => ({ ...agent.status(), web: { ...connections } }));
  app.get('/api/devices', async () => ({ devices: agent.deviceStates() }));
  app.get('/api/outputs', async () => ({ outputs: agent.outputs() }));

  app.post<{ Params: { device: string; input: string }; Body: unknown }>(
    '/api/sim/:device/:input',
    async (req, reply) => {
      const active = simBody(req.body);
      const result = await agent.simulate(req.params.device, req.params.input, active);
      return reply.code(result.pending ? 202 : 200).send({
        accepted: result.accepted.map((e) => ({ id: e.id, seq: e.seq, type: e.type, severity: e.severity })),
        pending: result.pending,
      });
    },
  );

  app.get('/metrics', async (_req, reply) => {
    reply.type(agent.metrics.registry.contentType);
    return agent.metrics.registry.metrics();
  });

  const address = await app.listen({ host: opts.host, port: opts.port });
  return { app, url: address };
}
