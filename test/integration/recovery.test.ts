import type { Redis } from 'ioredis';
import { UnrecoverableError, Worker } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BotContext } from '../../src/bot/context.js';
import { RECOVERY_GRACE_MS, recoverStrandedJobs } from '../../src/bot/recovery.js';
import { addGenerateJob } from '../../src/bot/requests.js';
import { cancelJob } from '../../src/bot/components/generation.js';
import { recordRequest } from '../../src/features/pictures/store.js';
import { adminQuery } from '../support/postgres.js';
import { DELIVER_QUEUE, generateJobId } from '../../src/queues.js';
import type { JobStatus } from '../../src/store/jobs.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import { openTestBed, closeTestBed, requestRecord, type TestBed } from '../support/test-bed.js';
import { eventually, quietLogger } from '../support/context.js';
import { connect, redisUrl } from '../support/redis.js';
import { ScriptedProvider } from '../support/scripted-provider.js';

let bed: TestBed;
let redis: Redis;
let prefix: string;
let imageDir: string;
let ctx: BotContext;
const workers: RunningWorker[] = [];
const closers: Array<() => Promise<unknown>> = [];

beforeEach(async () => {
  bed = await openTestBed();
  ({ redis, prefix, imageDir, ctx } = bed);
});

afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await closeTestBed(bed, workers);
});

/** A request recorded three minutes ago, in the given state, as a crash would have left it. */
async function stranded(status: JobStatus, ageMs = 3 * 60_000): Promise<string> {
  const record = requestRecord(ctx, {}, ageMs);
  const { id } = record;
  await ctx.jobs.create(record);
  if (status !== 'queued') await ctx.jobs.update(id, { status, imageIds: status === 'done' ? [`${id}-1`] : undefined });
  return id;
}

