// What a technician and the control room see of a gateway: the retained `status` payload and the
// fuller snapshot behind `/api/status`, the page and `health`. Built on demand, never on the alarm path.
// `health` never throws (healthPayload); `/api/status` reports a failure through the web error handler.
import { bootId } from './clock.js';
import type { Agent } from './runtime.js';
import { redactUrl } from './uplink/mqtt.js';
import { VERSION } from './version.js';

export function statusPayload(agent: Agent, state: 'online' | 'offline', reason?: string): Record<string, unknown> {
  return {
    state,
    ...(reason ? { reason } : {}),
    gateway: agent.config.gateway.id,
    site: agent.config.gateway.site,
    version: VERSION,
    bootId: bootId(),
    startedAt: new Date(agent.startedAt).toISOString(),
    ts: new Date().toISOString(),
  };
}

export function buildStatus(agent: Agent) {
  const { outbox, uplink } = agent;
  return {
    gateway: agent.config.gateway.id,
    site: agent.config.gateway.site,
    version: VERSION,
    uptimeSec: Math.round((Date.now() - agent.startedAt) / 1000),
    clock: { synced: agent.clockIsSynced, bootId: bootId() },
    uplink: {
      connected: uplink.connected,
      broker: uplink.url ? redactUrl(uplink.url) : null,
      protocolVersion: uplink.protocolVersion ?? null,
      ...uplink.stats,
    },
    lastSeq: outbox.lastSeq,
    gpioBackend: agent.gpioBackendKind,
    outbox: {
      lanes: outbox.stats(),
      inflight: outbox.inflightCount,
      heldInMemory: outbox.pendingInMemory,
      diskLow: outbox.diskLow ?? null,
      alarmsOverCap: outbox.alarmsOverCap,
      evictedTotal: outbox.evictedTotal,
      heldDroppedTotal: outbox.heldDroppedTotal,
      // Commits retried because another connection held SQLite's write lock (not a disk fault).
      busyRetries: outbox.busyRetries,
      // Telemetry refills put off while bulk commits came back to back (a flood): commits first.
      drainYielded: agent.drain.yielded,
      quarantined: outbox.quarantined ?? null,
      seqJumped: outbox.seqJumped ?? null,
      // Rows the broker refused (MQTT 5 reason code): kept on disk, retried; critical ones in red.
      refused: {
        code: outbox.refusedRows > 0 ? 'WG_ERR_UPLINK_PUBLISH_REFUSED' : null,
        rows: outbox.refusedRows,
        critical: outbox.refusedCritical,
        refusedTotal: outbox.refusals.refusedTotal,
        deferredTotal: outbox.refusals.deferredTotal,
        topics: outbox.refusals.list(),
      },
    },
    drivers: agent.supervisor.health(),
    localActionsFired: agent.actions.fired,
    // Issue 10: the box's own path (gateway.uplink_lost/restored) and the signed commands.
    path: agent.commands.path.status(),
    commands: agent.commands.status(),
    // Issue 9: temperature, load, memory, outbox disk, uptime, Pi firmware flags ("unknown" if absent).
    box: agent.boxHealth.snapshot(),
    // Issue 12: the last self-test (pass/fail per item), the jobs, the runtime log level, the last reload.
    selfTest: agent.lastSelfTest ?? null,
    jobs: agent.jobs?.states() ?? [],
    logLevel: { current: agent.log.level, configured: agent.config.log?.level ?? 'info' },
    reload: { last: agent.lastReload ?? null },
  };
}

export type AgentStatus = ReturnType<typeof buildStatus>;

let lastRss = 0;
/**
 * Resident memory, or the last value read. `process.memoryUsage.rss()` opens /proc/self/stat and
 * throws EMFILE when the process is out of file descriptors: that throw, from the uplink's connect
 * handler, once killed the agent (issue 7 item 6).
 */
export function residentMemory(): number {
  try {
    lastRss = process.memoryUsage.rss();
  } catch {
    // Deliberately quiet: the caller publishes the last value; fd exhaustion is logged where it starts.
  }
  return lastRss;
}

/**
 * The retained `health` payload. Never throws: it is built in the uplink's connect handler and on
 * a timer, and a failure to describe the box must not stop the box from reconnecting.
 */
export function healthPayload(agent: Agent): Record<string, unknown> {
  const ts = new Date().toISOString();
  try {
    return { ts, ...buildStatus(agent), memoryRss: residentMemory() };
  } catch (err) {
    agent.log.error({ code: 'WG_ERR_INTERNAL', err }, 'health payload could not be built');
    return {
      ts,
      gateway: agent.config.gateway.id,
      error: { code: 'WG_ERR_INTERNAL', message: err instanceof Error ? err.message : String(err) },
      memoryRss: residentMemory(),
    };
  }
}
