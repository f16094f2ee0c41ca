// Command keys and a router over a real SQLite nonce store, for the command tests.

import type { KeyObject } from 'node:crypto';
import Database from 'better-sqlite3';
import { newKeyPair, privateKeyFromPem } from '../../agent/commands/keys.js';
import { NonceStore } from '../../agent/commands/nonces.js';
import { type CommandAction, type CommandResult, CommandRouter } from '../../agent/commands/router.js';
import { createLogger } from '../../agent/log.js';

export interface TestKey {
  id: string;
  publicKey: string;
  privateKey: KeyObject;
}

export function testKey(id: string): TestKey {
  const pair = newKeyPair();
  return { id, publicKey: pair.publicKey, privateKey: privateKeyFromPem(pair.privatePem) };
}

export interface RouterHarness {
  router: CommandRouter;
  runs: Array<{ action: string; device: string; args: Record<string, unknown> }>;
  events: Array<{ type: string; data: Record<string, unknown> }>;
  results: Array<{ device: string; result: CommandResult }>;
  nonces: NonceStore;
  db: Database.Database;
  synced: { value: boolean };
  now: { value: number };
}

/** A router whose actions only record that they ran (`output.pulse`, `alarm.ack`, `log.level`). */
export function routerHarness(
  keys: Array<{ id: string; publicKey: string; allow: Array<{ action: string; devices: string[] }> }>,
  opts: { db?: Database.Database; skewSec?: number } = {},
): RouterHarness {
  const db = opts.db ?? new Database(':memory:');
  const nonces = new NonceStore(db, (opts.skewSec ?? 30) * 1000);
  const h: Omit<RouterHarness, 'router'> = {
    runs: [],
    events: [],
    results: [],
    nonces,
    db,
    synced: { value: true },
    now: { value: Date.now() },
  };
  const recording = (name: string): CommandAction => ({
    check: () => {},
    run: async (env) => {
      h.runs.push({ action: name, device: env.device, args: env.args });
      return {};
    },
  });
  const actions = new Map<string, CommandAction>(
    ['output.pulse', 'alarm.ack', 'log.level'].map((a) => [a, recording(a)]),
  );
  const router = new CommandRouter({
    keys,
    nonces,
    actions,
    clockSynced: () => h.synced.value,
    event: (type, data) => h.events.push({ type, data }),
    result: (device, result) => h.results.push({ device, result }),
    log: createLogger('silent'),
    now: () => h.now.value,
  });
  return { ...h, router };
}
