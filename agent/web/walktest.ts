// Walk-test routes: start (chosen devices or all), finish, list, and each stored test as JSON,
// printable HTML report and CSV (agent/walktest.ts keeps the test; agent/web/report.ts renders it).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { WardgateError } from '../errors.js';
import type { Agent } from '../runtime.js';
import { pickLang, translator } from './i18n.js';
import { REPORT_CSP, reportCsv, reportHtml } from './report.js';

function startBody(body: unknown): { devices?: string[]; technician?: string; ward?: string } {
  if (body === undefined || body === null) return {};
  if (typeof body !== 'object' || Array.isArray(body))
    throw new WardgateError('WG_ERR_HTTP_BAD_REQUEST', 'body must be {"devices"?: [ids], "technician"?, "ward"?}');
  const b = body as Record<string, unknown>;
  const extra = Object.keys(b).filter((k) => !['devices', 'technician', 'ward'].includes(k));
  if (extra.length > 0) throw new WardgateError('WG_ERR_HTTP_BAD_REQUEST', `unknown key(s): ${extra.join(', ')}`);
  if (b.devices !== undefined && (!Array.isArray(b.devices) || b.devices.some((d) => typeof d !== 'string')))
    throw new WardgateError('WG_ERR_HTTP_BAD_REQUEST', '"devices" must be a list of device ids');
  for (const k of ['technician', 'ward'])
    if (b[k] !== undefined && typeof b[k] !== 'string')
      throw new WardgateError('WG_ERR_HTTP_BAD_REQUEST', `"${k}" must be a string`);
  return b as { devices?: string[]; technician?: string; ward?: string };
}

export function walkTestRoutes(app: FastifyInstance, agent: Agent, userOf: (req: FastifyRequest) => string): void {
  app.get('/api/walktests', async () => ({ active: agent.walkTests.active ?? null, stored: agent.walkTests.list() }));

  app.post('/api/walktests', async (req) => {
    const b = startBody(req.body);
    const technician = b.technician?.trim() || userOf(req);
    return agent.walkTests.start({
      ...(b.devices ? { devices: b.devices } : {}),
      technician,
      ward: b.ward?.trim() || agent.config.gateway.id,
    });
  });

  app.post('/api/walktests/finish', async () => agent.walkTests.finish());

  const find = (id: string) => {
    const run = agent.walkTests.get(id);
    if (!run) throw new WardgateError('WG_ERR_HTTP_NOT_FOUND', `walk test ${id.slice(0, 40)}`);
    return run;
  };

  app.get<{ Params: { id: string } }>('/api/walktests/:id', async (req) => find(req.params.id));

  app.get<{ Params: { id: string }; Querystring: { lang?: string } }>(
    '/api/walktests/:id/report.html',
    async (req, reply) => {
      const run = find(req.params.id);
      const lang = pickLang(req.query.lang, req.headers['accept-language']);
      return reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', REPORT_CSP)
        .header('content-disposition', `attachment; filename="walk-test-${run.id}.html"`)
        .send(reportHtml(run, translator(lang), lang));
    },
  );

  app.get<{ Params: { id: string } }>('/api/walktests/:id/report.csv', async (req, reply) => {
    const run = find(req.params.id);
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="walk-test-${run.id}.csv"`)
      .send(reportCsv(run));
  });
}
