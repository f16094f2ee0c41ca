// When to try the broker again, and what to tell a technician about why it keeps failing.
//
// - The backoff resets only after a connection has stayed up for `stableMs` (issue 7): resetting
//   on CONNACK let two boxes with one `gateway.id` kick each other off thousands of times in 10 s,
//   each time firing the offline will.
// - The first attempt after an established connection drops waits too (jittered), so a broker
//   restart is not met by every gateway of the hospital in the same millisecond.
// - A session taken over (MQTT 5 DISCONNECT 0x8E, or `takeoverDrops` connections in a row that
//   die within `quickDropMs` of their CONNACK) is its own state, reported with a hint, and retried
//   at the longest delay only. The guess is needed even on MQTT 5: Mosquitto 2.0.11 (Debian 12)
//   closes the old connection without a DISCONNECT; it cannot be told from a network that drops
//   every connection within seconds, and the hint says both.
// - A broker that went away is not a takeover: an attempt that fails between two quick drops (the
//   port refused, no CONNACK) means the broker was down, whereas a client that holds our id lets
//   every attempt in at once. So a failed attempt ends the run of quick drops (and a suspected
//   takeover), and so does a drop the broker explained with another reason (0x8B shutting down).
//   Counting a restarting broker's drops kept queued alarms waiting 9.7-18.4 s after it was back.
import { Backoff, type BackoffOptions } from './backoff.js';

export interface ConnectPolicyOptions extends BackoffOptions {
  /** A connection up this long is healthy: the backoff and the takeover suspicion reset. */
  stableMs: number;
  /** A connection that ends sooner than this after its CONNACK counts as a quick drop. */
  quickDropMs?: number;
  /** Quick drops in a row that mean someone else holds this client id. */
  takeoverDrops?: number;
  /**
   * The delay (ceiling, jittered in [t/2, t]) while the session is taken over (default 30 s). The
   * ordinary cap (`maxMs`) is seconds, so a broker that comes back is used at once (issue 13); a
   * fight over one client id is not something retrying sooner can win.
   */
  takeoverMs?: number;
}

export const TAKEOVER_HINT =
  'another box (or client) connects with the same client id: check that every gateway has its own gateway.id ' +
  '(and mqtt.clientId); the broker keeps one session per client id and drops the other. Without a second box, ' +
  'something drops every connection within seconds of its start (broker limits, a proxy, the network)';

export class ConnectPolicy {
  private readonly backoff: Backoff;
  private connectedAt: number | undefined;
  private stableTimer: NodeJS.Timeout | undefined;
  private quickDrops = 0;
  /** Someone else is using this client id (until a connection stays up for `stableMs`). */
  takenOver = false;
  /** The broker said so (0x8E), rather than the quick drops suggesting it. */
  private explicitTakeover = false;

  constructor(
    private readonly opts: ConnectPolicyOptions,
    private readonly onStable: (wasTakenOver: boolean) => void = () => {},
  ) {
    this.backoff = new Backoff(opts);
  }

  /** CONNACK received. */
  connected(): void {
    this.connectedAt = Date.now();
    if (this.stableTimer) clearTimeout(this.stableTimer);
    this.stableTimer = setTimeout(() => {
      this.stableTimer = undefined;
      const was = this.takenOver;
      this.backoff.reset();
      this.quickDrops = 0;
      this.takenOver = false;
      this.explicitTakeover = false;
      this.onStable(was);
    }, this.opts.stableMs);
    this.stableTimer.unref?.();
  }

