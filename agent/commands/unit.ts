// Issue 10 wired into the agent: the command router on `cmd/#`, the control room's acknowledgement
// (alarm.ack) with its escalation, and the path monitor. The runtime creates one, feeds it every
// event on the alarm path (onEvent) and the uplink's connect/disconnect/message, and stops it.
import type { Config } from '../config/types.js';
import { errorCode, errorMessage } from '../errors.js';
import { type MakeEventInput, makeEvent, type NewEvent, type WgEvent } from '../event.js';
import type { Agent } from '../runtime.js';
import { redactUrl } from '../uplink/net.js';
import { PathMonitor } from '../uplink/path-monitor.js';
import { topics } from '../uplink/topics.js';
import { commandActions } from './actions.js';
import { CommandRejected } from './envelope.js';
import { Escalation, type TrackedAlarm } from './escalation.js';
import { NonceStore } from './nonces.js';
import { type CommandResult, CommandRouter } from './router.js';

/** What door.unlock needs of a door model (agent/devices/door.ts). */
interface DoorLike {
  type: string;
  unlock(forSec: number | undefined, by: string): Promise<Record<string, unknown>>;
}

/**
 * Issue 12's reload and log level, used when the Agent has them (they arrive in their own commit;
 * until then config.reload is refused as unsupported and log.level sets the logger directly).
 */
function optionalHooks(agent: Agent): {
  reload?: (by: string) => Promise<Record<string, unknown>>;
  setLogLevel?: (level: string, by: string) => Record<string, unknown>;
} {
  const a = agent as unknown as {
    reload?: (
      source: 'command',
      by?: string,
    ) => Promise<{ ok: boolean; outcome: string; changes: unknown[]; error?: { code: string; message: string } }>;
    setLogLevel?: (level: string, by?: string) => { from: string; to: string };
  };
  const hooks: ReturnType<typeof optionalHooks> = {};
  const reload = a.reload;
  if (typeof reload === 'function')
    hooks.reload = async (by) => {
      const r = await reload.call(agent, 'command', by);
      if (!r.ok)
        throw new CommandRejected('failed', `${r.error?.code ?? r.outcome}: ${r.error?.message ?? 'reload refused'}`);
      return { outcome: r.outcome, changes: r.changes };
    };
  const setLogLevel = a.setLogLevel;
  if (typeof setLogLevel === 'function') hooks.setLogLevel = (level, by) => setLogLevel.call(agent, level, by);
  return hooks;
}

/** The uplink options for commands: subscribe to this gateway's `cmd/#` only when keys are configured. */
export function commandSubscription(config: Config): { subscribe?: string; accepts?: (topic: string) => boolean } {
  if (!config.commands || config.commands.keys.length === 0) return {};
  const base = `${config.mqtt.prefix}/${config.gateway.id}/cmd/`;
  return { subscribe: `${base}#`, accepts: (t) => t.startsWith(base) };
}

type AlarmRef = { id?: string; seq?: number };

export class CommandUnit {
  readonly escalation: Escalation;
  readonly path: PathMonitor;
  readonly router: CommandRouter | undefined;
  private readonly nonces: NonceStore | undefined;
  private readonly stopActions: (() => void) | undefined;
  private readonly cmdBase: string;

