// What the overview shows besides /api/status: active alarms first, outbox depth over the last
// hours (a bounded ring of samples taken here once a minute, never per request), disk free of the
// outbox volume, the running walk test. Built once per push tick for every open page.
import { statfs } from 'node:fs/promises';
import type { Logger } from 'pino';
import type { Agent } from '../runtime.js';

export interface DepthSample {
  /** Epoch ms. */
  t: number;
  /** Queued rows per lane: critical, high, normal, low. */
  d: number[];
}

export interface DiskInfo {
  freeBytes: number;
  totalBytes: number;
  at: string;
}

/** 6 hours of one-minute samples: 360 × 4 numbers. */
const SAMPLES = 360;

export class DepthSampler {
  private readonly ring: DepthSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  disk: DiskInfo | null = null;
  diskError: string | null = null;

  constructor(
    private readonly agent: Agent,
    private readonly log: Logger,
    private readonly everyMs = 60_000,
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private acked = { count: -1, at: null as string | null };

  /** The uplink keeps no "last PUBACK" time: the moment its acked count was first seen to move. */
  ackedSeen(count: number): string | null {
    if (count !== this.acked.count) {
      if (this.acked.count >= 0) this.acked.at = new Date().toISOString();
      this.acked.count = count;
    }
    return this.acked.at;
  }

  /** The samples, and the depth right now as the last point (a chart from the first minute on). */
  samples(): DepthSample[] {
    try {
      return [...this.ring, { t: Date.now(), d: this.agent.outbox.stats().map((l) => l.depth) }];
    } catch {
      return [...this.ring]; // the outbox is closing: the samples already taken still stand
    }
  }

  private sample(): void {
    try {
      this.ring.push({ t: Date.now(), d: this.agent.outbox.stats().map((l) => l.depth) });
      if (this.ring.length > SAMPLES) this.ring.shift();
    } catch (err) {
      this.log.warn({ code: 'WG_ERR_JOB_FAILED', job: 'outbox depth sample', err }, 'outbox depth sample failed');
    }
    statfs(this.agent.config.gateway.dataDir).then(
      (s) => {
        this.disk = { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize, at: new Date().toISOString() };
        this.diskError = null;
      },
      (err: Error) => {
        this.diskError = err.message;
      },
    );
  }
}

export function overview(agent: Agent, sampler: DepthSampler, web: Record<string, unknown>) {
  const run = agent.walkTests.active;
  const status = agent.status();
  const lastAckSeenAt = sampler.ackedSeen(status.uplink.acked);
  return {
    status: { ...status, web },
    lastAckSeenAt,
    outputs: agent.outputs(),
    alarms: agent.alarms.list(),
    depth: sampler.samples(),
    disk: sampler.disk,
    diskError: sampler.diskError,
    walkTest: run ? { id: run.id, startedAt: run.startedAt } : null,
  };
}
