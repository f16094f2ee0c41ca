// Issue 15's must-show, scaled down for the suite (the full 100 × 20 run: scripts/fleet.sh --watch):
// a fleet of sim gateways with path outages (and evictions on half of them) and gateways that are
// SIGKILLed, through `wardgate watch --json` on a real persistent Mosquitto; the consumer is
// SIGKILLed mid-run and restarted on its session. Then two consumers in one `$share` group.
import { describe, expect, it } from 'vitest';
import { runWatchFleet } from '../helpers/watch-fleet.js';

describe('wardgate watch --json over a fleet', () => {
  it('prints every event once, in order per gateway and lane, evictions announced, across a consumer kill', async () => {
    const { verdict, stats } = await runWatchFleet({
      gateways: 12,
      devices: 4,
      rounds: 6,
      killed: 2,
      outages: 4,
      consumers: 1,
      killConsumer: true,
      timeoutMs: 120_000,
    });
    console.log('watch fleet', JSON.stringify({ ...verdict, ...stats }));
    expect(verdict.problems).toEqual([]);
    expect(stats.consumerStarts).toBe(2);
    expect(stats.sessionsResumed).toBeGreaterThanOrEqual(1); // the restart found its queued session
    expect(stats.evicted).toBeGreaterThan(0);
    expect(verdict.announcedRanges).toBeGreaterThan(0);
    expect(verdict.evictionRangesNotReported).toBe(0);
    expect(verdict.unexplainedGaps).toBe(0);
    expect(verdict.unique).toBeGreaterThanOrEqual(stats.accepted - stats.evicted);
  }, 240_000);

  it('two consumers in one $share group: together exactly once, each in order per gateway and lane', async () => {
    const { verdict, stats } = await runWatchFleet({
      gateways: 10,
      devices: 4,
      rounds: 5,
      killed: 0,
      outages: 2,
      consumers: 2,
      killConsumer: false,
      timeoutMs: 120_000,
    });
    console.log('watch $share', JSON.stringify({ ...verdict, ...stats }));
    expect(verdict.problems).toEqual([]);
    // Both members did part of the work.
    expect(stats.perConsumer0).toBeGreaterThan(0);
    expect(stats.perConsumer1).toBeGreaterThan(0);
    expect(verdict.flaggedDuplicates).toBe(0);
  }, 240_000);
});
