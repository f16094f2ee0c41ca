// What a command can do (issue 10). `check` sees only the args' shape (part of "well-formed", before
// the signature is checked); `run` executes after every check passed. Outputs driven here hold
// their own reasons on the OutputBank (`command|…` claims), so a command never cuts short a local
// rule's sounder, and a rule never cuts short a command's pulse.
import type { Logger } from 'pino';
import type { OutputBank } from '../actions/outputs.js';
import { errorMessage } from '../errors.js';
import { CommandRejected } from './envelope.js';
import type { CommandAction } from './router.js';

type Args = Record<string, unknown>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'];

export interface ActionContext {
  outputs: OutputBank;
  log: Logger;
  /** alarm.ack: finds the alarm, acknowledges it, lights the LED, records `alarm.acknowledged`. */
  ackAlarm(ref: { id?: string; seq?: number }, device: string, by: string, commandId: string): Record<string, unknown>;
  /** door.unlock through the door model and its driver's write; undefined seconds: the door's unlockSec. */
  unlockDoor(device: string, seconds: number | undefined, by: string): Promise<Record<string, unknown>>;
  /** config.reload (issue 12's Agent.reload), when this build has it. */
  reload?(by: string): Promise<Record<string, unknown>>;
  /** log.level through the agent (issue 12's Agent.setLogLevel), when this build has it. */
  setLogLevel?(level: string, by: string): Record<string, unknown>;
  /** Longest door.unlock allowed (commands.maxUnlockSec). */
  maxUnlockSec: number;
  /** The page's walk test (agent/walktest.ts); its errors (one running already, none running) refuse. */
  walkTest?: {
    start(args: { devices?: string[]; technician?: string; ward?: string }, by: string): Record<string, unknown>;
    stop(): Record<string, unknown>;
  };
}

const malformed = (detail: string): never => {
  throw new CommandRejected('malformed', detail);
};

function only(args: Args, allowed: string[]): void {
  for (const k of Object.keys(args)) if (!allowed.includes(k)) malformed(`args.${k.slice(0, 40)}: unknown`);
}

function int(args: Args, k: string, min: number, max: number, required = false): number | undefined {
  const v = args[k];
  if (v === undefined) return required ? malformed(`args.${k}: is required`) : undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max)
    malformed(`args.${k}: must be an integer from ${min} to ${max}`);
  return v as number;
}

function gatewayOnly(device: string, action: string): void {
  if (device !== 'gateway') malformed(`${action} is addressed to cmd/gateway`);
}

