import { describe, expect, it } from 'vitest';
import { fairnessScenario } from '../../bench/fairness.js';
import { redisUrl, uniquePrefix } from '../support/redis.js';

describe('fairness benchmark scenario (real Redis, BullMQ, bot admission and worker)', () => {
  it('a flood of 200 delays no light member by more than one job slot per busy worker', async () => {
    const result = await fairnessScenario({ redisUrl: redisUrl(), prefix: uniquePrefix() });
    expect(result.lightWaitsInSlots).toHaveLength(10);
    for (const wait of result.lightWaitsInSlots) expect(wait).toBeLessThanOrEqual(result.parameters.workers!);
    expect(result.pass).toBe(true);
    // Without the fair queue they would have waited behind most of the flood.
    expect(Math.min(...result.fifoWaitsInSlots)).toBeGreaterThan(150);
  }, 60_000);

  it('holds with one worker and members arriving back to back', async () => {
    const result = await fairnessScenario({ redisUrl: redisUrl(), prefix: uniquePrefix(), flooderJobs: 40, workers: 1, arrivalEvery: 1 });
    for (const wait of result.lightWaitsInSlots) expect(wait).toBeLessThanOrEqual(1);
  }, 60_000);
});
