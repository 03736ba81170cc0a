import { SnowflakeUtil } from 'discord.js';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { generateJobId } from '../../src/queues.js';
import { cancelJob } from '../../src/bot/components/generation.js';
import type { BotContext } from '../../src/bot/context.js';
import { InvalidRequestError } from '../../src/bot/prompt.js';
import { enqueueGeneration, queuePlace, type Requester } from '../../src/bot/requests.js';
import { FairQueue } from '../../src/store/fair-queue.js';
import type { GuildSettings } from '../../src/features/settings/schema.js';
import { ProviderRefusedError } from '../../src/worker/providers/types.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import { openTestBed, closeTestBed, type TestBed } from '../support/test-bed.js';
import { eventually, quietLogger } from '../support/context.js';
import { describeOnRedis, redisTarget } from '../support/redis.js';
import { ScriptedProvider } from '../support/scripted-provider.js';

const GUILD = '300000000000000001';
const member = (n: number) => `2000000000000000${String(n).padStart(2, '0')}`;

let bed: TestBed;
let redis: Redis;
let prefix: string;
let imageDir: string;
let ctx: BotContext;
let provider: ScriptedProvider;
const workers: RunningWorker[] = [];

let nextIncrement = 0;

/** A fresh interaction id. */
function interactionId(): string {
  return SnowflakeUtil.generate({ increment: BigInt(nextIncrement++ % 4096) }).toString();
}

function requester(userId: string, overrides: Partial<Requester> = {}): Requester {
  return {
    interactionId: interactionId(),
    interactionToken: `token-${Math.random()}`,
    attachmentSizeLimit: 10 * 1024 * 1024,
    userId,
    userName: `member ${userId.slice(-2)}`,
    guildId: GUILD,
    channelId: '400000000000000001',
    ...overrides,
  };
}

function imagine(userId: string, prompt: string, options: { count?: number; requester?: Partial<Requester> } = {}) {
  return enqueueGeneration(ctx, requester(userId, options.requester), {
    kind: 'txt2img',
    options: { prompt, aspect: '1:1', count: options.count ?? 1, seed: 1 },
  });
}

async function worker(concurrency: number, runSlotRetryMs?: number) {
  const running = await startWorker({
    redisUrl: redisTarget(),
    prefix,
    provider,
    concurrency,
    imageStoreDir: imageDir,
    logger: quietLogger(),
    progressIntervalMs: 0,
    runSlotRetryMs,
  });
  workers.push(running);
  return running;
}

const configure = (change: Partial<GuildSettings>) => ctx.settings.update(GUILD, change);

async function queuedJobs() {
  const counts = await ctx.generateQueue.getJobCounts('waiting', 'prioritized', 'active', 'delayed');
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

async function refusal(attempt: Promise<unknown>): Promise<string> {
  const error = await attempt.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InvalidRequestError);
  return (error as Error).message;
}

beforeEach(async () => {
  bed = await openTestBed();
  ({ redis, prefix, imageDir, ctx } = bed);
  provider = new ScriptedProvider();
});

afterEach(() => closeTestBed(bed, workers));

