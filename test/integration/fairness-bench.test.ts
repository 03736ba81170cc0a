import { describe, expect, it } from 'vitest';
import { fairnessScenario } from '../../bench/fairness.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

describe('fairness benchmark scenario (real Redis, BullMQ, bot admission and worker)', () => {
  it('a flood of 200 delays no light member by more than one job slot per busy worker', async () => {
    const result = await fairnessScenario({ redisUrl: redisUrl(), prefix: uniquePrefix() });
    expect(result.lightWaitsInSlots).toHaveLength(10);
    for (const wait of result.lightWaitsInSlots) expect(wait).toBeLessThanOrEqual(result.parameters.workers!);
    expect(result.pass).toBe(true);
    // The same flood through a bare BullMQ queue (plain FIFO), measured in the same run: they wait behind most of it.
    expect(result.fifoWaitsInSlots).toHaveLength(10);
    // It really ran: every request started once, the whole flood before the first light member.
    expect(result.fifoStarted).toBe(210);
    expect(result.fifoLightStartedAt).toEqual(Array.from({ length: 10 }, (_, i) => 200 + i));
    expect(Math.min(...result.fifoWaitsInSlots)).toBeGreaterThan(150);
    expect(result.baseline).toBeGreaterThan(50 * Math.max(1, result.median));
  }, 60_000);

  it('holds with one worker and members arriving back to back', async () => {
    const result = await fairnessScenario({ redisUrl: redisUrl(), prefix: uniquePrefix(), flooderJobs: 40, workers: 1, arrivalEvery: 1 });
    for (const wait of result.lightWaitsInSlots) expect(wait).toBeLessThanOrEqual(1);
    // Plain FIFO: the first light member waits for the flood ahead of it, the next ones for it and the earlier ones.
    expect(result.fifoWaitsInSlots[0]).toBeGreaterThan(30);
  }, 60_000);
});
