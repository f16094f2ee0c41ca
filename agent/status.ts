// What a technician and the control room see of a gateway: the retained `status` payload and the
// fuller snapshot behind `/api/status`, the page and `health`. Built on demand, never on the alarm path.
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
      quarantined: outbox.quarantined ?? null,
    },
    drivers: agent.supervisor.health(),
    localActionsFired: agent.actions.fired,
  };
}

export type AgentStatus = ReturnType<typeof buildStatus>;