  constructor(private readonly agent: Agent) {
    const { config, log } = agent;
    this.cmdBase = `${config.mqtt.prefix}/${config.gateway.id}/cmd/`;
    this.escalation = new Escalation({
      afterSec: config.escalation?.afterSec,
      raise: (a) => this.raiseUnacknowledged(a),
    });
    this.path = new PathMonitor({
      keepaliveSec: config.mqtt.keepaliveSec,
      event: (type, data) => this.record(agent.gatewayEvent({ type, data })),
    });
    agent.outbox.onAccepted((accepted) => {
      for (const ev of accepted) this.escalation.onAccepted(ev);
    });
    let broker: string | null = null;
    agent.uplink.on('connect', ({ url }) => {
      broker = redactUrl(url);
      this.path.connected(broker);
    });
    agent.uplink.on('disconnect', (err) => {
      const reason = err?.message ?? 'connection lost';
      // Leaving a fallback broker on purpose for the first one is not a path failure.
      if (!reason.includes('failing back')) this.path.disconnected(broker, reason);
    });
    agent.uplink.on('message', (topic, payload) => this.onMessage(topic, payload));
    const cmds = config.commands;
    if (!cmds || cmds.keys.length === 0) return;
    const skewMs = (cmds.maxSkewSec ?? 30) * 1000;
    this.nonces = new NonceStore(agent.outbox.database, skewMs);
    const built = commandActions({
      outputs: agent.outputBank,
      log,
      maxUnlockSec: cmds.maxUnlockSec ?? 30,
      ackAlarm: (ref, device, by, commandId) => this.ackAlarm(ref, device, by, commandId),
      unlockDoor: (device, seconds, by) => this.unlockDoor(device, seconds, by),
      ...optionalHooks(agent),
      walkTest: {
        start: (args, by) => {
          const run = agent.walkTests.start({
            ...(args.devices ? { devices: args.devices } : {}),
            technician: args.technician ?? `control room (${by})`,
            ward: args.ward ?? '',
          });
          return { walkTest: run.id, devices: run.devices.length };
        },
        stop: () => {
          const run = agent.walkTests.finish();
          const passed = run.devices.filter((d) => d.activations.length > 0).length;
          return { walkTest: run.id, passed, devices: run.devices.length };
        },
      },
    });
    this.stopActions = built.stop;
    this.router = new CommandRouter({
      keys: cmds.keys,
      nonces: this.nonces,
      actions: built.actions,
      clockSynced: () => agent.clockIsSynced,
      event: (type, data) => this.record(agent.gatewayEvent({ type, data })),
      result: (device, r) => this.publishResult(device, r),
      log: log.child({ unit: 'commands' }),
    });
    this.pruneNonces(); // then every minute, as the `command-nonce-prune` job (agent/jobs)
  }

  /** A message on a subscribed topic (the uplink only passes ours). Never throws. */
  onMessage(topic: string, payload: Buffer): void {
    if (!this.router || !topic.startsWith(this.cmdBase)) return;
    void this.router.handle(topic.slice(this.cmdBase.length), payload);
  }

  /** Forget nonces whose commands expired before the clock's floor (only on a synced clock). Rows pruned. */
  pruneNonces(): number {
    try {
      return this.nonces?.prune(Date.now(), this.agent.clockIsSynced) ?? 0;
    } catch (err) {
      this.agent.log.error({ err, code: 'WG_ERR_COMMAND' }, 'nonce store prune failed');
      return 0;
    }
  }

  private record(ev: NewEvent): void {
    this.agent.accept(ev).catch((err) => this.agent.log.error({ err, type: ev.type }, 'event not accepted'));
  }

  private deviceEvent(device: string, deviceType: string, input: Omit<MakeEventInput, 'device' | 'deviceType'>) {
    const { config } = this.agent;
    return makeEvent(
      { gateway: config.gateway.id, site: config.gateway.site, clockSynced: () => this.agent.clockIsSynced },
      { ...input, device, deviceType },
    );
  }

  private raiseUnacknowledged(a: TrackedAlarm): void {
    this.record(
      this.deviceEvent(a.device, a.deviceType, {
        type: 'alarm.unacknowledged',
        data: {
          alarmId: a.id,
          alarmSeq: a.seq ?? null,
          alarmType: a.type,
          alarmTs: a.ts,
          afterSec: this.agent.config.escalation?.afterSec ?? null,
        },
      }),
    );
  }

