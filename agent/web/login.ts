// Sign-in for people: POST /api/login with {name, password} (a `web.users` account) or {token} (a
// machine token traded for a session: the demo prints such a link). Failures are counted per
// account and per address, and only here: nothing the page does in the background can lock anyone
// out (issue 11). Locked: 429 with Retry-After, and the lockout is logged once.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { WardgateError } from '../errors.js';
import type { TokenAuth } from './auth.js';
import { sendError } from './http-errors.js';
import { hashPassword, verifyPassword } from './password.js';
import { cookieValue, SESSION_COOKIE, type Sessions, sessionCookie } from './sessions.js';
import { type LockoutOptions, Lockouts } from './throttle.js';

export interface LoginOptions {
  users: Array<{ name: string; passwordHash: string }>;
  tokens: TokenAuth;
  sessions: Sessions;
  secure: boolean;
  log: Logger;
  /** Per account: a few wrong passwords lock that name. */
  accountLockout?: LockoutOptions;
  /** Per address: more, since several technicians may share one NAT address. */
  addressLockout?: LockoutOptions;
}

export const ACCOUNT_LOCKOUT: LockoutOptions = { maxFailures: 5, windowMs: 15 * 60_000, lockMs: 5 * 60_000 };
export const ADDRESS_LOCKOUT: LockoutOptions = { maxFailures: 20, windowMs: 15 * 60_000, lockMs: 15 * 60_000 };
/** scrypt costs 16 MiB and ~50 ms a check: a flood of sign-ins must not queue without bound. */
const MAX_CHECKS_IN_FLIGHT = 4;

function loginBody(body: unknown): { name?: string; password?: string; token?: string } {
  if (!body || typeof body !== 'object' || Array.isArray(body))
    throw new WardgateError('WG_ERR_HTTP_BAD_REQUEST', 'body must be {"name", "password"} or {"token"}');
  const b = body as Record<string, unknown>;
  const extra = Object.keys(b).filter((k) => k !== 'name' && k !== 'password' && k !== 'token');
  if (extra.length > 0) throw new WardgateError('WG_ERR_HTTP_BAD_REQUEST', `unknown key(s): ${extra.join(', ')}`);
  for (const k of ['name', 'password', 'token'] as const)
    if (b[k] !== undefined && (typeof b[k] !== 'string' || (b[k] as string).length > 1024))
      throw new WardgateError('WG_ERR_HTTP_BAD_REQUEST', `"${k}" must be a string`);
  if (typeof b.token !== 'string' && (typeof b.name !== 'string' || typeof b.password !== 'string'))
    throw new WardgateError('WG_ERR_HTTP_BAD_REQUEST', 'give "name" and "password" (or "token")');
  return b as { name?: string; password?: string; token?: string };
}

export class Login {
  readonly accounts: Lockouts;
  readonly addresses: Lockouts;
  private inFlight = 0;
  private dummyHash: Promise<string> | undefined;

  constructor(private readonly opts: LoginOptions) {
    this.accounts = new Lockouts('account', opts.accountLockout ?? ACCOUNT_LOCKOUT, opts.log);
    this.addresses = new Lockouts('address', opts.addressLockout ?? ADDRESS_LOCKOUT, opts.log);
  }

  routes(app: FastifyInstance): void {
    app.post('/api/login', (req, reply) => this.login(req, reply));
    app.get('/api/session', async (req, reply) => {
      const s = this.opts.sessions.get(cookieValue(req.headers.cookie, SESSION_COOKIE));
      if (!s) return sendError(reply, 401, 'WG_ERR_HTTP_UNAUTHORIZED', 'not signed in');
      return { user: s.user, csrf: s.csrf };
    });
    // Behind the session + CSRF check of the server's hook (a state change like any other).
    app.post('/api/logout', async (req, reply) => {
      this.opts.sessions.destroy(cookieValue(req.headers.cookie, SESSION_COOKIE));
      return reply.header('set-cookie', sessionCookie('', this.opts.secure, 0)).send({ ok: true });
    });
  }

  private async login(req: FastifyRequest, reply: FastifyReply) {
    const body = loginBody(req.body);
    const address = req.ip;
    const account = body.token !== undefined ? undefined : body.name;
    const wait = Math.max(this.addresses.lockedFor(address), account ? this.accounts.lockedFor(account) : 0);
    if (wait > 0)
      return sendError(
        reply.header('retry-after', String(Math.ceil(wait / 1000))),
        429,
        'WG_ERR_HTTP_LOCKED_OUT',
        `try again in ${Math.ceil(wait / 60_000)} min`,
      );
    if (this.inFlight >= MAX_CHECKS_IN_FLIGHT)
      return sendError(reply.header('retry-after', '1'), 503, 'WG_ERR_HTTP_BUSY');
    this.inFlight++;
    let user: string | undefined;
    try {
      user = await this.check(body);
    } finally {
      this.inFlight--;
    }
    if (user === undefined) {
      this.addresses.fail(address, Date.now(), account ? { account } : {});
      if (account) this.accounts.fail(account, Date.now(), { address });
      return sendError(
        reply,
        401,
        'WG_ERR_HTTP_UNAUTHORIZED',
        body.token !== undefined ? 'wrong token' : 'wrong name or password',
      );
    }
    if (account) this.accounts.succeed(account);
    const { id, session } = this.opts.sessions.create(user);
    this.opts.log.info({ user, address }, 'signed in');
    return reply.header('set-cookie', sessionCookie(id, this.opts.secure)).send({ user, csrf: session.csrf });
  }

  /** The signed-in name, or undefined. An unknown name costs one scrypt too (no user enumeration by timing). */
  private async check(body: { name?: string; password?: string; token?: string }): Promise<string | undefined> {
    if (body.token !== undefined) return this.opts.tokens.matches(body.token) ? 'token' : undefined;
    const user = this.opts.users.find((u) => u.name === body.name);
    if (!user) {
      this.dummyHash ??= hashPassword('not a password of anyone');
      await verifyPassword(body.password ?? '', await this.dummyHash);
      return undefined;
    }
    return (await verifyPassword(body.password ?? '', user.passwordHash)) ? user.name : undefined;
  }
}
