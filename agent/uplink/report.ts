// What the uplink tells a technician: counters, the last error with its code and a hint (page,
// `/api/status`, `health`), and the log, once per state change — a broker that refuses every
// few seconds for an hour is one warning, not a thousand.
import type { Logger } from 'pino';
import type { ErrorCode } from '../errors.js';
import { type ConnectPolicy, hintFor, TAKEOVER_HINT } from './connect-policy.js';
import type { InboundStats } from './inbound-guard.js';

export interface UplinkStats {
  connects: number;
  connectFailures: number;
  disconnects: number;
  published: number;
  acked: number;
  lastConnectedAt: number | null;
  lastDisconnectedAt: number | null;
  lastError: string | null;
  lastErrorCode: ErrorCode | null;
  /** What to check about lastError, for a technician. */
  hint: string | null;
  /** Another client holds this client id (until a connection stays up for backoff.stableMs). */
  sessionTakenOver: boolean;
  inbound: InboundStats;
}

export class UplinkReport {
  private lastKey: string | undefined;
  readonly stats: UplinkStats = {
    connects: 0,
    connectFailures: 0,
    disconnects: 0,
    published: 0,
    acked: 0,
    lastConnectedAt: null,
    lastDisconnectedAt: null,
    lastError: null,
    lastErrorCode: null,
    hint: null,
    sessionTakenOver: false,
    inbound: { unsolicited: 0, droppedQos2: 0, oversize: 0 },
  };

  constructor(
    private readonly policy: ConnectPolicy,
    private readonly log: Logger,
  ) {}

  /** Log at `level` when `key` differs from the last one reported, at debug when it repeats. */
  log1(key: string, level: 'info' | 'warn' | 'error', obj: object, msg: string): void {
    // While the session is being fought over, every connect and drop is one state.
    const k = this.policy.takenOver ? 'takeover' : key;
    const lvl = k === this.lastKey ? 'debug' : level;
    this.lastKey = k;
    this.log[lvl](obj, msg);
  }

  /** `reason` null: no error (connected); a taken-over session stays reported until stable. */
  setError(reason: string | null): void {
    const takenOver = this.policy.takenOver;
    const s = this.stats;
    s.sessionTakenOver = takenOver;
    if (reason === null && takenOver) return;
    s.lastError = reason;
    const code: ErrorCode | null = takenOver ? 'WG_ERR_UPLINK_SESSION_TAKEN_OVER' : 'WG_ERR_UPLINK_CONNECT';
    s.lastErrorCode = reason === null ? null : code;
    s.hint = takenOver ? TAKEOVER_HINT : reason === null ? null : hintFor(reason);
  }

  /** The connection stayed up for backoff.stableMs. */
  stable(wasTakenOver: boolean, url: string | undefined): void {
    if (!wasTakenOver) return;
    this.stats.sessionTakenOver = false;
    this.stats.lastError = null;
    this.stats.lastErrorCode = null;
    this.stats.hint = null;
    this.lastKey = 'stable';
    this.log.info({ url }, 'broker connection stable again: session no longer taken over');
  }
}