describeOnRedis('fair queue on real Redis and BullMQ', () => {
  it('serves members round-robin: every first request before anyone’s second', async () => {
    for (let i = 1; i <= 5; i++) await imagine(member(1), `a${i}`);
    const b = await imagine(member(2), 'b1');
    const c = await imagine(member(3), 'c1');
    const a2 = (await ctx.jobs.openJobsOf(member(1)))[1]!;

    // The queue already shows the order it will serve in.
    expect(await queuePlace(ctx, b.record.id)).toMatchObject({ position: 2, total: 7 });
    expect(await queuePlace(ctx, c.record.id)).toMatchObject({ position: 3, total: 7 });
    expect(await queuePlace(ctx, a2.id)).toMatchObject({ position: 4, total: 7 });

    await worker(1);
    await eventually(() => provider.requests.length === 7 || undefined, 15_000, 'all seven generated');
    expect(provider.requests.map((request) => request.prompt)).toEqual(['a1', 'b1', 'c1', 'a2', 'a3', 'a4', 'a5']);

    // Each job gave its turn back when it finished.
    const fair = new FairQueue(redis, prefix);
    await eventually(async () => (await fair.usage(member(1), GUILD, Date.now())).outstanding === 0 || undefined);
    expect((await fair.usage(member(2), GUILD, Date.now())).outstanding).toBe(0);
  });

  it('lets a newcomer overtake a member whose requests are already waiting', async () => {
    const hold = provider.holdNext();
    await worker(1);
    await imagine(member(1), 'a1');
    await provider.nextRequest();
    await imagine(member(1), 'a2');
    await imagine(member(1), 'a3');
    const late = await imagine(member(2), 'b1');
    // a1 runs; b1 is next although a2 and a3 were queued first.
    expect(late.place).toMatchObject({ position: 2, total: 4 });
    hold.release();
    await eventually(() => provider.requests.length === 4 || undefined, 15_000, 'all four generated');
    expect(provider.requests.map((request) => request.prompt)).toEqual(['a1', 'b1', 'a2', 'a3']);
  });

  it('refuses a request beyond the member’s waiting limit (running ones do not count), atomically', async () => {
    await configure({ maxQueued: 2 });
    const hold = provider.holdNext();
    await worker(1);
    await imagine(member(1), 'running');
    await provider.nextRequest();
    await imagine(member(1), 'waiting 1');
    await imagine(member(1), 'waiting 2');
    const before = await queuedJobs();
    const message = await refusal(imagine(member(1), 'one too many'));
    expect(message).toMatch(/as many requests waiting as this server allows \(2\)/);
    expect(message).toMatch(/Try again as soon as one of them starts/);
    expect(await queuedJobs()).toBe(before);
    // Other members are not affected.
    await imagine(member(2), 'someone else');
    hold.release();
  });

  it('gives back turns held by requests a crashed process never recorded or never released', async () => {
    await configure({ maxQueued: 1 });
    const fair = new FairQueue(redis, prefix);
    const userId = member(1);
    // Admitted an hour ago by a bot that died before recording the request: no record, ever.
    const lost = SnowflakeUtil.generate({ timestamp: Date.now() - 3600_000 }).toString();
    const limits = { maxQueued: 1, dailyImages: 0, dailyBudget: 0 };
    expect(await fair.admit({ jobId: lost, userId, guildId: GUILD, images: 1, cost: 0, limits, now: Date.now() })).toMatchObject({ admitted: true });
    const { record } = await imagine(member(1), 'after the crash');
    expect(record.status).toBe('queued');
    expect((await fair.usage(userId, GUILD, Date.now())).outstanding).toBe(1);
  });

  it('admits exactly the limit when many requests arrive at once', async () => {
    await configure({ maxQueued: 5 });
    const attempts = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => imagine(member(1), `burst ${i}`)));
    expect(attempts.filter((attempt) => attempt.status === 'fulfilled')).toHaveLength(5);
    expect(await queuedJobs()).toBe(5);
  });

  it('runs at most maxRunning of a member’s jobs at once; the rest wait without using an attempt', async () => {
    await configure({ maxRunning: 1 });
    const hold = provider.holdNext();
    await worker(2, 20);
    const first = await imagine(member(1), 'first');
    await provider.nextRequest();
    const second = await imagine(member(1), 'second');
    // The free worker slot keeps picking the second job up and handing it back.
    await eventually(async () => ((await ctx.generateQueue.getJob(generateJobId(second.record.id)))?.attemptsStarted ?? 0) >= 3 || undefined);
    expect(provider.requests).toHaveLength(1);
    expect((await ctx.jobs.get(second.record.id))?.status).toBe('queued');
    hold.release();
    await eventually(async () => (await ctx.jobs.get(second.record.id))?.status === 'done' || undefined, 15_000);
    expect((await ctx.jobs.get(first.record.id))?.status).toBe('done');
    // Handed back several times, yet it used one attempt: the run that generated it.
    await eventually(async () => (await ctx.generateQueue.getJobState(generateJobId(second.record.id))) === 'completed' || undefined);
    expect((await ctx.generateQueue.getJob(generateJobId(second.record.id)))?.attemptsMade).toBe(1);
  });

  it('frees a running slot a dead worker left behind only when the member is at their limit, and never one still held', async () => {
    const fair = new FairQueue(redis, prefix);
    const userId = member(9);
    const lockOf = (jobId: string) => `${prefix}:generate:${jobId}:lock`;
    expect(await fair.acquireRunSlot(GUILD, userId, 'g-1', 2)).toBe(true);
    expect(await fair.acquireRunSlot(GUILD, userId, 'g-2', 2)).toBe(true);
    // Both holders are alive (their BullMQ locks exist): a third waits.
    await redis.set(lockOf('g-1'), 'worker-a', 'PX', 60_000);
    await redis.set(lockOf('g-2'), 'worker-b', 'PX', 60_000);
    expect(await fair.acquireRunSlot(GUILD, userId, 'g-3', 2)).toBe(false);
    // The worker running g-2 died: its lock lapsed, and its slot goes to the next job.
    await redis.del(lockOf('g-2'));
    expect(await fair.acquireRunSlot(GUILD, userId, 'g-3', 2)).toBe(true);
    expect((await redis.smembers(`${prefix}:fair:running:${GUILD}:${userId}`)).sort()).toEqual(['g-1', 'g-3']);
    // A job asking again for the slot it holds keeps it.
    expect(await fair.acquireRunSlot(GUILD, userId, 'g-1', 2)).toBe(true);
  });

  it('counts a member’s running and waiting requests per server: server A’s do not hold them back on server B', async () => {
    const OTHER = '300000000000000002';
    await configure({ maxRunning: 1, maxQueued: 1 });
    await ctx.settings.update(OTHER, { maxRunning: 1, maxQueued: 1 });
    const inOther = { requester: { guildId: OTHER } };
    const hold = provider.holdNext();
    const hold2 = provider.holdNext();
    await worker(2, 20);
    await imagine(member(1), 'running in A');
    await provider.nextRequest();
    await imagine(member(1), 'waiting in A');
    expect(await refusal(imagine(member(1), 'one too many in A'))).toMatch(/as many requests waiting/);

    // On server B the member starts from nothing: a request is admitted and drawn at once, beside A's.
    await imagine(member(1), 'running in B', inOther);
    await eventually(() => provider.requests.length === 2 || undefined, 15_000, 'B’s request drawn beside A’s');
    expect(provider.requests.map((request) => request.prompt)).toEqual(['running in A', 'running in B']);
    const fair = new FairQueue(redis, prefix);
    expect(await fair.usage(member(1), OTHER, Date.now())).toMatchObject({ outstanding: 1, running: 1 });
    expect(await fair.usage(member(1), GUILD, Date.now())).toMatchObject({ outstanding: 2, running: 1 });
    hold.release();
    hold2.release();
  });

  it('keeps a daily image quota per member, higher for roles, and says when it resets', async () => {
    await configure({ dailyImages: 3, roleQuotas: { '500000000000000001': 6 } });
    await imagine(member(1), 'two', { count: 2 });
    const partial = await refusal(imagine(member(1), 'two more', { count: 2 }));
    expect(partial).toMatch(/you have 1 left today/);
    expect(partial).toMatch(/<t:\d+:R>/);
    await imagine(member(1), 'one', { count: 1 });
    const spent = await refusal(imagine(member(1), 'another', { count: 1 }));
    expect(spent).toMatch(/used all 3 of your images for today/);
    const resetsAt = Number(/<t:(\d+):R>/.exec(spent)![1]) * 1000;
    expect(resetsAt).toBe(Math.ceil(Date.now() / 86_400_000) * 86_400_000);

    // A role with a higher quota lifts the member's limit.
    await imagine(member(1), 'with role', { count: 2, requester: { roleIds: ['500000000000000001'] } });
    const usage = await new FairQueue(redis, prefix).usage(member(1), GUILD, Date.now());
    expect(usage.imagesToday).toBe(5);
  });

  it('gives the quota back for a picture that failed or was cancelled before it started, not for one cancelled while drawing', async () => {
    await configure({ dailyImages: 10 });
    const fair = new FairQueue(redis, prefix);
    const used = async () => (await fair.usage(member(1), GUILD, Date.now())).imagesToday;

    provider.failNext(new ProviderRefusedError('NSFW content detected', 'safety'));
    const hold = provider.holdNext();
    await worker(1);
    const refused = await imagine(member(1), 'refused', { count: 2 });
    await eventually(async () => (await ctx.jobs.get(refused.record.id))?.status === 'failed');
    // The refund follows the status change (a second step): wait for it rather than race it.
    await eventually(async () => (await used()) === 0, 10_000, 'the refused picture to be refunded');

    const drawing = await imagine(member(1), 'drawing', { count: 3 });
    await provider.nextRequest();
    const waiting = await imagine(member(1), 'waiting', { count: 4 });
    expect(await used()).toBe(7);
    await cancelJob(ctx, waiting.record.id, member(1));
    expect(await used()).toBe(3);
    await cancelJob(ctx, drawing.record.id, member(1));
    expect(await used()).toBe(3);
    // Reported twice, refunded once.
    await ctx.jobs.transition(refused.record.id, ['failed'], 'failed');
    expect(await used()).toBe(3);
    hold.release();
  });

  it('stops every server together at the installation’s daily budget, and gives back what a cancelled request charged', async () => {
    const OTHER = '300000000000000002';
    ctx = { ...ctx, operatorDailyBudget: 5, models: [{ name: 'pricey', ref: 'painterly', cost: 2 }] };
    const ask = (userId: string, guildId: string) =>
      enqueueGeneration(ctx, requester(userId, { guildId }), { kind: 'txt2img', options: { prompt: 'x', aspect: '1:1', count: 1, model: 'pricey' } });
    await ask(member(1), GUILD);
    const second = await ask(member(2), OTHER);
    // 4 of 5 units spent, on two servers whose own budgets (1000) are far from spent.
    const before = await queuedJobs();
    const message = await refusal(ask(member(3), OTHER));
    expect(message).toMatch(/spent what its operator allows per day across all servers, so nothing was queued/);
    expect(message).toMatch(/<t:\d+:R>/);
    expect(await queuedJobs()).toBe(before);
    expect((await new FairQueue(redis, prefix).usage(member(3), OTHER, Date.now())).operatorSpent).toBe(4);

    // A cancelled request gives its units back to the installation as to the server.
    await cancelJob(ctx, second.record.id, member(2));
    expect((await new FairQueue(redis, prefix).usage(member(3), OTHER, Date.now())).operatorSpent).toBe(2);
    await ask(member(3), OTHER);
  });

  it('stops the server at its daily budget in model cost units', async () => {
    ctx = {
      ...ctx,
      models: [
        { name: 'pricey', ref: 'painterly', cost: 2 },
        { name: 'free', ref: 'geometric', cost: 0 },
      ],
    };
    await configure({ dailyBudget: 4 });
    await enqueueGeneration(ctx, requester(member(1)), { kind: 'txt2img', options: { prompt: 'x', aspect: '1:1', count: 2, model: 'pricey' } });
    const before = await queuedJobs();
    const message = await refusal(
      enqueueGeneration(ctx, requester(member(2)), { kind: 'txt2img', options: { prompt: 'y', aspect: '1:1', count: 1, model: 'pricey' } }),
    );
    expect(message).toMatch(/server has spent its image budget for today/);
    expect(await queuedJobs()).toBe(before);
    // A model that costs nothing still works.
    await enqueueGeneration(ctx, requester(member(2)), { kind: 'txt2img', options: { prompt: 'z', aspect: '1:1', count: 1, model: 'free' } });
  });
});
