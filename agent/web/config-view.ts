// The running configuration with secrets redacted, and `check-config` of an uploaded file. The
// check is read-only and never reads secrets: a `{file}` secret in an uploaded config must not
// become a way to learn which files exist on the box.
import type { FastifyInstance } from 'fastify';
import { outputAndActionWarnings } from '../actions/validate.js';
import { ConfigError, parseConfigText } from '../config/load.js';
import { redactedData, redactUrlText } from '../config/redact.js';
import type { Config } from '../config/types.js';

/** Names whose values are never shown, besides what agent/config/redact.ts already hides. */
const ALSO_SECRET = /(passwordHash|privateKey|^key$|\.key$|token)/i;
export const REDACTED = '[redacted]';

export function redactConfig(value: unknown, path = ''): unknown {
  if (Array.isArray(value)) return value.map((v, i) => redactConfig(v, `${path}[${i}]`));
  if (value && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => {
        const p = path ? `${path}.${k}` : k;
        if (ALSO_SECRET.test(k) || redactedData(p, '') === undefined) return [k, REDACTED];
        return [k, redactConfig(v, p)];
      }),
    );
  if (redactedData(path, '') === undefined) return REDACTED;
  return typeof value === 'string' ? redactUrlText(value) : value;
}

export function configRoutes(app: FastifyInstance, config: Config): void {
  app.get('/api/config', async () => ({ config: redactConfig(config) }));

  // YAML (or JSON) as the raw body; parsed like `wardgate check-config` does, without reading secrets.
  app.addContentTypeParser(['application/yaml', 'text/yaml', 'text/plain'], { parseAs: 'string' }, (_req, body, done) =>
    done(null, body),
  );
  app.post('/api/config/check', { bodyLimit: 256 * 1024 }, async (req) => {
    const text = typeof req.body === 'string' ? req.body : JSON.stringify(req.body ?? null);
    try {
      const cfg = parseConfigText(text, 'uploaded');
      const warnings = outputAndActionWarnings(cfg as unknown as Record<string, unknown>);
      return { ok: true, gateway: cfg.gateway.id, devices: cfg.devices.length, problems: [], warnings };
    } catch (err) {
      if (err instanceof ConfigError) return { ok: false, problems: err.problems, warnings: [] };
      throw err;
    }
  });
}
