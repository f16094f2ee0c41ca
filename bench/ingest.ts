// Durable ingest: sustained accepted events/s with the uplink connected (the drain publishing and
// deleting concurrently), `batch` events submitted per event-loop turn, counting resolved accepts.
// Floor: raw better-sqlite3 FULL transactions of the same batch size, same payload JSON.

import { makeEvent, type NewEvent } from '../agent/event.js';
import { Agent } from '../agent/runtime.js';
import { Mosquitto } from '../test/helpers/mosquitto.js';
import { sqliteBatchedInsertRate } from './floors.js';
import {
  benchConfig,
  benchLogger,
  flag,
  isMain,
  option,
  result,
  round,
  runMain,
  stopBroker,
  tempDir,
  until,
} from './util.js';

const GW = 'ingest-gw';

export function benchEvent(i: number, gateway = GW): NewEvent {
  return makeEvent(
    { gateway, site: 'bench-site', clockSynced: () => true },
    {
      device: 'bench-load',
      deviceType: 'panic-button',
      type: 'input.active',
      data: { name: 'Bench input', location: 'Bench ward, bay 7', input: 'button', n: i },
    },
  );
}

export async function ingest() {
  const quick = flag('quick');
  const durationMs = option('duration', quick ? 3000 : 10_000);
  const rounds = option('rounds', quick ? 3 : 5);
  const batch = option('batch', 256);
  const maxOutstanding = batch * 4;
  const tmp = tempDir('ingest');
  const mosq = new Mosquitto();
  let agent: Agent | undefined;
  try {
    await mosq.start();
    // A cap the run cannot reach: at the default 256 MiB the outbox fills in the third round, and
    // from then on every commit also evicts as much as it adds (measured: 0.6× → 0.42× raw), which
    // is the full box's cost, not ingest's; the floor never deletes. `evicted` must stay 0.
    const config = benchConfig({
      id: GW,
      dataDir: `${tmp.dir}/agent`,
      brokers: [mosq.url],
      outboxMaxBytes: 64 * 1024 ** 3,
    });
    agent = await Agent.start({ config, log: benchLogger() });
    const a = agent;
    await until(() => a.uplink.connected, 10_000, 'the uplink to connect');
    // The producers' cost (uuidv7, timestamps) is not the outbox's: events are made beforehand and
    // reused round-robin (the outbox gives each its own seq; ids repeat, which nothing here checks).
    const pool = Array.from({ length: 4096 }, (_, i) => benchEvent(i));
    const tMake = performance.now();
    for (let i = 0; i < 20_000; i++) benchEvent(i);
    const makeEventUs = ((performance.now() - tMake) / 20_000) * 1000;
    const payloads = pool.slice(0, 1024).map((ev, i) => JSON.stringify({ ...ev, seq: 1_000_000 + i }));

    // fsync cost on a VM drifts over seconds: agent and floor windows alternate, totals compared.
    const windowMs = durationMs / rounds;
    let submitted = 0;
    let resolved = 0;
    let failed = 0;
    let agentMs = 0;
    let published = 0;
    const floorRuns: Array<ReturnType<typeof sqliteBatchedInsertRate>> = [];
    const perRound: Array<{ agent: number; floor: number }> = [];
    for (let r = 0; r < rounds; r++) {
      const resolvedBefore = resolved;
      const publishedBefore = a.drain.published;
      const t0 = performance.now();
      let elapsed = 0;
      await new Promise<void>((done) => {
        const tick = () => {
          elapsed = performance.now() - t0;
          if (elapsed >= windowMs) return done();
          if (submitted - resolved - failed < maxOutstanding) {
            for (let k = 0; k < batch; k++) {
              a.accept(pool[submitted++ % pool.length] as NewEvent).then(
                () => resolved++,
                () => failed++,
              );
            }
          }
          setImmediate(tick);
        };
        setImmediate(tick);
      });
      agentMs += elapsed;
      published += a.drain.published - publishedBefore;
      const agentRate = ((resolved - resolvedBefore) / elapsed) * 1000;
      await until(() => submitted === resolved + failed, 10_000, 'outstanding accepts');
      // The floor runs with the agent's drain paused and its checkpoint worker (if any) done, so
      // nothing else competes for the disk.
      a.drain.pause();
      await until(() => !a.outbox.checkpointer?.workerBusy, 30_000, 'the checkpoint worker');
      const f = sqliteBatchedInsertRate(`${tmp.dir}`, payloads, batch, windowMs, r > 0);
      a.drain.resume();
      floorRuns.push(f);
      perRound.push({ agent: Math.round(agentRate), floor: Math.round(f.rowsPerSec) });
    }
    const rate = (resolved / agentMs) * 1000;
    const evicted = a.outbox.evictedTotal;
    const floorRows = floorRuns.reduce((x, f) => x + f.rows, 0);
    const floorMs = floorRuns.reduce((x, f) => x + f.elapsedMs, 0);
    const floorRate = (floorRows / floorMs) * 1000;
    await agent.stop('bench done');
    agent = undefined;

    const ratio = rate / floorRate;
    return result(
      'ingest',
      'Durable ingest with the uplink connected',
      { durationMs, rounds, batchPerTick: batch, maxOutstanding, payloadBytes: payloads[0]?.length },
      [
        {
          what: 'durable ingest',
          value: Math.round(rate),
          unit: 'events/s',
          floor: Math.round(floorRate),
          floorWhat: `raw better-sqlite3 FULL, ${batch}-row transactions`,
          ratio: round(ratio, 2),
          target: '≥ 0.50× floor',
          pass: ratio >= 0.5,
        },
        {
          what: 'published meanwhile',
          value: Math.round((published / agentMs) * 1000),
          unit: 'msgs/s',
          target: '—',
          pass: null,
        },
      ],
      {
        submitted,
        resolved,
        failed,
        evicted,
        agentMs,
        perRound,
        makeEventUs,
        publishedMeanwhile: published,
        floorRuns,
      },
      [
        ...(failed > 0 ? [`${failed} accepts failed`] : []),
        ...(evicted > 0 ? [`${evicted} rows evicted: the run measured a full outbox, not ingest`] : []),
      ],
    );
  } finally {
    await agent?.stop('bench aborted').catch(() => undefined);
    await stopBroker(mosq);
    tmp.cleanup();
  }
}

if (isMain(import.meta.url)) runMain(ingest);