describe('recovering requests a crash left between two steps (real Redis and BullMQ)', () => {
  it('queues a request that was recorded but never queued, and it is then generated', async () => {
    const id = await stranded('queued');
    expect((await recoverStrandedJobs(ctx)).get(id)).toBe('requeued');
    // A second sweep finds it on its way and does nothing.
    expect((await recoverStrandedJobs(ctx)).get(id)).toBeUndefined();
    const provider = new ScriptedProvider();
    workers.push(await startWorker({ redisUrl: redisUrl(), prefix, provider, concurrency: 1, imageStoreDir: imageDir, logger: quietLogger() }));
    await eventually(async () => (await ctx.jobs.get(id))?.status === 'done');
    expect(provider.requests[0]).toMatchObject({ prompt: 'left behind', seed: 7, width: 512, height: 512 });
    await eventually(() => ctx.deliverQueue.getJob(`deliver-${id}`), 5000, 'its delivery');
  });

  it('tells the author about a running request whose job BullMQ no longer has', async () => {
    const id = await stranded('running');
    expect((await recoverStrandedJobs(ctx)).get(id)).toBe('failed');
    const record = await ctx.jobs.get(id);
    expect(record).toMatchObject({ status: 'failed', errorKind: 'internal' });
    expect(record?.error).toMatch(/stopped before it finished/);
    expect(await ctx.deliverQueue.getJob(`deliver-${id}`)).toBeDefined();
    expect(await ctx.generateQueue.getJob(generateJobId(id))).toBeUndefined();
  });

  it('starts a delivery over when it ran out of attempts, and announces one that was never announced', async () => {
    const exhausted = await stranded('done');
    const unannounced = await stranded('done');
    await ctx.deliverQueue.add('deliver', { jobId: exhausted }, { jobId: `deliver-${exhausted}`, attempts: 1 });
    const failing = new Worker(
      DELIVER_QUEUE,
      async () => {
        throw new UnrecoverableError('Discord was down for an hour');
      },
      { connection: connect(), prefix },
    );
    await eventually(async () => (await ctx.deliverQueue.getJobState(`deliver-${exhausted}`)) === 'failed');
    await failing.close();
    closers.push(() => failing.disconnect());

    const recovered = await recoverStrandedJobs(ctx);
    expect(recovered.get(exhausted)).toBe('redelivered');
    expect(recovered.get(unannounced)).toBe('redelivered');
    expect(['waiting', 'prioritized']).toContain(await ctx.deliverQueue.getJobState(`deliver-${exhausted}`));
    expect(['waiting', 'prioritized']).toContain(await ctx.deliverQueue.getJobState(`deliver-${unannounced}`));
  });

  it('runs what follows a post again when its delivery ran out of attempts after posting, and lets it go once done', async () => {
    const id = await stranded('done');
    // Posted, then the archive write kept failing (the database was away) until no attempt was left.
    expect((await ctx.jobs.transition(id, ['done'], 'delivered', { resultMessageId: '900000000000000001', hooksDone: '0' })).ok).toBe(true);
    expect(await redis.zscore(`${prefix}:jobs:open`, id)).not.toBeNull();
    await ctx.deliverQueue.add('deliver', { jobId: id }, { jobId: `deliver-${id}`, attempts: 1 });
    const failing = new Worker(
      DELIVER_QUEUE,
      async () => {
        throw new UnrecoverableError('the database was away');
      },
      { connection: connect(), prefix },
    );
    await eventually(async () => (await ctx.deliverQueue.getJobState(`deliver-${id}`)) === 'failed');
    await failing.close();
    closers.push(() => failing.disconnect());

    expect((await recoverStrandedJobs(ctx)).get(id)).toBe('redelivered');
    expect(['waiting', 'prioritized']).toContain(await ctx.deliverQueue.getJobState(`deliver-${id}`));
    // Once what follows has run, the record is let go, and the sweep has nothing more to do.
    await ctx.jobs.forget(id);
    expect(await redis.zscore(`${prefix}:jobs:open`, id)).toBeNull();
    expect((await recoverStrandedJobs(ctx)).has(id)).toBe(false);
  });

  it('a cancel the database could not take stands: the member’s request is cancelled, and the sweep archives it later', async () => {
    const record = requestRecord(ctx);
    await recordRequest(ctx.db, { ...record, guildId: record.guildId, negative: undefined });
    await ctx.jobs.create(record);
    await addGenerateJob(ctx, (await ctx.jobs.get(record.id))!, 1000);
    const name = bed.database.name;
    await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS false`);
    try {
      await adminQuery(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${name}'`);
      await cancelJob(ctx, record.id, '200000000000000002');
    } finally {
      await adminQuery(`ALTER DATABASE ${name} ALLOW_CONNECTIONS true`);
    }
    expect((await ctx.jobs.live(record.id))?.status).toBe('cancelled');
    expect(await ctx.generateQueue.getJob(generateJobId(record.id))).toBeUndefined();
    const status = () => ctx.db.selectFrom('requests').select(['status', 'cancelled_by']).where('id', '=', record.id).executeTakeFirstOrThrow();
    expect(await status()).toEqual({ status: 'queued', cancelled_by: null });

    expect((await recoverStrandedJobs(ctx)).get(record.id)).toBe('settled');
    expect(await status()).toEqual({ status: 'cancelled', cancelled_by: '200000000000000002' });
  });

  it('reaches every stranded request: 210 it cannot settle yet do not hide the one behind them', async () => {
    // Older, and still on their way (their jobs wait in the queue): the sweep can do nothing for them.
    const stuck: string[] = [];
    for (let i = 0; i < 210; i += 1) stuck.push(await stranded('running', 10 * 60_000 - i));
    for (const id of stuck) await addGenerateJob(ctx, (await ctx.jobs.get(id))!, 1000);
    const settleable = await stranded('cancelled');

    const recovered = await recoverStrandedJobs(ctx);
    expect(recovered.get(settleable)).toBe('settled');
    expect(await redis.zscore(`${prefix}:jobs:open`, settleable)).toBeNull();
    expect(stuck.some((id) => recovered.has(id))).toBe(false);
    expect(await redis.zcard(`${prefix}:jobs:open`)).toBe(210);
  });

  it('leaves young requests alone: they are still on their way', async () => {
    const id = await stranded('queued');
    expect((await recoverStrandedJobs(ctx, Date.now() - 2 * RECOVERY_GRACE_MS)).has(id)).toBe(false);
  });
});