  /**
   * An established connection ended (`takeover`: the broker said 0x8E; `explained`: it closed the
   * connection with another reason, e.g. 0x8B server shutting down). Returns the delay before the
   * next attempt; `takenOver` then tells whether this drop is (still) a session takeover.
   */
  dropped(takeover: boolean, explained = false): number {
    if (this.stableTimer) clearTimeout(this.stableTimer);
    this.stableTimer = undefined;
    const upMs = this.connectedAt === undefined ? 0 : Date.now() - this.connectedAt;
    this.connectedAt = undefined;
    if (upMs < (this.opts.quickDropMs ?? 5000) && !explained) this.quickDrops++;
    else this.quickDrops = 0;
    if (takeover) this.explicitTakeover = true;
    if (takeover || this.quickDrops >= (this.opts.takeoverDrops ?? 3)) this.takenOver = true;
    if (!this.takenOver) return this.backoff.next();
    this.backoff.saturate();
    this.backoff.next(); // counted as an attempt, like any other
    const t = Math.max(this.opts.takeoverMs ?? 30_000, this.opts.maxMs);
    return Math.round(t / 2 + (t / 2) * (this.opts.random ?? Math.random)());
  }

  /** Connections in a row that ended within quickDropMs of their CONNACK. */
  get quickDropsInRow(): number {
    return this.quickDrops;
  }

  /** An attempt failed before its CONNACK: the broker is away, which a takeover never looks like. */
  failed(): number {
    this.quickDrops = 0;
    if (!this.explicitTakeover) this.takenOver = false;
    return this.backoff.next();
  }

  /** Stop: no timer left behind. */
  stop(): void {
    if (this.stableTimer) clearTimeout(this.stableTimer);
    this.stableTimer = undefined;
  }
}

/** MQTT 5 reason codes a broker gives in CONNACK or DISCONNECT, by name for the log and the page. */
const REASONS: Record<number, string> = {
  128: 'unspecified error',
  129: 'malformed packet',
  130: 'protocol error',
  131: 'implementation specific error',
  132: 'unsupported protocol version',
  133: 'client identifier not valid',
  134: 'bad user name or password',
  135: 'not authorized',
  136: 'server unavailable',
  137: 'server busy',
  138: 'banned',
  139: 'server shutting down',
  140: 'bad authentication method',
  141: 'keep alive timeout',
  142: 'session taken over',
  147: 'receive maximum exceeded',
  149: 'packet too large',
  151: 'quota exceeded',
  152: 'administrative action',
  156: 'use another server',
  157: 'server moved',
  159: 'connection rate exceeded',
};

export function reasonName(code: number): string {
  return `0x${code.toString(16).padStart(2, '0')} ${REASONS[code] ?? 'reason code'}`;
}

/**
 * One short, stable reason for a failed or lost connection: a socket or TLS error code
 * (ECONNREFUSED, CERT_HAS_EXPIRED…), an MQTT reason code, or the library's message.
 */
export function failureReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err ?? 'connection closed');
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'number') return `${reasonName(code)} (${err.message})`;
  if (typeof code === 'string') return `${code}: ${err.message}`;
  return err.message;
}

/** What a technician can check for a failure reason (shown with the error on the page and in health). */
export function hintFor(reason: string): string | null {
  const r = reason.toLowerCase();
  if (r.includes('econnrefused'))
    return 'nothing accepts connections at the broker address: is the broker running, is the port in mqtt.brokers right?';
  if (r.includes('enotfound') || r.includes('eai_again'))
    return 'the broker host name does not resolve: check DNS and mqtt.brokers';
  if (
    r.includes('etimedout') ||
    r.includes('connack timeout') ||
    r.includes('ehostunreach') ||
    r.includes('enetunreach')
  )
    return 'no answer from the broker: check the network path and firewalls';
  if (r.includes('cert') || r.includes('ssl') || r.includes('tls'))
    return "TLS failed: check mqtt.tls (ca, servername) and the box's clock";
  if (r.includes('0x86') || r.includes('0x87') || r.includes('not authorized') || r.includes('bad user'))
    return 'the broker refused the credentials: check mqtt.username / mqtt.password and the broker ACL';
  if (r.includes('packet too large') || r.includes('over the limit'))
    return 'the broker sent a packet larger than the agent accepts: check what publishes to this gateway';
  return null;
}