/** The actions this gateway runs, by name. Timers of output commands are cleared by `stop`. */
export function commandActions(ctx: ActionContext): { actions: Map<string, CommandAction>; stop(): void } {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const later = (ms: number, fn: () => Promise<void>) => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!stopped) fn().catch((err) => ctx.log.error({ err }, 'scheduled command output change failed'));
    }, ms);
    timers.add(t);
  };
  const output = (device: string): string => {
    if (!ctx.outputs.has(device)) throw new CommandRejected('unknown-target', `no output "${device}"`);
    return device;
  };

  const actions = new Map<string, CommandAction>();
  actions.set('output.set', {
    check(args) {
      only(args, ['value', 'forSec']);
      if (typeof args.value !== 'boolean') malformed('args.value: must be true or false');
      int(args, 'forSec', 1, 86_400);
    },
    async run(env, by) {
      const id = output(env.device);
      const value = env.args.value as boolean;
      const forSec = env.args.forSec as number | undefined;
      const why = `command ${env.commandId} (${by}): ${env.action}`;
      // One reason for all output.set commands: a later `value: false` ends an earlier `true`.
      await ctx.outputs.set(id, value, why, 'command|set');
      if (forSec !== undefined && value !== ctx.outputs.resting(id))
        later(forSec * 1000, () => ctx.outputs.release(id, (k) => k === 'command|set', `${why}, after ${forSec} s`));
      return { output: id, value, ...(forSec !== undefined ? { forSec } : {}) };
    },
  });
  actions.set('output.pulse', {
    check(args) {
      only(args, ['ms', 'count', 'gapMs']);
      int(args, 'ms', 10, 60_000);
      int(args, 'count', 1, 20);
      int(args, 'gapMs', 10, 60_000);
    },
    async run(env, by) {
      const id = output(env.device);
      const ms = (env.args.ms as number | undefined) ?? 500;
      const count = (env.args.count as number | undefined) ?? 1;
      const gap = (env.args.gapMs as number | undefined) ?? ms;
      const key = `command|${env.commandId}`;
      const why = `command ${env.commandId} (${by}): pulse`;
      for (let k = 0; k < count; k++) {
        const start = k * (ms + gap);
        const claim = () => ctx.outputs.claim(id, key, `${why} ${k + 1}/${count}`);
        if (k === 0) await claim();
        else later(start, claim);
        later(start + ms, () => ctx.outputs.release(id, (x) => x === key, `${why} ${k + 1}/${count} ends`));
      }
      return { output: id, ms, count };
    },
  });
  actions.set('alarm.ack', {
    check(args) {
      only(args, ['id', 'seq', 'by']);
      const hasId = typeof args.id === 'string' && args.id.length > 0 && args.id.length <= 64;
      const hasSeq = args.seq !== undefined;
      if (hasSeq) int(args, 'seq', 1, Number.MAX_SAFE_INTEGER);
      if (args.id !== undefined && !hasId) malformed('args.id: must be an event id');
      if (hasId === hasSeq) malformed('args: give exactly one of id (the alarm event id) or seq');
      if (args.by !== undefined && (typeof args.by !== 'string' || args.by.length > 80))
        malformed('args.by: must be a name of at most 80 characters');
    },
    async run(env, keyId) {
      const by = typeof env.args.by === 'string' ? `${env.args.by} (key ${keyId})` : keyId;
      const ref = env.args.id !== undefined ? { id: env.args.id as string } : { seq: env.args.seq as number };
      return ctx.ackAlarm(ref, env.device, by, env.commandId);
    },
  });
  actions.set('door.unlock', {
    check(args) {
      only(args, ['seconds']);
      int(args, 'seconds', 1, 3600);
    },
    async run(env, by) {
      const seconds = env.args.seconds as number | undefined;
      if (seconds !== undefined && seconds > ctx.maxUnlockSec)
        throw new CommandRejected(
          'not-allowed',
          `seconds ${seconds} is over commands.maxUnlockSec (${ctx.maxUnlockSec})`,
        );
      return ctx.unlockDoor(env.device, seconds, `command ${env.commandId} (${by})`);
    },
  });
  actions.set('log.level', {
    check(args, device) {
      gatewayOnly(device, 'log.level');
      only(args, ['level']);
      if (typeof args.level !== 'string' || !LOG_LEVELS.includes(args.level))
        malformed(`args.level: must be one of ${LOG_LEVELS.join(', ')}`);
    },
    async run(env, by) {
      if (ctx.setLogLevel) return ctx.setLogLevel(env.args.level as string, by);
      const from = ctx.log.level;
      ctx.log.level = env.args.level as string; // children follow (pino loggers inherit by prototype)
      return { from, to: ctx.log.level };
    },
  });
  const unsupported = (name: string, why: string, gateway = true): CommandAction => ({
    check(_args, device) {
      if (gateway) gatewayOnly(device, name);
    },
    async run() {
      throw new CommandRejected('unsupported', why);
    },
  });
  // Not faked: refused with a reason the control room can read (README: Commands).
  const reload = ctx.reload;
  actions.set(
    'config.reload',
    reload
      ? {
          check(args, device) {
            gatewayOnly(device, 'config.reload');
            only(args, []);
          },
          run: (_env, by) => reload(by),
        }
      : unsupported('config.reload', 'live reload is not in this build (issue 12)'),
  );
  const walk = ctx.walkTest;
  if (!walk) {
    actions.set('walktest.start', unsupported('walktest.start', 'walk test mode is not in this build'));
    actions.set('walktest.stop', unsupported('walktest.stop', 'walk test mode is not in this build'));
  } else {
    // "A test is running already" / "none is running": answered as failed, with the page's words.
    const refusedBy = (fn: () => Record<string, unknown>) => {
      try {
        return fn();
      } catch (err) {
        throw new CommandRejected('failed', errorMessage(err));
      }
    };
    actions.set('walktest.start', {
      check(args, device) {
        gatewayOnly(device, 'walktest.start');
        only(args, ['devices', 'technician', 'ward']);
        const d = args.devices;
        if (d !== undefined && (!Array.isArray(d) || d.length > 256 || d.some((x) => typeof x !== 'string')))
          malformed('args.devices: must be a list of device ids');
        for (const k of ['technician', 'ward'])
          if (args[k] !== undefined && (typeof args[k] !== 'string' || (args[k] as string).length > 120))
            malformed(`args.${k}: must be a string of at most 120 characters`);
      },
      async run(env, by) {
        return refusedBy(() => walk.start(env.args as { devices?: string[]; technician?: string; ward?: string }, by));
      },
    });
    actions.set('walktest.stop', {
      check(args, device) {
        gatewayOnly(device, 'walktest.stop');
        only(args, []);
      },
      async run() {
        return refusedBy(() => walk.stop());
      },
    });
  }

  return {
    actions,
    stop() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
    },
  };
}
