// The page's files: index.html, its scripts and style (agent/web/assets/), the string catalogues
// (agent/web/i18n/), and /errors — the README's error-code table as a page the device list links
// to (the box may have no route to the internet, so the README on GitHub is out of reach).
// Read once at start into memory; served only by exact name (no path from the request reaches fs).
import { readdirSync, readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { ERRORS } from '../errors.js';
import { shippedFile } from '../paths.js';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.html': 'text/html; charset=utf-8',
};

function filesIn(...dir: string[]): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of readdirSync(shippedFile(...dir))) {
    const ext = f.slice(f.lastIndexOf('.'));
    if (TYPES[ext]) out.set(f, readFileSync(shippedFile(...dir, f)));
  }
  return out;
}

const esc = (s: string) =>
  s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

/** Rows `| \`WG_ERR_X\` / \`WG_ERR_Y\` | text |` of the README's "Error codes" section. */
export function errorsPage(): string {
  let rows: Array<[string[], string]> = [];
  try {
    const readme = readFileSync(shippedFile('README.md'), 'utf8');
    const section = readme.split(/^## Error codes$/m)[1]?.split(/^## /m)[0] ?? '';
    rows = section
      .split('\n')
      .filter((l) => l.startsWith('| `WG_ERR'))
      .map((l) => {
        const [, codes = '', text = ''] = l.split(/\s*\|\s*/);
        return [[...codes.matchAll(/`(WG_ERR_[A-Z_]+)`/g)].map((m) => m[1] as string), text.replace(/`/g, '')];
      });
  } catch {
    rows = []; // no README shipped (a trimmed image): the catalogue below still lists every code
  }
  const known = new Set(rows.flatMap(([c]) => c));
  for (const [code, msg] of Object.entries(ERRORS)) if (!known.has(code)) rows.push([[code], msg]);
  const body = rows
    .map(
      ([codes, text]) =>
        `<tr>${`<td>${codes.map((c) => `<code id="${esc(c)}">${esc(c)}</code>`).join(' ')}</td>`}<td>${esc(text)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>wardgate error codes</title><link rel="stylesheet" href="/assets/app.css"></head><body><main class="doc">
<h1>wardgate error codes</h1><p><a href="/">←</a></p><table class="wrap"><tbody>${body}</tbody></table></main></body></html>`;
}

export function staticRoutes(app: FastifyInstance): void {
  const assets = filesIn('agent', 'web', 'assets');
  const i18n = filesIn('agent', 'web', 'i18n');
  const index = assets.get('index.html');
  const errors = errorsPage();
  const send =
    (files: Map<string, Buffer>) =>
    async (req: { params: { file: string } }, reply: import('fastify').FastifyReply) => {
      const f = files.get(req.params.file);
      if (!f || req.params.file === 'index.html') return reply.callNotFound();
      const ext = req.params.file.slice(req.params.file.lastIndexOf('.'));
      return reply
        .type(TYPES[ext] as string)
        .header('cache-control', 'no-cache')
        .send(f);
    };
  app.get('/', async (_req, reply) =>
    reply
      .type(TYPES['.html'] as string)
      .header('cache-control', 'no-store')
      .send(index),
  );
  app.get('/index.html', async (_req, reply) => reply.redirect('/'));
  app.get('/errors', async (_req, reply) => reply.type(TYPES['.html'] as string).send(errors));
  app.get<{ Params: { file: string } }>('/assets/:file', send(assets));
  app.get<{ Params: { file: string } }>('/i18n/:file', send(i18n));
}
