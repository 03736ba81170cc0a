import { afterEach, beforeEach, expect, it } from 'vitest';
import { ESTIMATE_REUSE_MS, QueueStats } from '../../src/store/stats.js';
import { closeTestBed, openTestBed, type TestBed } from '../support/test-bed.js';
import { describeOnRedis } from '../support/redis.js';

let bed: TestBed;

beforeEach(async () => {
  bed = await openTestBed();
});

afterEach(async () => {
  await closeTestBed(bed);
});

describeOnRedis('the numbers behind a wait estimate', () => {
  it('reads live workers and recent durations once for a burst of requests, and again once they are old', async () => {
    const stats = new QueueStats(bed.redis, bed.prefix);
    const now = Date.now();
    await stats.heartbeat('gpu-a', 2, now);
    await stats.recordDuration(4_000);
    expect(await stats.forEstimate(now)).toEqual({ capacity: 2, typicalMs: 4_000 });

    // A second worker and a slower job: within the reuse window the estimate does not ask again.
    await stats.heartbeat('gpu-b', 3, now);
    await stats.recordDuration(8_000);
    await stats.recordDuration(8_000);
    expect(await stats.forEstimate(now + ESTIMATE_REUSE_MS - 1)).toEqual({ capacity: 2, typicalMs: 4_000 });
    expect(await stats.forEstimate(now + ESTIMATE_REUSE_MS)).toEqual({ capacity: 5, typicalMs: 8_000 });
  });

  it('does not keep a failed read: the next request asks again', async () => {
    const broken = new QueueStats(bed.redis, bed.prefix);
    const now = Date.now();
    await bed.redis.set(`${bed.prefix}:workers`, 'not a hash');
    await expect(broken.forEstimate(now)).rejects.toThrow(/WRONGTYPE/);
    await bed.redis.del(`${bed.prefix}:workers`);
    await broken.heartbeat('gpu-a', 1, now);
    expect(await broken.forEstimate(now)).toEqual({ capacity: 1, typicalMs: undefined });
  });
});
