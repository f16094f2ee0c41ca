// Live reload (issue 12): SIGHUP (`systemctl reload wardgate`) or the `config.reload` command.
// Validate first: an invalid file is refused (log, event, /api/status) and the agent keeps running
// the old config. Then apply the difference: devices added, removed or changed; outputs and local
// actions; a changed `mqtt` section reconnects; `log.level` and `jobs` take effect. A driver is
// restarted only when something it reads changed (a GPIO device or an output for the GPIO
// driver, a device or a section of its kind for the others): untouched drivers keep running. The
// outbox and the drain are never touched, so no queued event is lost or reordered.

import { type ConfigChange, diffConfig } from './config/diff.js';
import { ConfigError } from './config/errors.js';
import { loadConfigWithSecrets } from './config/load.js';
import type { Config, DeviceConfig } from './config/types.js';
import { errorMessage } from './errors.js';
import type { Agent } from './runtime.js';

export type ReloadSource = 'sighup' | 'command' | 'api';

export interface ReloadResult {
  ok: boolean;
  outcome: 'applied' | 'unchanged' | 'invalid' | 'failed';
  changes: ConfigChange[];
  /** Sections that changed but take effect only at the next start (written in the event too). */
  restartRequired: string[];
  /** Drivers stopped and started again because something they read changed. */
  restartedDrivers: string[];
  error?: { code: string; message: string; problems: string[] };
  at: string;
  source: ReloadSource;
}

/** What the agent lends the reload for the parts only it may swap (agent/runtime.ts). */
export interface ReloadInternals {
  setConfig(c: Config): void;
  restartGpio(): Promise<boolean>;
  replaceOutputsAndActions(c: Config, outputs: boolean): void;
  reconnectUplink(c: Config): Promise<void>;
  restartJobs(): void;
  notify(state: string): void;
}

/** Applied live; everything else at the next start. */
const LIVE = new Set(['devices', 'outputs', 'actions', 'mqtt', 'log', 'jobs', 'gpio', 'health']);
const AT_START = new Set(['gateway', 'outbox', 'web', 'commands', 'escalation']);

const gpioDevice = (agent: Agent, id: string) =>
  agent.devices.devices.get(id)?.model.points.some((p) => p.driver === 'gpio') ?? false;

function driversOf(agent: Agent, id: string): string[] {
  const entry = agent.devices.devices.get(id);
  if (!entry) return [];
  const out = new Set(entry.model.points.map((p) => p.driver));
  if ('gpioInputs' in entry.model) out.add('gpio');
  return [...out];
}

