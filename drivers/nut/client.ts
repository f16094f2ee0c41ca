// A small NUT network-protocol client (TCP 3493): LIST VAR, GET VAR, USERNAME/PASSWORD/LOGIN,
// LOGOUT. No CLI wrappers (upsc per poll costs a fork) and no npm client (the ones published are
// unmaintained callback APIs). One request at a time per connection, as upsd answers in order and
// a reply carries no request id. Any timeout, malformed line or drop closes the socket: after a
// half-read reply the stream cannot be trusted, and the caller reconnects on its next poll.
import { Socket } from 'node:net';
import { WardgateError } from '../../agent/errors.js';
import { parseVarList, quote, replyError, splitWords } from './protocol.js';

export interface NutClientOptions {
  host: string;
  port: number;
  timeoutMs: number;
}

/** A reply line longer than this is not NUT (upsd caps lines well below it). */
const MAX_LINE = 16 * 1024;

interface Pending {
  request: string;
  /** For lists: the END line we wait for; lines before it are collected. */
  listEnd?: string;
  listBegin?: string;
  lines: string[];
  started: boolean;
  resolve(lines: string[]): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** One connection; after any failure make a new client (the driver does, on its next poll). */
export class NutClient {
  private socket: Socket | undefined;
  private buffer = '';
  private pending: Pending | undefined;
  private chain: Promise<unknown> = Promise.resolve();
  private closedError: Error | undefined;

  constructor(private readonly opts: NutClientOptions) {}

  get connected(): boolean {
    return this.socket !== undefined && this.closedError === undefined;
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = new Socket();
      let settled = false;
      const timer = setTimeout(() => {
        settled = true;
        socket.destroy();
        reject(new WardgateError('WG_ERR_NUT_TIMEOUT', `connect to ${this.where()}`));
      }, this.opts.timeoutMs);
      socket.setNoDelay(true);
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => this.onData(chunk));
      socket.on('error', (err) => {
        const e = new WardgateError('WG_ERR_NUT_CONNECT', `${this.where()}: ${err.message}`, { cause: err });
        if (!settled) {
          settled = true;
          clearTimeout(timer);
          reject(e);
        }
        this.fail(e);
      });
      socket.on('close', () =>
        this.fail(new WardgateError('WG_ERR_NUT_CONNECT', `${this.where()}: connection closed`)),
      );
      socket.connect(this.opts.port, this.opts.host, () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.socket = socket;
        resolve();
      });
    });
  }

  /** USERNAME + PASSWORD, then LOGIN <ups>: upsd checks the password only at LOGIN. */
  async login(username: string, password: string, ups: string): Promise<void> {
    await this.simple(`USERNAME ${quote(username)}`);
    await this.simple(`PASSWORD ${quote(password)}`);
    await this.simple(`LOGIN ${quote(ups)}`);
  }

  async listVar(ups: string): Promise<Record<string, string>> {
    const lines = await this.request(`LIST VAR ${quote(ups)}`, `END LIST VAR ${ups}`, `BEGIN LIST VAR ${ups}`);
    return parseVarList(ups, lines);
  }

  async getVar(ups: string, name: string): Promise<string> {
    const [line] = await this.request(`GET VAR ${quote(ups)} ${quote(name)}`);
    const w = splitWords(line ?? '');
    if (w.length !== 4 || w[0] !== 'VAR' || w[1] !== ups || w[2] !== name) {
      throw new WardgateError('WG_ERR_NUT_PROTOCOL', `unexpected reply to GET VAR: ${JSON.stringify(line)}`);
    }
    return w[3] as string;
  }

  /** Polite goodbye, bounded by the timeout; the socket is closed either way. */
  async logout(): Promise<void> {
    try {
      if (this.connected) await this.request('LOGOUT');
    } catch {
      // Logout is a courtesy: upsd closes the connection after `OK Goodbye`, or we close it here.
    } finally {
      this.close();
    }
  }

  close(): void {
    const s = this.socket;
    this.socket = undefined;
    s?.destroy();
    this.fail(new WardgateError('WG_ERR_NUT_CONNECT', 'client closed'));
  }

  private async simple(request: string): Promise<void> {
    const [line] = await this.request(request);
    if (!line?.startsWith('OK'))
      throw new WardgateError(
        'WG_ERR_NUT_PROTOCOL',
        `unexpected reply to ${request.split(' ')[0]}: ${JSON.stringify(line)}`,
      );
  }

  /** Send one request; resolves with its reply line, or the list body for list requests. */
  private request(request: string, listEnd?: string, listBegin?: string): Promise<string[]> {
    const run = () =>
      new Promise<string[]>((resolve, reject) => {
        const socket = this.socket;
        if (!socket || this.closedError) {
          reject(this.closedError ?? new WardgateError('WG_ERR_NUT_CONNECT', 'not connected'));
          return;
        }
        const timer = setTimeout(() => {
          this.fail(
            new WardgateError('WG_ERR_NUT_TIMEOUT', `${request.split(' ')[0]} after ${this.opts.timeoutMs} ms`),
          );
          socket.destroy();
        }, this.opts.timeoutMs);
        this.pending = { request, lines: [], started: listBegin === undefined, resolve, reject, timer };
        if (listEnd !== undefined) this.pending.listEnd = listEnd;
        if (listBegin !== undefined) this.pending.listBegin = listBegin;
        socket.write(`${request}\n`);
      });
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    for (;;) {
      const nl = this.buffer.indexOf('\n');
      if (nl < 0) break;
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      this.onLine(line);
    }
    if (this.buffer.length > MAX_LINE) {
      this.fail(new WardgateError('WG_ERR_NUT_PROTOCOL', `reply line longer than ${MAX_LINE} bytes`));
      this.socket?.destroy();
    }
  }

  private onLine(line: string): void {
    const p = this.pending;
    if (!p) {
      // upsd never speaks unasked; an unsolicited line means the stream is out of step.
      this.fail(new WardgateError('WG_ERR_NUT_PROTOCOL', `unsolicited line ${JSON.stringify(line.slice(0, 200))}`));
      this.socket?.destroy();
      return;
    }
    let words: string[];
    try {
      words = splitWords(line);
    } catch (err) {
      this.fail(err as Error);
      this.socket?.destroy();
      return;
    }
    const nutErr = replyError(words, p.request);
    if (nutErr) {
      this.settle(undefined, nutErr);
      return;
    }
    if (p.listEnd === undefined) {
      this.settle([line]);
      return;
    }
    if (!p.started) {
      if (line !== p.listBegin) {
        this.fail(
          new WardgateError(
            'WG_ERR_NUT_PROTOCOL',
            `expected ${JSON.stringify(p.listBegin)}, got ${JSON.stringify(line.slice(0, 200))}`,
          ),
        );
        this.socket?.destroy();
        return;
      }
      p.started = true;
      return;
    }
    if (line === p.listEnd) this.settle(p.lines);
    else p.lines.push(line);
  }

  private settle(lines: string[] | undefined, err?: Error): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(lines ?? []);
  }

  /** The connection is unusable: fail the request in flight and every later one until reconnect. */
  private fail(err: Error): void {
    if (!this.closedError) this.closedError = err;
    this.buffer = '';
    this.settle(undefined, this.closedError);
  }

  private where(): string {
    return `${this.opts.host}:${this.opts.port}`;
  }
}
