// `wardgate run`: load and validate the config, start the agent and its web server, tell systemd
// when READY, and stop gracefully on SIGTERM/SIGINT.
import { ConfigError, EXIT_CONFIG } from './config/errors.js';
import { loadConfigWithSecrets } from './config/load.js';
import type { Config } from './config/types.js';
import { createLogger } from './log.js';
import { installProcessGuard } from './process-guard.js';
import { Agent } from './runtime.js';
import { notify, startWatchdog } from './systemd.js';
import { within } from './uplink/net.js';
import { startWeb } from './web/server.js';

/** From SIGTERM to exit at the latest: under the unit's TimeoutStopSec=15, with a margin. */
export const STOP_DEADLINE_MS = 10_000;

export interface Running {
  agent: Agent;
  webUrl: string | undefined;
  stop(reason?: string): Promise<void>;
}

export async function startAll(config: Config, log = createLogger(config.log?.level ?? 'info')): Promise<Running> {
  const agent = await Agent.start({ config, log });
  let web: Awaited<ReturnType<typeof startWeb>> | undefined;
  if (config.web) {
    try {
      web = await startWeb(agent, {
        host: config.web.host ?? '127.0.0.1',
        port: config.web.port ?? 8080,
        tokens: config.web.tokens ?? [],
        log: log.child({ unit: 'web' }),
      });
    } catch (err) {
      // Leave nothing half-started (the outbox is open): stop, then report.
      await agent.stop('web server failed to start');
      throw err;
    }
    log.info({ url: web.url }, 'web page listening');
  }
  return {
    agent,
    webUrl: web?.url,
    async stop(reason = 'shutdown') {
      // Bounded: the agent's own stop (8 s) plus this stay under STOP_DEADLINE_MS.
      if (web) await within(web.app.close(), 1000);
      await agent.stop(reason);
    },
  };
}

export async function run(configPath: string): Promise<number> {
  let config: Config;
  try {
    // A missing secret or TLS file is a refusal like any config error (78), not a crash at start.
    config = loadConfigWithSecrets(configPath);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${configPath}: invalid configuration\n${err.problems.join('\n')}\n`);
      return EXIT_CONFIG;
    }
    throw err;
  }
  const log = createLogger(config.log?.level ?? 'info');
  const running = await startAll(config, log);
  running.agent.configPath = configPath;
  running.agent.notifySystemd = (state) => void notify(state, log);
  void notify('READY=1', log);
  log.info({ gateway: config.gateway.id, lastSeq: running.agent.outbox.lastSeq }, 'wardgate ready');
  const stopWatchdog = startWatchdog(() => running.agent.outbox.diskLow === undefined, log);
  // An error that escapes every handler is logged; only a bug or a storm of them makes a clean stop
  // and exit 70 for systemd to restart (agent/process-guard.ts).
  installProcessGuard({
    log,
    stop: async (reason) => {
      notify('STOPPING=1', log);
      stopWatchdog();
      await running.stop(reason);
    },
  });
  await new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'stopping');
      notify('STOPPING=1', log);
      stopWatchdog();
      // systemd kills at TimeoutStopSec=15 (systemd/wardgate.service). The stop bounds each of its
      // steps (Agent.stop: 8 s in all); should anything still hang, exit before systemd has to
      // SIGKILL: the outbox keeps every event the broker did not acknowledge.
      setTimeout(() => {
        log.error({ code: 'WG_ERR_STOP_TIMEOUT', afterMs: STOP_DEADLINE_MS }, 'stop did not finish in time; exiting');
        log.flush?.();
        process.exit(1);
      }, STOP_DEADLINE_MS).unref();
      running
        .stop(signal === 'SIGTERM' ? 'shutdown' : signal)
        .catch((err) => log.error({ err }, 'error while stopping'))
        .finally(() => resolve());
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    // `systemctl reload wardgate` (ExecReload=kill -HUP): re-read the config and apply the
    // difference; an invalid file is refused and the agent keeps running (agent/reload.ts).
    const onHup = () => {
      log.info({ signal: 'SIGHUP' }, 'reloading the configuration');
      void running.agent.reload('sighup');
    };
    process.on('SIGHUP', onHup);
    // A device asked for the stop (UPS low battery): the same clean path, then exit.
    running.agent.stopRequestHandler = (reason) => {
      log.warn({ reason }, 'stopping');
      notify('STOPPING=1', log);
      stopWatchdog();
      return running.stop(reason).finally(() => resolve());
    };
  });
  log.flush?.();
  // Nothing left open after a clean stop (a socket to a broker that never answers, a client of
  // the page) may keep the process alive past it.
  setTimeout(() => process.exit(), 1000).unref();
  return 0;
}
