// Security headers on every answer, and the Host check. The page is served as files from 'self'
// only: no inline script or style, so the CSP can forbid both; nothing is fetched from elsewhere
// (the box is on a closed network). Host check: a browser tricked by DNS rebinding sends the
// attacker's name as Host; the page answers only to IP literals, localhost, the box's own
// hostname and `web.allowedHosts`.
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import type { FastifyReply } from 'fastify';

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function setSecurityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
  reply.header('cross-origin-opener-policy', 'same-origin');
  reply.header('cross-origin-resource-policy', 'same-origin');
}

export class HostCheck {
  private readonly names: Set<string>;

  constructor(allowed: string[] = []) {
    const h = hostname().toLowerCase();
    this.names = new Set(['localhost', h, `${h}.local`, ...allowed.map((a) => a.toLowerCase())]);
  }

  ok(host: string | undefined): boolean {
    if (!host) return false;
    let name = host.toLowerCase();
    if (name.startsWith('[')) name = name.slice(1, name.indexOf(']'));
    else if (name.includes(':')) name = name.slice(0, name.lastIndexOf(':'));
    if (name.endsWith('.')) name = name.slice(0, -1);
    return isIP(name) !== 0 || this.names.has(name);
  }
}
