// The NUT driver: polls `LIST VAR` of each configured UPS on its own timer (a slow upsd delays only
// its own UPS) and emits what it read, or why it could not. It decides nothing: status transitions
// and low-battery policy are the UPS model's (agent/devices/ups.ts).
import { uptimeMs } from '../../agent/clock.js';
import { errorCode, errorMessage } from '../../agent/errors.js';
import type { Driver, DriverContext, DriverHealth } from '../types.js';
import { NutClient } from './client.js';
import { nutCodeOf } from './protocol.js';

export interface NutTarget {
  /** Driver-local point: `ups@host:port`. */
  point: string;
  host: string;
  port: number;
  ups: string;
  username?: string;
  password?: string;
  timeoutMs: number;
  pollMs: number;
}

export type NutReadingValue =
  | { kind: 'vars'; vars: Record<string, string> }
  | { kind: 'error'; code: string; error: string; nutCode?: string };

export const nutPoint = (ups: string, host: string, port: number) => `${ups}@${host}:${port}`;

interface Poller {
  target: NutTarget;
  client: NutClient | undefined;
  timer: NodeJS.Timeout | undefined;
  running: Promise<void> | undefined;
  lastErrorCode?: string;
  lastError?: string;
}

export class NutDriver implements Driver {
  readonly name = 'nut';
  private ctx: DriverContext | undefined;
  private readonly pollers: Poller[];
  private readonly counters = { polls: 0, errors: 0, reconnects: 0 };
  private stopped = false;

  constructor(targets: NutTarget[]) {
    this.pollers = targets.map((target) => ({ target, client: undefined, timer: undefined, running: undefined }));
  }

  async start(ctx: DriverContext): Promise<void> {
    this.ctx = ctx;
    this.stopped = false;
    // Spread the first polls over one interval so several UPSes never poll in the same tick.
    const n = Math.max(1, this.pollers.length);
    for (const [i, p] of this.pollers.entries()) this.schedule(p, (p.target.pollMs * i) / n);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const p of this.pollers) clearTimeout(p.timer);
    await Promise.all(
      this.pollers.map(async (p) => {
        if (p.running) {
          // A poll in flight is cut short (its socket closed) rather than waited out: the stop
          // budget is seconds for every driver together.
          p.client?.close();
          await p.running;
        } else await p.client?.logout(); // a polite goodbye to upsd, bounded by the timeout
        p.client = undefined;
      }),
    );
  }

  health(): DriverHealth {
    const bad = this.pollers.find((p) => p.lastErrorCode);
    return {
      state: this.stopped ? 'stopped' : bad ? 'degraded' : 'running',
      ...(bad?.lastErrorCode ? { lastErrorCode: bad.lastErrorCode, lastError: bad.lastError ?? '' } : {}),
      counters: { ...this.counters },
      points: Object.fromEntries(
        this.pollers.map((p) => [
          p.target.point,
          p.lastErrorCode ? { ok: false, detail: `${p.lastErrorCode}: ${p.lastError}` } : { ok: true },
        ]),
      ),
    };
  }

  private schedule(p: Poller, delayMs: number): void {
    if (this.stopped) return;
    p.timer = setTimeout(() => {
      p.running = this.poll(p).finally(() => {
        p.running = undefined;
        this.schedule(p, p.target.pollMs);
      });
    }, delayMs);
  }

  private async poll(p: Poller): Promise<void> {
    const { target } = p;
    this.counters.polls++;
    let value: NutReadingValue;
    try {
      if (!p.client?.connected) {
        p.client?.close();
        if (p.client) this.counters.reconnects++;
        const client = new NutClient({ host: target.host, port: target.port, timeoutMs: target.timeoutMs });
        p.client = client;
        await client.connect();
        if (target.username !== undefined && target.password !== undefined) {
          await client.login(target.username, target.password, target.ups);
        }
      }
      value = { kind: 'vars', vars: await p.client.listVar(target.ups) };
      p.lastErrorCode = undefined;
      p.lastError = undefined;
    } catch (err) {
      this.counters.errors++;
      const code = errorCode(err) ?? 'WG_ERR_NUT_PROTOCOL';
      const nutCode = nutCodeOf(err);
      // An ERR reply (DATA-STALE, DRIVER-NOT-CONNECTED) leaves the session usable; a refused login
      // or a broken stream does not.
      if (code !== 'WG_ERR_NUT_REPLY') {
        p.client?.close();
        p.client = undefined;
      }
      if (code !== p.lastErrorCode) {
        this.ctx?.log.warn({ code, nutCode, ups: target.point, err: errorMessage(err) }, 'NUT poll failed');
      }
      p.lastErrorCode = code;
      p.lastError = errorMessage(err);
      value = { kind: 'error', code, error: errorMessage(err), ...(nutCode ? { nutCode } : {}) };
    }
    if (this.stopped || !this.ctx || this.ctx.signal.aborted) return;
    this.ctx.emit({ point: target.point, value, ts: Date.now(), uptimeMs: uptimeMs() });
  }
}
