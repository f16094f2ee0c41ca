// The data routes behind sign-in (session) or a bearer token: status, overview, devices with their
// recent events, outputs, simulation, "probe now", metrics.
import type { FastifyInstance } from 'fastify';
import { WardgateError } from '../errors.js';
import { LOG_LEVELS } from '../jobs/log-level.js';
import type { Agent } from '../runtime.js';

/**
 * Optional hook a device model may offer (Modbus and ONVIF devices, issues 8/9): one on-demand
 * read whose raw answer the page shows. Doors (raw mapped Modbus points) and cameras (ONVIF info + clock) offer it.
 */
export interface Probeable {
  probe(): Promise<unknown>;
}

function probeOf(agent: Agent, id: string): Probeable | undefined {
  const model = agent.devices.devices.get(id)?.model as Partial<Probeable> | undefined;
  return typeof model?.probe === 'function' ? (model as Probeable) : undefined;
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

export function apiRoutes(
  app: FastifyInstance,
  agent: Agent,
  extra: { web: () => Record<string, unknown>; overview: () => unknown },
) {
  app.get('/api/status', async () => ({ ...agent.status(), web: extra.web() }));
  app.get('/api/overview', async () => extra.overview());
  app.get('/api/alarms', async () => ({ alarms: agent.alarms.list() }));
  app.get('/api/devices', async () => ({
    devices: agent.deviceStates().map((d) => (probeOf(agent, d.id) ? { ...d, canProbe: true } : d)),
  }));
  app.get<{ Params: { id: string } }>('/api/devices/:id', async (req) => {
    const d = agent.deviceStates().find((x) => x.id === req.params.id);
    if (!d) throw new WardgateError('WG_ERR_HTTP_NOT_FOUND', `device ${req.params.id}`);
    return { device: { ...d, canProbe: probeOf(agent, d.id) !== undefined }, events: agent.history.forDevice(d.id) };
  });
  app.post<{ Params: { id: string } }>('/api/devices/:id/probe', async (req) => {
    if (!agent.devices.devices.has(req.params.id))
      throw new WardgateError('WG_ERR_HTTP_NOT_FOUND', `device ${req.params.id}`);
    const p = probeOf(agent, req.params.id);
    if (!p) throw new WardgateError('WG_ERR_HTTP_NOT_FOUND', `device ${req.params.id} offers no probe`);
    return { device: req.params.id, at: new Date().toISOString(), answer: await p.probe() };
  });
  app.get('/api/events/recent', async () => ({ events: agent.history.recent() }));
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

  // Issue 12: the runtime log level, until the next restart (which goes back to log.level).
  app.post<{ Body: unknown }>('/api/log-level', async (req) => {
    const level = (req.body as { level?: unknown } | null)?.level;
    if (typeof level !== 'string' || !(LOG_LEVELS as readonly string[]).includes(level)) {
      throw new WardgateError('WG_ERR_HTTP_BAD_REQUEST', `body must be {"level": one of ${LOG_LEVELS.join(', ')}}`);
    }
    return agent.setLogLevel(level, 'page');
  });

  app.get('/metrics', async (_req, reply) => {
    reply.type(agent.metrics.registry.contentType);
    return agent.metrics.registry.metrics();
  });
}
