import { Queue, type Job } from 'bullmq';
import { SnowflakeUtil } from 'discord.js';
import sharp from 'sharp';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { cancelJob } from '../../src/bot/components/generation.js';
import type { BotContext } from '../../src/bot/context.js';
import { queuedMessage } from '../../src/bot/messages.js';
import { InvalidRequestError } from '../../src/bot/prompt.js';
import { enqueueGeneration, type Requester } from '../../src/bot/requests.js';
import { generateJobId } from '../../src/queues.js';
import { ProviderRateLimitedError, ProviderRefusedError } from '../../src/worker/providers/types.js';
import { processGenerate } from '../../src/worker/generate.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import { openTestBed, closeTestBed, type TestBed } from '../support/test-bed.js';
import { eventually, quietLogger } from '../support/context.js';
import { describeOnRedis, redisTarget } from '../support/redis.js';
import { ScriptedProvider } from '../support/scripted-provider.js';

let bed: TestBed;
let prefix: string;
let imageDir: string;
let ctx: BotContext;
let provider: ScriptedProvider;
let deliverQueue: Queue;
const workers: RunningWorker[] = [];

function requester(overrides: Partial<Requester> = {}): Requester {
  return {
    interactionId: SnowflakeUtil.generate().toString(),
    interactionToken: 'token-' + Math.random(),
    attachmentSizeLimit: 10 * 1024 * 1024,
    userId: '200000000000000001',
    userName: 'ada',
    guildId: '300000000000000001',
    channelId: '400000000000000001',
    ...overrides,
  };
}

async function worker(options: { concurrency?: number; shutdownGraceMs?: number; transferBlobs?: boolean } = {}) {
  const running = await startWorker({
    redisUrl: redisTarget(),
    prefix,
    provider,
    concurrency: options.concurrency ?? 1,
    imageStoreDir: imageDir,
    logger: quietLogger(),
    progressIntervalMs: 0,
    shutdownGraceMs: options.shutdownGraceMs,
    transferBlobs: options.transferBlobs,
  });
  workers.push(running);
  return running;
}

const options = { prompt: 'a lighthouse in fog', aspect: '16:9' as const, count: 2 };

/** One run of a generate job in this process, as a worker runs it (no cancel reaches it). */
function generateHere(job: Job) {
  return processGenerate(job, {
    jobs: ctx.jobs,
    images: ctx.images,
    transferBlobs: true,
    durations: { add: () => undefined },
    provider,
    deliverQueue: ctx.deliverQueue,
    logger: quietLogger(),
    signal: new AbortController().signal,
  });
}

beforeEach(async () => {
  bed = await openTestBed();
  ({ prefix, imageDir, ctx } = bed);
  provider = new ScriptedProvider();
  deliverQueue = ctx.deliverQueue;
});

afterEach(() => closeTestBed(bed, workers));