export async function reloadAgent(
  agent: Agent,
  internals: ReloadInternals,
  path: string | undefined,
  source: ReloadSource,
  by: string = source,
): Promise<ReloadResult> {
  const log = agent.log.child({ unit: 'reload' });
  const at = new Date().toISOString();
  const base = { changes: [], restartRequired: [], restartedDrivers: [], at, source };
  // systemd >= 253 wants MONOTONIC_USEC with RELOADING=1; 252 ignores it (agent/systemd.ts).
  internals.notify('RELOADING=1');
  try {
    if (!path) {
      return refuse(
        agent,
        { ...base, ok: false, outcome: 'invalid' },
        'WG_ERR_RELOAD_INVALID',
        'no config file to reload (started without one)',
        [],
      );
    }
    let next: Config;
    try {
      next = loadConfigWithSecrets(path);
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [errorMessage(err)];
      return refuse(
        agent,
        { ...base, ok: false, outcome: 'invalid' },
        'WG_ERR_RELOAD_INVALID',
        `${path}: invalid configuration`,
        problems,
      );
    }
    const before = agent.config;
    const changes = diffConfig(
      before as unknown as Record<string, unknown>,
      next as unknown as Record<string, unknown>,
    );
    if (changes.length === 0) {
      const r: ReloadResult = { ...base, ok: true, outcome: 'unchanged' };
      agent.lastReload = r;
      log.info({ source, by }, 'config reload: nothing changed');
      return r;
    }
    const sections = new Set(changes.map((c) => c.section));
    const restartRequired = [...sections].filter((s) => AT_START.has(s));
    const touched = new Set<string>();
    // A section of a driver kind (buses, cameras, ups, ...): its drivers read it.
    for (const s of sections) {
      if (LIVE.has(s) || AT_START.has(s)) continue;
      for (const k of agent.kinds) touched.add(k.driver);
    }
    if (sections.has('gpio')) touched.add('gpio');

    // Devices first: the registry swaps models; their drivers restart below.
    const devChanges = changes.filter((c) => c.section === 'devices');
    for (const c of devChanges) {
      if (c.op === 'added' || !c.id) continue;
      for (const d of driversOf(agent, c.id)) touched.add(d);
      if (gpioDevice(agent, c.id)) touched.add('gpio');
      agent.devices.removeDevice(c.id);
      if (c.op === 'removed') agent.retained.clearState(c.id);
    }
    internals.setConfig(next);
    for (const c of devChanges) {
      if (c.op === 'removed' || !c.id) continue;
      const cfg = next.devices.find((d) => d.id === c.id) as DeviceConfig;
      agent.devices.addDevice(cfg, next);
      for (const d of driversOf(agent, c.id)) touched.add(d);
    }
    const outputsChanged = sections.has('outputs');
    if (outputsChanged || sections.has('actions')) internals.replaceOutputsAndActions(next, outputsChanged);
    if (outputsChanged) touched.add('gpio');
    if (sections.has('log') && next.log?.level) agent.setLogLevel(next.log.level, `reload (${by})`);

    const restartedDrivers: string[] = [];
    if (touched.has('gpio') && (await internals.restartGpio())) restartedDrivers.push('gpio');
    for (const kind of agent.kinds) {
      if (!touched.has(kind.driver)) continue;
      const env = {
        config: next,
        log: agent.log.child({ driver: kind.driver }),
        points: agent.devices.pointsOf(kind.driver),
      };
      const drivers = await kind.createDrivers(env);
      if (drivers.length === 0) await agent.supervisor.remove(kind.driver);
      for (const d of drivers) {
        await agent.supervisor.replace(d);
        restartedDrivers.push(d.name);
      }
    }
    if (sections.has('mqtt')) await internals.reconnectUplink(next);
    if (sections.has('jobs') || sections.has('mqtt') || sections.has('health')) internals.restartJobs();

    const r: ReloadResult = { ...base, ok: true, outcome: 'applied', changes, restartRequired, restartedDrivers };
    agent.lastReload = r;
    log.info({ source, by, changes: changes.length, restartedDrivers, restartRequired }, 'config reloaded');
    await agent
      .accept(
        agent.gatewayEvent({
          type: 'gateway.config_reloaded',
          data: { source, by, changes, restartRequired, restartedDrivers },
        }),
      )
      .catch((err) => log.error({ err }, 'could not record gateway.config_reloaded'));
    return r;
  } catch (err) {
    // Half applied: say so loudly; the drivers that were restarted run the new config.
    return refuse(agent, { ...base, ok: false, outcome: 'failed' }, 'WG_ERR_RELOAD_FAILED', errorMessage(err), [
      errorMessage(err),
    ]);
  } finally {
    internals.notify('READY=1');
  }
}

async function refuse(
  agent: Agent,
  r: ReloadResult,
  code: string,
  message: string,
  problems: string[],
): Promise<ReloadResult> {
  const result: ReloadResult = { ...r, error: { code, message, problems } };
  agent.lastReload = result;
  agent.log.error(
    { code, problems, source: r.source },
    `config reload refused: ${message}; still running the previous config`,
  );
  await agent
    .accept(
      agent.gatewayEvent({ type: 'gateway.config_reload_failed', data: { source: r.source, code, message, problems } }),
    )
    .catch((err) => agent.log.error({ err }, 'could not record gateway.config_reload_failed'));
  return result;
}
