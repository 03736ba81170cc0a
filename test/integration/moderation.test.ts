import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SnowflakeUtil } from 'discord.js';
import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateJobId } from '../../src/queues.js';
import type { BotContext } from '../../src/bot/context.js';
import { deleteMemberData, memberDataDeleters, type MemberDataDeleter } from '../../src/bot/privacy.js';
import { InvalidRequestError } from '../../src/bot/prompt.js';
import { enqueueGeneration, type Requester } from '../../src/bot/requests.js';
import { BanList } from '../../src/features/moderation/store.js';
import { FairQueue } from '../../src/store/fair-queue.js';
import { CommandRateLimiter } from '../../src/store/rate-limit.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import { openTestBed, closeTestBed, type TestBed } from '../support/test-bed.js';
import { eventually, quietLogger } from '../support/context.js';
import { redisUrl } from '../support/redis.js';
import { ScriptedProvider } from '../support/scripted-provider.js';

const GUILD = '300000000000000001';
const ADA = '200000000000000001';
const BOB = '200000000000000002';

let bed: TestBed;
let redis: Redis;
let prefix: string;
let imageDir: string;
let ctx: BotContext;
let provider: ScriptedProvider;
const workers: RunningWorker[] = [];

let nextIncrement = 0;

function interactionId(): string {
  return SnowflakeUtil.generate({ increment: BigInt(nextIncrement++ % 4096) }).toString();
}

function imagine(userId: string, prompt: string, where: Partial<Requester> = {}) {
  const requester: Requester = {
    interactionId: interactionId(),
    interactionToken: 'token',
    attachmentSizeLimit: 10 * 1024 * 1024,
    userId,
    userName: 'someone',
    guildId: GUILD,
    channelId: '400000000000000001',
    ...where,
  };
  return enqueueGeneration(ctx, requester, { kind: 'txt2img', options: { prompt, aspect: '1:1', count: 2, seed: 3 } });
}

async function refusal(attempt: Promise<unknown>): Promise<string> {
  const error = await attempt.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(InvalidRequestError);
  return (error as Error).message;
}

async function jobCount() {
  const counts = await ctx.generateQueue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'completed');
  return Object.values(counts).reduce((sum, count) => sum + count, 0);
}

beforeEach(async () => {
  bed = await openTestBed();
  ({ redis, prefix, imageDir, ctx } = bed);
  provider = new ScriptedProvider();
});

afterEach(() => closeTestBed(bed, workers));