describeOnRedis('generation pipeline on real Redis and BullMQ', () => {
  it('turns a queued request into stored images and a delivery job', async () => {
    await worker();
    const { record, place } = await enqueueGeneration(ctx, requester(), { kind: 'txt2img', options: { ...options, seed: 42 } });
    expect(place).toMatchObject({ position: 1, total: 1 });

    const done = await eventually(async () => {
      const current = await ctx.jobs.get(record.id);
      return current?.status === 'done' && current;
    });
    expect(done.imageIds).toEqual([`${record.id}-1`, `${record.id}-2`]);
    expect(provider.requests[0]).toMatchObject({ prompt: 'a lighthouse in fog', width: 1344, height: 768, seed: 42, count: 2 });

    // What the bot will archive about each picture travels with the job: the worker writes no database.
    expect(done.images).toEqual([
      { width: 1344, height: 768, contentType: 'image/png' },
      { width: 1344, height: 768, contentType: 'image/png' },
    ]);
    for (const id of done.imageIds) {
      expect(await ctx.images.getRecord(id)).toBeUndefined();
      const file = await ctx.images.readFile(id);
      expect((await sharp(file!).metadata()).width).toBe(1344);
      // The bytes also travel through Redis for a bot on another machine, until delivery.
      expect(await ctx.images.getBlob(id)).toEqual(file);
    }
    expect(done.bytesInRedis).toBe(true);
    const delivery = await eventually(() => deliverQueue.getJob(`deliver-${record.id}`), 5000, 'the delivery job');
    expect(delivery.data).toEqual({ jobId: record.id });
    // The worker reports its durations shortly after, in one command for all it finished meanwhile.
    const typical = await eventually(
      async () => {
        const ms = await ctx.stats.typicalDurationMs();
        return ms !== undefined && { ms };
      },
      5000,
      'a recorded duration',
    );
    expect(typical.ms).toBeGreaterThanOrEqual(0);
  });

  it('hands no bytes over in Redis when the folder is shared with the bot, and the record says so', async () => {
    await worker({ transferBlobs: false });
    const { record } = await enqueueGeneration(ctx, requester(), { kind: 'txt2img', options });
    const done = await eventually(async () => {
      const current = await ctx.jobs.get(record.id);
      return current?.status === 'done' && current;
    });
    expect(done.bytesInRedis).toBe(false);
    for (const id of done.imageIds) {
      expect(await ctx.images.readFile(id)).toBeInstanceOf(Buffer);
      expect(await ctx.images.getBlob(id)).toBeUndefined();
    }
  });

  it('accepts interaction ids that read as exact integers (BullMQ refuses those as raw job ids)', async () => {
    await worker();
    const id = '1575461133358336000'; // parseInt gives it back unchanged
    expect(String(parseInt(id, 10))).toBe(id);
    const { record } = await enqueueGeneration(ctx, requester({ interactionId: id }), { kind: 'txt2img', options });
    await eventually(async () => (await ctx.jobs.get(record.id))?.status === 'done');
  });

  it('treats a double-submitted interaction as one job', async () => {
    await worker();
    const who = requester();
    const first = await enqueueGeneration(ctx, who, { kind: 'txt2img', options });
    const second = await enqueueGeneration(ctx, who, { kind: 'txt2img', options });
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    await eventually(async () => (await ctx.jobs.get(who.interactionId))?.status === 'done');
    expect(provider.requests).toHaveLength(1);
  });

  it('retries transient provider failures and then succeeds once', async () => {
    provider.failNext(new Error('HTTP 503'), new Error('socket hang up'));
    await worker();
    const { record } = await enqueueGeneration(ctx, requester(), { kind: 'txt2img', options });
    await eventually(async () => (await ctx.jobs.get(record.id))?.status === 'done');
    expect(provider.requests).toHaveLength(3);
    // Delivery is announced right after the record says done.
    await eventually(async () => (await deliverQueue.getJobCounts()).waiting === 1, 5000, 'one delivery job');
  });

  it('fails a safety refusal at once, with a reason for the author, and never retries it', async () => {
    provider.failNext(new ProviderRefusedError('NSFW content detected', 'safety'));
    await worker();
    const { record } = await enqueueGeneration(ctx, requester(), { kind: 'txt2img', options });
    const failed = await eventually(async () => {
      const current = await ctx.jobs.get(record.id);
      return current?.status === 'failed' && current;
    });
    expect(failed.error).toMatch(/safety filter/);
    expect(failed.errorKind).toBe('refused');
    expect(provider.requests).toHaveLength(1);
    await eventually(() => deliverQueue.getJob(`deliver-${record.id}`), 5000, 'the delivery job');
  });

  it('fails with "provider down" after the last attempt', async () => {
    provider.failNext(...Array.from({ length: 4 }, () => new Error('HTTP 502')));
    await worker();
    const { record } = await enqueueGeneration(ctx, requester(), { kind: 'txt2img', options });
    const failed = await eventually(async () => {
      const current = await ctx.jobs.get(record.id);
      return current?.status === 'failed' && current;
    });
    expect(failed.errorKind).toBe('provider_down');
    expect(provider.requests).toHaveLength(4);
  });

  it('waits out a provider rate limit without using up attempts', async () => {
    provider.failNext(...Array.from({ length: 5 }, () => new ProviderRateLimitedError(30)));
    await worker();
    const { record } = await enqueueGeneration(ctx, requester(), { kind: 'txt2img', options });
    await eventually(async () => (await ctx.jobs.get(record.id))?.status === 'done');
    // Five rate limits would have exhausted four attempts had they counted as failures.
    expect(provider.requests).toHaveLength(6);
  });

  it('pauses every worker, not only the one that heard it, when the provider says to slow down', async () => {
    provider.failNext(new ProviderRateLimitedError(1500));
    const calls: number[] = [];
    const generate = provider.generate.bind(provider);
    provider.generate = (request) => {
      calls.push(Date.now());
      return generate(request);
    };
    await worker();
    await worker();
    const first = await enqueueGeneration(ctx, requester(), { kind: 'txt2img', options });
    await eventually(() => calls.length >= 1);
    const second = await enqueueGeneration(ctx, requester({ userId: '200000000000000002' }), { kind: 'txt2img', options });
    for (const { record } of [first, second]) await eventually(async () => (await ctx.jobs.get(record.id))?.status === 'done');
    // Nothing reached the provider while the pause lasted, though a second worker sat idle.
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(1400);
  });

  it('cancels a waiting job: it is removed and never generated', async () => {
    const { record } = await enqueueGeneration(ctx, requester(), { kind: 'txt2img', options });
    expect(await ctx.generateQueue.getJob(generateJobId(record.id))).toBeDefined();
    await cancelJob(ctx, record.id, record.userId);
    expect(await ctx.generateQueue.getJob(generateJobId(record.id))).toBeUndefined();
    await worker();
    const { record: next } = await enqueueGeneration(ctx, requester(), { kind: 'txt2img', options });
    await eventually(async () => (await ctx.jobs.get(next.id))?.status === 'done');
    expect(provider.requests.map((r) => r.prompt)).toHaveLength(1);
    expect((await ctx.jobs.get(record.id))?.status).toBe('cancelled');
  });

  it('cancels a running job: the worker aborts the provider and nothing is delivered', async () => {
    provider.holdNext();
    await worker();
    const started = provider.nextRequest();
    const { record } = await enqueueGeneration(ctx, requester(), { kind: 'txt2img', options });
    const request = await started;
    await cancelJob(ctx, record.id, record.userId);
    await eventually(() => request.signal.aborted, 5000, 'the provider call to be aborted');
    await eventually(async () => (await ctx.generateQueue.getJobCounts('active')).active === 0);
    expect((await ctx.jobs.get(record.id))?.status).toBe('cancelled');
    expect(await deliverQueue.getJob(`deliver-${record.id}`)).toBeUndefined();
    await expect(cancelJob(ctx, record.id, record.userId)).rejects.toThrow(InvalidRequestError);
  });

  it('hands a running job back to the queue when its worker stops, and another worker finishes it', async () => {
    provider.holdNext();
    const first = await worker({ shutdownGraceMs: 50 });
    const started = provider.nextRequest();
    const { record } = await enqueueGeneration(ctx, requester(), { kind: 'txt2img', options });
    await started;
    await first.close();
    workers.splice(workers.indexOf(first), 1);
    expect((await ctx.jobs.get(record.id))?.status).toBe('queued');
    await worker();
    await eventually(async () => (await ctx.jobs.get(record.id))?.status === 'done');
    expect(provider.requests).toHaveLength(2);
    // Delivery is announced right after the record says done.
    await eventually(async () => (await deliverQueue.getJobCounts()).waiting === 1, 5000, 'one delivery job');
  });

  it('keeps the pictures of a job that ran twice at once: the run that finishes second deletes nothing', async () => {
    // As after a lock lapsed while Redis was away: the job was handed out again while its first run went on.
    const { record } = await enqueueGeneration(ctx, requester(), { kind: 'txt2img', options });
    const job = (await ctx.generateQueue.getJob(generateJobId(record.id)))!;
    const first = provider.holdNext();
    const second = provider.holdNext();
    const run = () => generateHere(job);
    const firstStarted = provider.nextRequest();
    const firstRun = run();
    await firstStarted;
    const secondStarted = provider.nextRequest();
    const secondRun = run();
    await secondStarted;

    first.release();
    expect(await firstRun).toMatchObject({ outcome: 'done' });
    second.release();
    expect(await secondRun).toEqual({ outcome: 'skipped', reason: 'done' });
    const done = await ctx.jobs.get(record.id);
    expect(done?.status).toBe('done');
    for (const id of done!.imageIds) {
      expect(await ctx.images.readFile(id)).toBeInstanceOf(Buffer);
      expect(await ctx.images.getBlob(id)).toBeInstanceOf(Buffer);
    }
  });

  it('deletes the pictures of a job cancelled while its provider worked', async () => {
    const { record } = await enqueueGeneration(ctx, requester(), { kind: 'txt2img', options });
    const job = (await ctx.generateQueue.getJob(generateJobId(record.id)))!;
    const hold = provider.holdNext();
    const started = provider.nextRequest();
    // A cancel the worker did not hear (it was on another worker): the provider finishes.
    const run = generateHere(job);
    await started;
    expect((await ctx.jobs.transition(record.id, ['running'], 'cancelled')).ok).toBe(true);
    hold.release();
    expect(await run).toEqual({ outcome: 'skipped', reason: 'cancelled' });
    for (const index of [0, 1]) {
      expect(await ctx.images.readFile(`${record.id}-${index + 1}`)).toBeUndefined();
      expect(await ctx.images.getBlob(`${record.id}-${index + 1}`)).toBeUndefined();
    }
  });

  it('reports queue positions in order of arrival', async () => {
    const places = [];
    for (let i = 0; i < 3; i += 1) places.push((await enqueueGeneration(ctx, requester(), { kind: 'txt2img', options })).place);
    expect(places.map((p) => p?.position)).toEqual([1, 2, 3]);
    expect(places[2]!.total).toBe(3);
  });

  it('a request whose place cannot be read once it is queued stays queued, and its answer says Queued', async () => {
    const timedOut = Object.assign(Object.create(ctx.stats) as BotContext['stats'], {
      standing: () => Promise.reject(new Error('Command timed out')),
    });
    const { record, place, duplicate } = await enqueueGeneration({ ...ctx, stats: timedOut }, requester(), { kind: 'txt2img', options });
    expect(duplicate).toBe(false);
    expect(place).toBeUndefined();
    expect(await ctx.generateQueue.getJobState(generateJobId(record.id))).toMatch(/waiting|prioritized/);
    expect((await ctx.jobs.live(record.id))?.status).toBe('queued');
    expect(queuedMessage(record, place).content).toMatch(/^⏳ \*\*Queued\*\*\n/);
  });
});
