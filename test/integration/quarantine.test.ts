// Quarantine: a corrupt outbox database is moved aside (kept, never deleted), a new one starts,
// seq continues above anything the old one may have used, and events flow.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../agent/log.js';
import { Agent } from '../../agent/runtime.js';
import { useCleanups } from '../helpers/cleanup.js';
import { tempDir, testConfig } from '../helpers/config.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { waitFor } from '../helpers/ports.js';
import { Subscriber } from '../helpers/subscriber.js';

const cleanup = useCleanups();

describe('outbox quarantine', () => {
  it('moves a corrupt database aside and keeps working', async () => {
    const broker = await new Mosquitto().start();
    cleanup(() => broker.stop());
    const sub = await new Subscriber(broker.url).connect();
    cleanup(() => sub.close());
    const dataDir = tempDir();
    const config = testConfig({ brokers: [broker.url], dataDir });

    // A first life: some events, so seq and its reservation exist.
    const first = await Agent.start({ config, log: createLogger('error') });
    await first.simulate('panic-0', 'button', true);
    await first.simulate('panic-0', 'button', false);
    const lastSeqBefore = first.outbox.lastSeq;
    await first.stop();

    const garbage = Buffer.from('this is not a database '.repeat(400));
    writeFileSync(join(dataDir, 'outbox.db'), garbage);

    const agent = await Agent.start({ config, log: createLogger('fatal') });
    cleanup(() => agent.stop());
    const moved = readdirSync(dataDir).filter(
      (f) => f.startsWith('outbox.db.quarantined-') && !f.endsWith('-wal') && !f.endsWith('-shm'),
    );
    expect(moved).toHaveLength(1);
    expect(readFileSync(join(dataDir, moved[0] as string))).toEqual(garbage);
    expect(existsSync(join(dataDir, 'outbox.db'))).toBe(true);
    expect(agent.outbox.quarantined?.movedTo).toBe(join(dataDir, moved[0] as string));

    const r = await agent.simulate('panic-1', 'button', true);
    expect(r.accepted).toHaveLength(1);
    expect(r.accepted[0]?.seq).toBeGreaterThan(lastSeqBefore);
    await waitFor(() => sub.uniqueEvents().some((e) => e.id === r.accepted[0]?.id), 10_000, 'event after quarantine');
    const q = sub.uniqueEvents().find((e) => e.type === 'gateway.outbox_quarantined');
    expect(q?.data).toMatchObject({ movedTo: join(dataDir, moved[0] as string) });
    expect(q?.seq).toBeGreaterThan(lastSeqBefore);
  });
});
