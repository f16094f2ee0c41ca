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
  /** Per broker URL, the state last logged (failing over between two dead brokers is one state each). */
  private readonly lastKey = new Map<string, string>();
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

  /** Log at `level` when `key` differs from the last one reported for `url`, at debug when it repeats. */
  log1(url: string, key: string, level: 'info' | 'warn' | 'error', obj: object, msg: string): void {
    // While the session is being fought over, every connect and drop is one state.
    const k = this.policy.takenOver ? 'takeover' : key;
    const lvl = this.lastKey.get(url) === k ? 'debug' : level;
    // Connected: any later failure is news again (but a broker that refuses MQTT 5 is said once,
    // until it accepts 5: its scope is `v5:{url}`).
    if (k === 'up') for (const scope of this.lastKey.keys()) if (!scope.startsWith('v5:')) this.lastKey.delete(scope);
    this.lastKey.set(url, k);
    this.log[lvl](obj, msg);
  }

  /** Forget what was logged for `scope`: the next message there is news. */
  forget(scope: string): void {
    this.lastKey.delete(scope);
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
    this.lastKey.clear();
    this.log.info({ url }, 'broker connection stable again: session no longer taken over');
  }
}