  private ackAlarm(ref: AlarmRef, device: string, by: string, commandId: string): Record<string, unknown> {
    const tracked = this.escalation.find(ref);
    const active = this.agent.alarms.find(ref);
    const alarm = tracked ?? active;
    const name = ref.id !== undefined ? `id ${ref.id}` : `seq ${ref.seq}`;
    if (!alarm) throw new CommandRejected('unknown-alarm', `no alarm with ${name} on this gateway`);
    if (alarm.device !== device)
      throw new CommandRejected('unknown-alarm', `alarm ${name} is of device "${alarm.device}", not "${device}"`);
    const seq = alarm.seq ?? null;
    this.escalation.acknowledged(alarm.id);
    this.agent.alarms.acknowledge({ id: alarm.id }, by, { commandId });
    const model = this.agent.devices.devices.get(device)?.model;
    let ledLit = false;
    // The LED tells whoever pressed that the control room has their alarm: an ack of an earlier
    // press must not light it while a newer press of the button waits for its own.
    const newer = this.newerPress(alarm);
    try {
      if (newer)
        this.agent.log.warn(
          { device, alarmSeq: seq, newerPressSeq: newer.seq },
          'ack of an earlier press: LED left off',
        );
      else ledLit = model?.acknowledge ? this.agent.acknowledge(device) : false;
    } catch (err) {
      // The receipt is recorded either way; a LED that cannot be driven shows on its output.
      this.agent.log.error({ err, device }, 'LED of an acknowledged alarm could not be lit');
    }
    this.record(
      this.deviceEvent(alarm.device, alarm.deviceType, {
        type: 'alarm.acknowledged',
        data: {
          alarmId: alarm.id,
          alarmSeq: seq,
          alarmType: alarm.type,
          by,
          commandId,
          ledLit,
          ...(newer ? { newerPressSeq: newer.seq } : {}),
        },
      }),
    );
    return { alarmId: alarm.id, alarmSeq: seq, ledLit, ...(newer ? { newerPressSeq: newer.seq } : {}) };
  }

  /** The device's latest press, if it came after `alarm` (from the recent durable events). */
  private newerPress(alarm: {
    id: string;
    type: string;
    seq?: number | undefined;
    device: string;
  }): WgEvent | undefined {
    if (alarm.type !== 'panic.pressed') return undefined;
    const latest = this.agent.history.forDevice(alarm.device).find((e) => e.type === 'panic.pressed');
    if (!latest || latest.id === alarm.id) return undefined;
    return alarm.seq === undefined || latest.seq > alarm.seq ? latest : undefined;
  }

  private async unlockDoor(device: string, seconds: number | undefined, by: string): Promise<Record<string, unknown>> {
    const model = this.agent.devices.devices.get(device)?.model as Partial<DoorLike> | undefined;
    if (model?.type !== 'door' || typeof model.unlock !== 'function')
      throw new CommandRejected('unknown-target', `no door "${device}" on this gateway`);
    try {
      return await (seconds === undefined ? model.unlock(undefined, by) : model.unlock(seconds, by));
    } catch (err) {
      // Offline controller, over the door's own maxUnlockSec, no release output: said as it is.
      throw new CommandRejected('failed', `${errorCode(err) ?? 'error'}: ${errorMessage(err)}`);
    }
  }

  private publishResult(device: string, r: CommandResult): void {
    const topic = topics.cmdResult(this.agent.topicCtx, device);
    const payload = JSON.stringify(r);
    if (!this.agent.uplink.connected) {
      this.agent.log.warn({ topic, commandId: r.commandId }, 'cmd-result not sent: uplink down (the event is kept)');
      return;
    }
    this.agent.uplink
      .publish(topic, payload)
      .catch((err) =>
        this.agent.log.warn({ err, topic, commandId: r.commandId }, 'cmd-result publish failed (the event is kept)'),
      );
  }

  status() {
    return {
      enabled: this.router !== undefined,
      executed: this.router?.executed ?? 0,
      rejected: this.router?.rejected ?? 0,
      lastRejected: this.router?.lastRejected ?? null,
      nonces: this.nonces?.size ?? 0,
      clockFloor: this.nonces && this.nonces.floor > 0 ? new Date(this.nonces.floor).toISOString() : null,
      escalation: {
        afterSec: this.agent.config.escalation?.afterSec ?? null,
        waiting: this.escalation.waiting,
        raised: this.escalation.raised,
      },
    };
  }

  stop(): void {
    this.escalation.stop();
    this.stopActions?.();
  }
}
