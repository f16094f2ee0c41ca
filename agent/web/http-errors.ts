// Every answer that is not a success is `{"error": {"code": "WG_ERR_…", "message": "…"}}`, with the
// security headers — including fastify's own errors, which bypass the normal hooks (issue 11:
// FST_ERR_BAD_URL, a 414 echoing a 12 KB URL, raw "Client Error").
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { ERRORS, type ErrorCode, errorMessage, WardgateError } from '../errors.js';
import { setSecurityHeaders } from './headers.js';

const STATUS_OF: Partial<Record<ErrorCode, number>> = {
  WG_ERR_HTTP_NOT_FOUND: 404,
  WG_ERR_SIM_NOT_SIMULATED: 404,
  WG_ERR_HTTP_BAD_REQUEST: 400,
  WG_ERR_HTTP_UNAUTHORIZED: 401,
  WG_ERR_HTTP_CSRF: 403,
  WG_ERR_HTTP_LOCKED_OUT: 429,
  WG_ERR_HTTP_BUSY: 503,
  WG_ERR_HTTP_SSE_LIMIT: 503,
  WG_ERR_WALKTEST: 409,
  WG_ERR_OUTBOX_CLOSED: 503,
  WG_ERR_OUTBOX_DISK_FULL: 503,
};

/** Long details (a URL, a parser message quoting input) are cut: an error must not echo a flood back. */
const MAX_DETAIL = 200;

export function errorBody(code: ErrorCode, detail?: string): { error: { code: ErrorCode; message: string } } {
  const d = detail && detail.length > MAX_DETAIL ? `${detail.slice(0, MAX_DETAIL)}…` : detail;
  return { error: { code, message: d ? `${ERRORS[code]}: ${d}` : ERRORS[code] } };
}

export function sendError(reply: FastifyReply, status: number, code: ErrorCode, detail?: string) {
  setSecurityHeaders(reply);
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(code, detail));
}

/** The route's error handler: our own errors by code, fastify's 4xx as bad requests, the rest 500. */
export function errorHandler(log: Logger) {
  return (err: FastifyError & { validation?: unknown }, _req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof WardgateError) {
      // A WardgateError's message already starts with its catalogue text.
      const detail = errorMessage(err).slice(ERRORS[err.code].length + 2);
      return sendError(reply, STATUS_OF[err.code] ?? 500, err.code, detail || undefined);
    }
    if (err.validation || (err.statusCode && err.statusCode < 500))
      return sendError(reply, err.statusCode ?? 400, 'WG_ERR_HTTP_BAD_REQUEST', err.message);
    log.error({ code: 'WG_ERR_INTERNAL', err }, 'web request failed');
    return sendError(reply, 500, 'WG_ERR_INTERNAL');
  };
}

/** Errors fastify raises before routing (a bad %-escape, an over-long parameter). */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply) {
  if (err.code === 'FST_ERR_BAD_URL') return sendError(reply, 400, 'WG_ERR_HTTP_BAD_REQUEST', 'malformed URL encoding');
  if (err.code === 'FST_ERR_MAX_PARAM_LENGTH') return sendError(reply, 414, 'WG_ERR_HTTP_URI_TOO_LONG');
  return sendError(reply, 400, 'WG_ERR_HTTP_BAD_REQUEST');
}

/**
 * Requests the HTTP parser refused (no request object exists): written on the socket by hand,
 * in the same shape. A reset socket has nothing left to answer.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, text, detail] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, 'Request Timeout', 'request not received in time']
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large', 'request head too large']
        : [400, 'Bad Request', 'the request could not be parsed'];
  const body = JSON.stringify(errorBody('WG_ERR_HTTP_CLIENT', detail));
  if (socket.writable)
    socket.write(
      `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n${body}`,
    );
  socket.destroy();
}