describe('checks before queueing', () => {
  it('refuses blocked words without repeating them, and queues nothing', async () => {
    await ctx.settings.update(GUILD, { blocklist: ['dragon', '/castle\\d+/'] });
    for (const prompt of ['a red DRAGON', 'castle42 in the mist', 'loli']) {
      const message = await refusal(imagine(ADA, prompt));
      expect(message).toMatch(/blocked on this server/);
      expect(message.toLowerCase()).not.toContain(prompt.split(' ').at(-1)!.toLowerCase());
    }
    expect(await jobCount()).toBe(0);
    expect(await redis.keys(`${prefix}:job:*`)).toEqual([]);
    // Nothing was charged for refused requests.
    expect((await new FairQueue(redis, prefix).usage(ADA, GUILD, Date.now())).imagesToday).toBe(0);
    await imagine(ADA, 'a dragonfly');
  });

  it('keeps NSFW prompts to age-restricted channels by default, and follows the server policy', async () => {
    expect(await refusal(imagine(ADA, 'a nude statue'))).toMatch(/only in age-restricted channels/);
    await imagine(ADA, 'a nude statue', { channelNsfw: true });
    await imagine(ADA, 'a marble statue');

    await ctx.settings.update(GUILD, { nsfw: 'nowhere' });
    expect(await refusal(imagine(ADA, 'a nude statue', { channelNsfw: true }))).toMatch(/does not allow NSFW/);
    await ctx.settings.update(GUILD, { nsfw: 'everywhere' });
    await imagine(ADA, 'a nude statue');
    // The built-in always-blocked list does not depend on the NSFW policy.
    expect(await refusal(imagine(ADA, 'naked child', { channelNsfw: true }))).toMatch(/blocked/);
  });

  it('keeps a ban per server until it is lifted; the first ban and its moderator stay', async () => {
    // (The interaction router refuses a banned member's every interaction: see test/e2e/moderation.test.ts.)
    const bans = new BanList(ctx.db);
    expect(await bans.ban(GUILD, ADA, BOB, Date.now())).toBe(true);
    expect(await bans.ban(GUILD, ADA, '200000000000000009', Date.now())).toBe(false);
    expect(await bans.isBanned(GUILD, ADA)).toBe(true);
    expect(await bans.isBanned('300000000000000002', ADA)).toBe(false);
    expect(await bans.isBanned(undefined, ADA)).toBe(false);
    expect((await bans.list(GUILD)).map((ban) => ({ userId: ban.userId, by: ban.by }))).toEqual([{ userId: ADA, by: BOB }]);
    expect(await bans.unban(GUILD, ADA)).toBe(true);
    expect(await bans.unban(GUILD, ADA)).toBe(false);
    expect(await bans.isBanned(GUILD, ADA)).toBe(false);
  });

  it('allows only the listed channels, counting threads as their parent', async () => {
    await ctx.settings.update(GUILD, { allowedChannels: ['400000000000000009'] });
    expect(await refusal(imagine(ADA, 'a cat'))).toMatch(/only in <#400000000000000009>/);
    await imagine(ADA, 'a cat', { channelId: '400000000000000009' });
    await imagine(ADA, 'a cat', { channelId: '400000000000000010', parentChannelId: '400000000000000009' });
  });

  it('uses the server’s default model when the member picks none', async () => {
    await ctx.settings.update(GUILD, { defaultModel: 'geometric' });
    const { record } = await imagine(ADA, 'a cat');
    expect(record.model).toBe('geometric');
  });
});

describe('command rate limit (token bucket in Redis)', () => {
  it('allows a burst, then one command per refill interval, per member', async () => {
    const limiter = new CommandRateLimiter(redis, prefix, { burst: 5, refillMs: 10_000 }, 'generate');
    const now = 1_700_000_000_000;
    const burst = await Promise.all(Array.from({ length: 8 }, () => limiter.take(ADA, now)));
    expect(burst.filter((take) => take.allowed)).toHaveLength(5);
    expect(burst.find((take) => !take.allowed)?.retryAfterMs).toBe(2000);
    expect((await limiter.take(BOB, now)).allowed).toBe(true);
    expect((await limiter.take(ADA, now + 1999)).allowed).toBe(false);
    expect((await limiter.take(ADA, now + 2000)).allowed).toBe(true);
    expect((await limiter.take(ADA, now + 2001)).allowed).toBe(false);
  });
});

describe('/privacy delete-my-data', () => {
  it('cancels the member’s queued requests and deletes their images, files and records, and nothing of others', async () => {
    await startWorker({
      redisUrl: redisUrl(),
      prefix,
      provider,
      concurrency: 1,
      imageStoreDir: imageDir,
      logger: quietLogger(),
      progressIntervalMs: 0,
    }).then((w) => workers.push(w));
    const made = await imagine(ADA, 'ada made this');
    const bobs = await imagine(BOB, 'bob made this');
    await eventually(async () => (await ctx.jobs.get(made.record.id))?.status === 'done' && (await ctx.jobs.get(bobs.record.id))?.status === 'done');
    const adaImages = (await ctx.jobs.get(made.record.id))!.imageIds;
    const bobImages = (await ctx.jobs.get(bobs.record.id))!.imageIds;
    expect(adaImages).toHaveLength(2);
    const hold = provider.holdNext();
    const running = await imagine(ADA, 'ada is drawing this');
    await provider.nextRequest();
    const waiting = await imagine(ADA, 'ada queued this');

    const extra: string[] = [];
    const extension: MemberDataDeleter = { name: 'votes removed', deleteMemberData: async (_ctx, userId) => (extra.push(userId), 7) };
    ctx = { ...ctx, dataDeleters: [...memberDataDeleters, extension] };
    const results = await deleteMemberData(ctx, ADA);
    hold.release();

    // Her three requests are erased from the history; none of her pictures had reached Discord yet,
    // so no archived picture is among them (their bytes go all the same, below).
    expect(results).toEqual([
      { name: 'requests cancelled', count: 2 },
      { name: 'pictures deleted', count: 0 },
      { name: 'requests erased', count: 3 },
      { name: 'names forgotten', count: 0 },
      { name: 'votes removed', count: 7 },
    ]);
    expect(extra).toEqual([ADA]);
    // Only the history's shape is kept: no author, no prompt, no pictures.
    for (const id of [made.record.id, running.record.id, waiting.record.id]) {
      const left = await ctx.jobs.get(id);
      expect(left?.userId).not.toBe(ADA);
      expect(left?.prompt ?? '').toBe('');
      expect(left?.imageIds ?? []).toEqual([]);
    }
    // The queued one is gone from the queue, or (grabbed by the worker the cancel freed) ended without a result.
    const leftover = await ctx.generateQueue.getJob(generateJobId(waiting.record.id));
    if (leftover) expect((leftover.returnvalue as { outcome?: string } | null)?.outcome).not.toBe('done');
    for (const id of adaImages) {
      expect(await ctx.images.getRecord(id)).toBeUndefined();
      expect(await ctx.images.bytes(id)).toBeUndefined();
    }
    const history = await ctx.db.selectFrom('requests').select(['id', 'user_id', 'prompt']).where('user_id', '=', ADA).execute();
    expect(history).toEqual([]);
    expect(existsSync(join(imageDir, adaImages[0]!.slice(-2), `${adaImages[0]}.png`))).toBe(false);
    // Bob keeps everything.
    expect((await ctx.jobs.get(bobs.record.id))?.status).toBe('done');
    for (const id of bobImages) expect(await ctx.images.bytes(id)).toBeDefined();
    // Ada's turn counter is back to zero: her next request is a first request again.
    await eventually(async () => (await new FairQueue(redis, prefix).usage(ADA, GUILD, Date.now())).outstanding === 0);
  });
});
