// Live events by push (server-sent events), issue 11: the page no longer polls the whole status
// every 2 s. One stream per open page: `hello` (everything at once), then `events` (each batch of
// durable events, with the devices they touched and the active alarms), `walktest`, and
// `overview` every few seconds. Fed from the agent's event tap after the commit, deferred to the
// next turn so the alarm path never waits on a browser. Bounded: at most `max` streams; a stream
// whose client stops reading (more than MAX_BUFFERED unsent) is closed.
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { WgEvent } from '../event.js';
import type { Agent } from '../runtime.js';
import { CSP } from './headers.js';
import { sendError } from './http-errors.js';

const MAX_BUFFERED = 512 * 1024;
/** Events replayed to a page when it opens (the rest are on the device pages). */
const REPLAY = 100;

export interface LiveEventsOptions {
  max: number;
  overviewEveryMs: number;
  /**
   * Whether the request's sign-in still holds (checked at every overview tick): a page left open
   * must not outlive its session's idle expiry through its stream.
   */
  stillSignedIn: (req: FastifyRequest) => boolean;
}

export class LiveEvents {
  private readonly clients = new Map<ServerResponse, FastifyRequest>();
  private pending: WgEvent[] = [];
  private alarmsChanged = false;
  private scheduled = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(
    private readonly agent: Agent,
    private readonly overview: () => unknown,
    private readonly log: Logger,
    private readonly opts: LiveEventsOptions,
  ) {
    this.unsubscribe.push(
      agent.history.subscribe((events) => {
        if (this.clients.size === 0) return;
        for (const ev of events) this.pending.push(ev);
        this.schedule();
      }),
      // A control-room acknowledgement has no event of its own here: pushed as it is recorded.
      agent.alarms.onChange(() => {
        if (this.clients.size === 0) return;
        this.alarmsChanged = true;
        this.schedule();
      }),
    );
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  get open(): number {
    return this.clients.size;
  }

  route(app: FastifyInstance): void {
    app.get('/api/events/stream', (req, reply) => {
      if (this.clients.size >= this.opts.max) return sendError(reply, 503, 'WG_ERR_HTTP_SSE_LIMIT');
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
        'content-security-policy': CSP,
        'x-accel-buffering': 'no',
      });
      this.clients.set(res, req);
      const gone = () => {
        this.clients.delete(res);
        if (this.clients.size === 0) this.stopTimer();
      };
      req.raw.socket.once('close', gone);
      res.once('close', gone);
      this.send(res, 'hello', {
        overview: this.overview(),
        devices: this.agent.deviceStates(),
        outputs: this.agent.outputs(),
        events: this.agent.history.recent().slice(-REPLAY),
      });
      this.startTimer();
    });
  }

  /** End every stream (the server is closing: an open stream would hold app.close()). */
  close(): void {
    this.stopTimer();
    for (const u of this.unsubscribe) u();
    for (const res of this.clients.keys()) res.end();
    this.clients.clear();
  }

  private startTimer(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      for (const [res, req] of this.clients)
        if (!this.opts.stillSignedIn(req)) {
          this.clients.delete(res);
          res.end(); // the page asks /api/session, gets 401, and shows the sign-in form
        }
      this.broadcast('overview', this.overview());
    }, this.opts.overviewEveryMs);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private flush(): void {
    this.scheduled = false;
    const events = this.pending;
    this.pending = [];
    const alarmsOnly = this.alarmsChanged && events.length === 0;
    this.alarmsChanged = false;
    if (this.clients.size === 0) return;
    if (alarmsOnly) {
      this.broadcast('alarms', this.agent.alarms.list());
      return;
    }
    if (events.length === 0) return;
    try {
      const touched = new Set(events.map((e) => e.device));
      const devices = this.agent.deviceStates().filter((d) => touched.has(d.id));
      this.broadcast('events', { events, devices, outputs: this.agent.outputs(), alarms: this.agent.alarms.list() });
      const run = this.agent.walkTests.active;
      if (run && events.some((e) => e.data.walkTest === run.id)) this.broadcast('walktest', run);
    } catch (err) {
      this.log.error({ code: 'WG_ERR_INTERNAL', err }, 'live events could not be sent');
    }
  }

  broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of this.clients.keys()) this.write(res, frame);
  }

  private send(res: ServerResponse, event: string, data: unknown): void {
    this.write(res, `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  private write(res: ServerResponse, frame: string): void {
    if (res.writableLength > MAX_BUFFERED) {
      this.log.warn({ buffered: res.writableLength }, 'closing a live event stream that does not read');
      this.clients.delete(res);
      res.destroy();
      return;
    }
    res.write(frame);
  }
}
