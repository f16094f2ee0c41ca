// The command router (DESIGN §7, issue 10): every message on `{prefix}/{gw}/cmd/{device}` goes
// through the checks in this order, and the first that fails decides the reason:
//   well-formed → known key → valid signature → not expired (with skew) → nonce not seen
//   → allowed for key/action/device → supported action → executed.
// Nothing executes unless every check passed, and the nonce is committed to disk before it does.
// Every command, accepted or not, becomes an event (`command.executed` / `command.rejected`) and
// is answered on `cmd-result/{device}` with `{commandId, ok, reason?, detail?, at}` (QoS 1).
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { errorMessage } from '../errors.js';
import { type AllowRule, isAllowed } from './allow.js';
import { CommandRejected, type Envelope, parseEnvelope, type RejectReason, signedBytes } from './envelope.js';
import { publicKeyFromBase64, verifyBytes } from './keys.js';
import type { NonceStore } from './nonces.js';

export interface CommandKey {
  id: string;
  publicKey: string;
  allow: AllowRule[];
}

/** One action: `check` runs with the well-formed test (args shape only), `run` after every check. */
export interface CommandAction {
  check(args: Record<string, unknown>, device: string): void;
  run(env: Envelope, by: string): Promise<Record<string, unknown>>;
}

export interface CommandResult {
  commandId: string | null;
  ok: boolean;
  reason?: RejectReason;
  detail?: string;
  at: string;
}

export interface RouterOptions {
  keys: CommandKey[];
  nonces: NonceStore;
  actions: ReadonlyMap<string, CommandAction>;
  clockSynced(): boolean;
  /** Records command.executed / command.rejected (durable, via the outbox). */
  event(type: 'command.executed' | 'command.rejected', data: Record<string, unknown>): void;
  /** Publishes `cmd-result/{device}` (QoS 1). */
  result(device: string, result: CommandResult): void;
  log: Logger;
  now?: () => number;
}

/** Rejections recorded as events per minute; beyond it they are counted into the next one. */
const REJECTED_EVENTS_PER_MIN = 30;
const TOPIC_ID = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const clip = (v: unknown): string | null => (typeof v === 'string' ? v.slice(0, 128) : null);

export class CommandRouter {
  private readonly keys = new Map<string, { key: KeyObject; allow: AllowRule[] }>();
  private window = { start: 0, count: 0, suppressed: 0 };
  private readonly now: () => number;
  executed = 0;
  rejected = 0;
  lastRejected: { at: string; reason: RejectReason; detail: string } | null = null;

  constructor(private readonly opts: RouterOptions) {
    for (const k of opts.keys) this.keys.set(k.id, { key: publicKeyFromBase64(k.publicKey), allow: k.allow });
    this.now = opts.now ?? Date.now;
  }

  /**
   * Handle one received message. Never throws; resolves when the command has run (or was refused).
   * `topicDevice` is the last topic level (`cmd/{device}`).
   */
  async handle(topicDevice: string, payload: Buffer | string): Promise<CommandResult> {
    let env: Envelope | undefined;
    let loose: Record<string, unknown> = {};
    try {
      loose = looseFields(payload);
      if (!TOPIC_ID.test(topicDevice))
        throw new CommandRejected('malformed', `topic device "${topicDevice.slice(0, 64)}" is not a device id`);
      const parsed = parseEnvelope(payload, topicDevice);
      env = parsed.env;
      const action = this.opts.actions.get(env.action);
      if (action) {
        try {
          action.check(env.args, env.device);
        } catch (err) {
          if (err instanceof CommandRejected) throw err;
          throw new CommandRejected('malformed', `args: ${errorMessage(err)}`);
        }
      }
      const key = this.keys.get(env.keyId);
      if (!key) throw new CommandRejected('unknown-key', `no key "${env.keyId}" in commands.keys`);
      if (!verifyBytes(key.key, signedBytes(env), env.signature))
        throw new CommandRejected('bad-signature', `signature does not verify with key "${env.keyId}"`);
      const now = this.now();
      const synced = this.opts.clockSynced();
      this.opts.nonces.checkTime(parsed.issuedMs, parsed.expiresMs, synced, now);
      if (!this.opts.nonces.record(env.nonce, env.keyId, env.commandId, parsed.expiresMs, now, synced))
        throw new CommandRejected('replay', 'this nonce was seen before');
      if (!isAllowed(key.allow, env.action, env.device))
        throw new CommandRejected('not-allowed', `key "${env.keyId}" may not ${env.action} on "${env.device}"`);
      if (!action) throw new CommandRejected('unsupported', `no action "${env.action}" on this gateway`);
      const data = await action.run(env, env.keyId);
      return this.accepted(env, data);
    } catch (err) {
      const rejected =
        err instanceof CommandRejected
          ? err
          : new CommandRejected('failed', errorMessage(err).slice(0, 300) || 'the action failed');
      if (!(err instanceof CommandRejected))
        this.opts.log.error({ err, commandId: env?.commandId, action: env?.action }, 'command action failed');
      return this.refused(topicDevice, env, loose, rejected);
    }
  }

  private accepted(env: Envelope, data: Record<string, unknown>): CommandResult {
    this.executed++;
    const at = new Date(this.now()).toISOString();
    this.opts.log.info(
      { commandId: env.commandId, action: env.action, device: env.device, keyId: env.keyId },
      'command executed',
    );
    this.guard('event', () =>
      this.opts.event('command.executed', {
        commandId: env.commandId,
        action: env.action,
        target: env.device,
        keyId: env.keyId,
        args: env.args,
        ...(Object.keys(data).length > 0 ? { result: data } : {}),
      }),
    );
    const result: CommandResult = { commandId: env.commandId, ok: true, at };
    this.guard('result', () => this.opts.result(env.device, result));
    return result;
  }

  private refused(
    topicDevice: string,
    env: Envelope | undefined,
    loose: Record<string, unknown>,
    err: CommandRejected,
  ): CommandResult {
    this.rejected++;
    const now = this.now();
    const at = new Date(now).toISOString();
    this.lastRejected = { at, reason: err.reason, detail: err.detail };
    const commandId = env?.commandId ?? clip(loose.commandId);
    this.opts.log.warn({ commandId, reason: err.reason, detail: err.detail, device: topicDevice }, 'command rejected');
    if (now - this.window.start >= 60_000) this.window = { start: now, count: 0, suppressed: this.window.suppressed };
    if (this.window.count < REJECTED_EVENTS_PER_MIN) {
      this.window.count++;
      const suppressed = this.window.suppressed;
      this.window.suppressed = 0;
      this.guard('event', () =>
        this.opts.event('command.rejected', {
          commandId,
          action: env?.action ?? clip(loose.action),
          target: topicDevice.slice(0, 64),
          keyId: env?.keyId ?? clip(loose.keyId),
          reason: err.reason,
          detail: err.detail,
          ...(suppressed > 0 ? { suppressedBefore: suppressed } : {}),
        }),
      );
    } else this.window.suppressed++;
    const result: CommandResult = { commandId, ok: false, reason: err.reason, detail: err.detail, at };
    if (TOPIC_ID.test(topicDevice)) this.guard('result', () => this.opts.result(topicDevice, result));
    return result;
  }

  private guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.opts.log.error({ err, code: 'WG_ERR_COMMAND', what }, 'command bookkeeping failed');
    }
  }
}

/** Whatever can be read of a payload that may not be an envelope, for the audit event only. */
function looseFields(payload: Buffer | string): Record<string, unknown> {
  try {
    const doc: unknown = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
    return doc && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
