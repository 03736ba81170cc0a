import { Queue } from 'bullmq';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { DurationReport, ESTIMATE_REUSE_MS, QueueStats } from '../../src/store/stats.js';
import { closeTestBed, openTestBed, type TestBed } from '../support/test-bed.js';
import { describeOnRedis } from '../support/redis.js';
import { eventually } from '../support/context.js';

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
    await stats.recordDurations([4_000]);
    expect(await stats.forEstimate(now)).toEqual({ capacity: 2, typicalMs: 4_000 });

    // A second worker and a slower job: within the reuse window the estimate does not ask again.
    await stats.heartbeat('gpu-b', 3, now);
    await stats.recordDurations([8_000, 8_000]);
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

  it("reads a queue's sizes and a job's rank in it from BullMQ's own lists", async () => {
    const stats = new QueueStats(bed.redis, bed.prefix);
    const queue = new Queue('standing', { connection: bed.redis, prefix: bed.prefix });
    try {
      await queue.add('plain', {}, { jobId: 'plain-1' });
      await queue.add('plain', {}, { jobId: 'plain-2' });
      await queue.add('ranked', {}, { jobId: 'ranked-1', priority: 2 });
      await queue.add('ranked', {}, { jobId: 'ranked-2', priority: 1 });
      await queue.add('later', {}, { jobId: 'later-1', delay: 60_000 });
      const sizes = { active: 0, waiting: 2, prioritized: 2, delayed: 1 };
      // The wait list is pushed on the left: the first job added is served first, from the right.
      expect(await stats.standing(queue, 'plain-1')).toEqual({ ...sizes, waitIndex: 1, priorityRank: undefined });
      expect(await stats.standing(queue, 'plain-2')).toEqual({ ...sizes, waitIndex: 0, priorityRank: undefined });
      expect(await stats.standing(queue, 'ranked-2')).toEqual({ ...sizes, waitIndex: undefined, priorityRank: 0 });
      expect(await stats.standing(queue, 'ranked-1')).toEqual({ ...sizes, waitIndex: undefined, priorityRank: 1 });
      // A delayed job, or one that is not there at all, has no rank: only the sizes.
      expect(await stats.standing(queue, 'later-1')).toEqual({ ...sizes, waitIndex: undefined, priorityRank: undefined });
      expect(await stats.standing(queue, 'nobody')).toEqual({ ...sizes, waitIndex: undefined, priorityRank: undefined });
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });

  it('sends the durations a worker measured together, once per interval, keeping the latest 50', async () => {
    const stats = new QueueStats(bed.redis, bed.prefix);
    const errors: unknown[] = [];
    const report = new DurationReport(stats, (error) => errors.push(error), 20);
    report.add(1_000);
    report.add(3_000);
    report.add(2_000);
    expect(await stats.typicalDurationMs()).toBeUndefined();
    // Sent by the report's own timer, all three at once.
    await eventually(async () => (await bed.redis.llen(`${bed.prefix}:stats:durations`)) === 3, 5000, 'the reported durations');
    expect(await stats.typicalDurationMs()).toBe(2_000);

    for (let i = 0; i < 80; i += 1) report.add(9_000);
    await report.flush();
    expect(await bed.redis.llen(`${bed.prefix}:stats:durations`)).toBe(50);
    expect(await stats.typicalDurationMs()).toBe(9_000);
    // Nothing pending: a flush sends nothing, and nothing failed.
    await report.flush();
    expect(errors).toEqual([]);
  });

  it('reports a failed send to its owner instead of throwing at the worker', async () => {
    const stats = new QueueStats(bed.redis, bed.prefix);
    await bed.redis.set(`${bed.prefix}:stats:durations`, 'not a list');
    const errors: unknown[] = [];
    const report = new DurationReport(stats, (error) => errors.push(error));
    report.add(1_000);
    await report.flush();
    expect(String(errors[0])).toMatch(/WRONGTYPE/);
  });
});
