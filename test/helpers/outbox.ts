// An outbox in a temp dir for unit tests: no checkpoint timer, silent log, the agent's topic shape.
import type Database from 'better-sqlite3';
import { makeEvent } from '../../agent/event.js';
import { createLogger } from '../../agent/log.js';
import { Outbox, type OutboxOptions } from '../../agent/outbox/store.js';
import { tempDir } from './config.js';

export const testSource = { gateway: 'g', site: 's', clockSynced: () => true };

export function testOutbox(opts: Partial<OutboxOptions> = {}): Outbox {
  return new Outbox({
    dataDir: tempDir(),
    maxBytes: 1e9,
    checkpointIntervalMs: 0,
    log: createLogger('fatal'),
    gatewayEvent: (i) => makeEvent(testSource, { ...i, device: 'g', deviceType: 'gateway' }),
    topicOf: (e) => `events/${e.deviceType}/${e.device}`,
    ...opts,
  });
}

/** The outbox's own connection (tests provoke disk and lock conditions on it). */
export function outboxDb(o: Outbox): Database.Database {
  return (o as unknown as { db: Database.Database }).db;
}
