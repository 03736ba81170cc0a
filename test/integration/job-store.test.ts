import type { Redis } from 'ioredis';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { tokenAlive } from '../../src/bot/discord-messages.js';
import { FairQueue, quotaDay } from '../../src/store/fair-queue.js';
import { INTERACTION_TOKEN_TTL_MS, JobStore, SETTLED_TTL_SECONDS, type NewJobRecord } from '../../src/store/jobs.js';
import { deliveredArchive } from '../../src/bot/delivery.js';
import { archiveDelivery, recordRequest } from '../../src/features/pictures/store.js';
import { closeTestBed, openTestBed, requestRecord, type TestBed } from '../support/test-bed.js';
import { describeOnRedis } from '../support/redis.js';

let bed: TestBed;

beforeEach(async () => {
  bed = await openTestBed();
});

afterEach(async () => {
  await closeTestBed(bed);
});

function newRecord(id: string): NewJobRecord {
  return requestRecord(bed.ctx, { id, prompt: 'a lighthouse', seed: 1, interactionToken: 'interaction-token' }, 0);
}

/** A connection that carries `commands` commands (one unless told), then is gone, as when the process dies mid-way. */
function dyingAfterOneCommand(redis: Redis, commands = 1): Redis {
  let calls = 0;
  return new Proxy(redis, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls += 1;
        if (calls > commands) throw new Error('the process died here');
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describeOnRedis('the job record store', () => {
  it('gives a worker’s running slot back in the status change to done, and only when the status moved', async () => {
    const { redis, prefix } = bed;
    const store = new JobStore(redis, prefix);
    const fair = new FairQueue(redis, prefix);
    const { userId, guildId } = newRecord('0');
    const slots = () => redis.smembers(fair.runningKey(guildId, userId));
    for (const id of ['900000000000000301', '900000000000000302']) {
      await store.create(newRecord(id));
      expect(await fair.acquireRunSlot(guildId, userId, `gen-${id}`, 2)).toBe(true);
    }
    const first = { guildId, userId, jobId: 'gen-900000000000000301', released: false };
    const second = { guildId, userId, jobId: 'gen-900000000000000302', released: false };

    // Not running (still queued): the move does not happen, and the slot stays held.
    expect((await store.transition('900000000000000301', ['running'], 'done', {}, undefined, first)).ok).toBe(false);
    expect(first.released).toBe(false);
    expect((await slots()).sort()).toEqual(['gen-900000000000000301', 'gen-900000000000000302']);

    await store.transition('900000000000000301', ['queued'], 'running');
    expect((await store.transition('900000000000000301', ['running'], 'done', { imageIds: ['a'] }, undefined, first)).ok).toBe(true);
    expect(first.released).toBe(true);
    // Only that job's slot went; the member's other job still holds its own.
    expect(await slots()).toEqual(['gen-900000000000000302']);
    expect(second.released).toBe(false);
  });

  it('gives the quota back in the very step that marks a request failed, whenever the process dies, and only once', async () => {
    const { redis, prefix } = bed;
    const store = new JobStore(redis, prefix);
    const fair = new FairQueue(redis, prefix);
    const now = Date.now();
    const { userId, guildId } = newRecord('0');
    const usage = async () => {
      const { imagesToday, budgetSpent, operatorSpent } = await fair.usage(userId, guildId, now);
      return { imagesToday, budgetSpent, operatorSpent };
    };
    const limits = { maxQueued: 10, dailyImages: 100, dailyBudget: 100, operatorBudget: 1000 };
    // The process dies after 1, 2, 3… commands of the move: never may a reader see the request
    // failed while its two images and their cost are still counted.
    for (let commands = 1; commands <= 4; commands++) {
      const id = `90000000000000020${commands}`;
      const before = await usage();
      expect(await fair.admit({ jobId: id, userId, guildId, images: 2, cost: 3, limits, now })).toMatchObject({ admitted: true });
      await store.create({ ...newRecord(id), charge: `${quotaDay(now).day}:2:3` });
      await new JobStore(dyingAfterOneCommand(redis, commands), prefix)
        .transition(id, ['queued'], 'failed', { error: 'the provider broke', errorKind: 'provider' })
        .catch(() => undefined);
      const failed = (await store.get(id))!.status === 'failed';
      const charged = { imagesToday: before.imagesToday + 2, budgetSpent: before.budgetSpent + 3, operatorSpent: before.operatorSpent + 3 };
      expect(await usage(), `dying after ${commands} command(s)`).toEqual(failed ? before : charged);
      // Whatever happened, the next attempt settles it: failed and refunded, once.
      await store.transition(id, ['queued', 'failed'], 'failed');
      await store.transition(id, ['failed'], 'failed');
      expect(await usage()).toEqual(before);
    }
  });

  it('a status change told who asked and what was charged refunds and tidies the same, in one command', async () => {
    const { redis, prefix } = bed;
    const store = new JobStore(redis, prefix);
    const fair = new FairQueue(redis, prefix);
    const now = Date.now();
    const id = '900000000000000301';
    const record = { ...newRecord(id), charge: `${quotaDay(now).day}:2:3` };
    const limits = { maxQueued: 10, dailyImages: 100, dailyBudget: 100, operatorBudget: 1000 };
    const before = await fair.usage(record.userId, record.guildId, now);
    expect(await fair.admit({ jobId: id, userId: record.userId, guildId: record.guildId, images: 2, cost: 3, limits, now })).toMatchObject({
      admitted: true,
    });
    await store.create(record);
    expect((await store.openJobsOf(record.userId)).map((open) => open.id)).toEqual([id]);

    // Redis learns the script first (a cluster node that does not know it yet is sent its text).
    await store.create(newRecord('900000000000000302'));
    await store.transition('900000000000000302', ['queued'], 'failed');
    // The one command it may send is the status change itself.
    const moved = await new JobStore(dyingAfterOneCommand(redis), prefix).transition(id, ['queued'], 'failed', { error: 'broke' }, record);
    expect(moved).toEqual({ ok: true, previous: 'queued' });
    const after = await fair.usage(record.userId, record.guildId, now);
    expect({ images: after.imagesToday, spent: after.budgetSpent, outstanding: after.outstanding }).toEqual({
      images: before.imagesToday,
      spent: before.budgetSpent,
      outstanding: before.outstanding,
    });
    expect(await store.openJobsOf(record.userId)).toEqual([]);
  });

  it('a process that dies while creating a record leaves all of it or nothing, never a record without TTL or index', async () => {
    const { redis, prefix } = bed;
    const store = new JobStore(dyingAfterOneCommand(redis), prefix);
    const id = '900000000000000001';
    await store.create(newRecord(id)).catch(() => undefined);

    const key = `${prefix}:job:${id}`;
    if ((await redis.exists(key)) === 1) {
      expect(await redis.ttl(key)).toBeGreaterThan(0);
      expect(await redis.hget(key, 'prompt')).toBe('a lighthouse');
      expect(await redis.zscore(`${prefix}:jobs:open`, id)).not.toBeNull();
    }
    expect(await new JobStore(redis, prefix).get(id).catch(() => 'unreadable')).not.toBe('unreadable');
  });

  it('creates a record once: a second create of the same id changes nothing', async () => {
    const store = bed.ctx.jobs;
    const id = '900000000000000002';
    expect(await store.create(newRecord(id))).toBe(true);
    expect(await store.create({ ...newRecord(id), prompt: 'something else' })).toBe(false);
    expect((await store.get(id))?.prompt).toBe('a lighthouse');
    expect(await bed.redis.ttl(store.key(id))).toBeGreaterThan(0);
  });

  it('createRecord returns exactly the record a read gives afterwards, and nothing for a second create', async () => {
    const store = bed.ctx.jobs;
    const plain = '900000000000000011';
    const full = '900000000000000012';
    const created = await store.createRecord(newRecord(plain));
    expect(created).toEqual(await store.get(plain));
    const withEverything = await store.createRecord({
      ...newRecord(full),
      negative: 'fog',
      parentImageId: '900000000000000001-1',
      strength: 0.35,
      width: 1344,
      height: 768,
      priority: 3,
      charge: '20000:1:1',
      nsfw: true,
    });
    expect(withEverything).toEqual(await store.get(full));
    expect(withEverything).toMatchObject({ status: 'queued', imageIds: [], images: [], interactionToken: 'interaction-token', nsfw: true });
    expect(await store.createRecord({ ...newRecord(plain), prompt: 'something else' })).toBeUndefined();
    // A request whose token already died is recorded without one, and said so.
    const late = '900000000000000013';
    const old = Date.now() - INTERACTION_TOKEN_TTL_MS - 1000;
    const lateRecord = await store.createRecord({ ...newRecord(late), interactionAt: old });
    expect(lateRecord?.interactionToken).toBeUndefined();
    expect(lateRecord).toEqual(await store.get(late));
  });

  it('peek says where a live record stands, and nothing for one that is not in Redis', async () => {
    const store = bed.ctx.jobs;
    const id = '900000000000000014';
    expect(await store.peek(id)).toBeUndefined();
    const record = newRecord(id);
    await store.create(record);
    expect(await store.peek(id)).toEqual({
      status: 'queued',
      ackedAt: undefined,
      ackFailed: undefined,
      interactionAt: record.interactionAt,
      hooksDone: undefined,
      resultMessageId: undefined,
      guildId: record.guildId,
    });
    await store.update(id, { ackedAt: 1234, status: 'done', resultMessageId: '500000000000000001', hooksDone: '0' });
    expect(await store.peek(id)).toMatchObject({ status: 'done', ackedAt: 1234, resultMessageId: '500000000000000001', hooksDone: '0' });
    await store.forget(id);
    expect(await store.peek(id)).toBeUndefined();
  });

  it("gives the member's turn back in the very step that finishes a job, even when the process dies right after", async () => {
    const { redis, prefix } = bed;
    const store = new JobStore(redis, prefix);
    const fair = new FairQueue(redis, prefix);
    const now = Date.now();
    const { userId, guildId } = newRecord('0');
    const limits = { maxQueued: 10, dailyImages: 0, dailyBudget: 0 };
    const first = '900000000000000015';
    const second = '900000000000000016';
    expect(await fair.admit({ jobId: first, userId, guildId, images: 1, cost: 0, limits, now })).toEqual({ admitted: true, priority: 1 });
    expect(await fair.admit({ jobId: second, userId, guildId, images: 1, cost: 0, limits, now })).toEqual({ admitted: true, priority: 2 });
    await store.create(newRecord(first));
    await store.transition(first, ['queued'], 'running');
    // One command, the status change itself, and the process is gone.
    const moved = await new JobStore(dyingAfterOneCommand(redis), prefix).transition(first, ['running'], 'done').catch(() => 'died');
    expect(moved).not.toBe('died');
    expect((await store.peek(first))?.status).toBe('done');
    expect((await fair.usage(userId, guildId, now)).outstanding).toBe(1);
    // Only once: finishing again (delivered) releases nothing more, and a failed move releases nothing.
    await store.transition(first, ['done'], 'delivered');
    expect(await store.transition(first, ['queued'], 'failed')).toEqual({ ok: false, previous: 'delivered' });
    expect((await fair.usage(userId, guildId, now)).outstanding).toBe(1);
    // A third request now gets the turn after the one still waiting.
    const third = '900000000000000017';
    expect(await fair.admit({ jobId: third, userId, guildId, images: 1, cost: 0, limits, now })).toEqual({ admitted: true, priority: 2 });
  });

  it('updating a record that is gone does not bring it back (as a hash without a TTL)', async () => {
    const store = bed.ctx.jobs;
    const id = '900000000000000003';
    expect(await store.update(id, { channelPostAt: Date.now() })).toBe(false);
    expect(await bed.redis.exists(store.key(id))).toBe(0);

    await store.create(newRecord(id));
    expect(await store.update(id, { channelPostAt: 5 })).toBe(true);
    expect((await store.get(id))?.channelPostAt).toBe(5);
  });

  it('keeps the interaction token beside the record only while it works (15 minutes), never inside the record', async () => {
    const store = bed.ctx.jobs;
    const id = '900000000000000004';
    await store.create(newRecord(id));
    expect(await bed.redis.hget(store.key(id), 'interactionToken')).toBeNull();
    const ttl = await bed.redis.pttl(`${store.key(id)}:token`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(INTERACTION_TOKEN_TTL_MS);
    const record = await store.get(id);
    expect(record?.interactionToken).toBe('interaction-token');
    expect(tokenAlive(record!, Date.now())).toBe(true);

    // Once it expired, the record is whole but has no token, and nobody tries to use one.
    await bed.redis.del(`${store.key(id)}:token`);
    const later = await store.get(id);
    expect(later?.prompt).toBe('a lighthouse');
    expect(later?.interactionToken).toBeUndefined();
    expect(tokenAlive(later!, Date.now())).toBe(false);
  });

  it('stores no token at all for an interaction older than the token’s life', async () => {
    const store = bed.ctx.jobs;
    const id = '900000000000000005';
    const old = Date.now() - INTERACTION_TOKEN_TTL_MS - 1000;
    await store.create({ ...newRecord(id), interactionAt: old, createdAt: old });
    expect(await bed.redis.exists(`${store.key(id)}:token`)).toBe(0);
    expect((await store.get(id))?.interactionToken).toBeUndefined();
  });

  it('strips the token from a record written with it inside, once the token has expired', async () => {
    const store = bed.ctx.jobs;
    const id = '900000000000000006';
    const old = Date.now() - INTERACTION_TOKEN_TTL_MS - 1000;
    await store.create({ ...newRecord(id), interactionAt: old, createdAt: old });
    await bed.redis.hset(store.key(id), 'interactionToken', 'left-inside');
    expect((await store.get(id))?.interactionToken).toBeUndefined();
    expect(await bed.redis.hget(store.key(id), 'interactionToken')).toBeNull();
  });
});

describeOnRedis('settled records leave Redis; the archive answers for them', () => {
  it('a delivered record is forgotten by Redis and read back from PostgreSQL with its pictures and outcome', async () => {
    const { ctx, redis } = bed;
    const record = newRecord('150000000000000010');
    await recordRequest(ctx.db, { ...record, parentImageId: undefined });
    expect(await ctx.jobs.create(record)).toBe(true);
    const startedAt = Date.now() - 5_000;
    const finishedAt = startedAt + 4_000;
    await ctx.jobs.transition(record.id, ['queued'], 'running', { startedAt });
    const images = [{ width: 64, height: 48, contentType: 'image/png' }];
    await ctx.jobs.transition(record.id, ['running'], 'done', { imageIds: [`${record.id}-1`], images, finishedAt });
    await ctx.jobs.transition(record.id, ['done'], 'delivered', { resultMessageId: '900000000000000010', resultChannelId: record.channelId });
    // Delivered, but open (for the recovery sweep) until what follows the post has run; then gone.
    expect(await redis.zscore(`${bed.prefix}:jobs:open`, record.id)).not.toBeNull();
    expect(await redis.ttl(ctx.jobs.key(record.id))).toBeGreaterThan(SETTLED_TTL_SECONDS);
    const live = (await ctx.jobs.get(record.id))!;
    await archiveDelivery(ctx.db, deliveredArchive(live, { id: '900000000000000010', channel_id: record.channelId }));
    await ctx.jobs.forget(record.id);
    expect(await redis.exists(ctx.jobs.key(record.id), `${ctx.jobs.key(record.id)}:token`)).toBe(0);

    const archived = await ctx.jobs.get(record.id);
    expect(archived).toMatchObject({
      status: 'delivered',
      prompt: 'a lighthouse',
      userId: record.userId,
      userName: 'ada',
      imageIds: [`${record.id}-1`],
      images,
      resultMessageId: '900000000000000010',
      hooksDone: '1',
      // When it was drawn, as the worker said.
      startedAt,
      finishedAt,
    });
    expect(archived?.interactionToken).toBeUndefined();
    expect(await ctx.images.getRecord(`${record.id}-1`)).toMatchObject({ width: 64, height: 48, messageId: '900000000000000010' });
    // A cancel of a finished picture learns from the archive that it finished.
    expect(await ctx.jobs.transition(record.id, ['queued', 'running'], 'cancelled')).toEqual({ ok: false, previous: 'delivered' });
    expect(await redis.exists(ctx.jobs.key(record.id))).toBe(0);
  });

  it('a cancel is mirrored in the archive, and the live record keeps only a short TTL', async () => {
    const { ctx, redis } = bed;
    const record = newRecord('150000000000000011');
    await recordRequest(ctx.db, record);
    await ctx.jobs.create(record);
    expect((await ctx.jobs.transition(record.id, ['queued', 'running'], 'cancelled', { cancelledBy: record.userId })).ok).toBe(true);
    const ttl = await redis.ttl(ctx.jobs.key(record.id));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(SETTLED_TTL_SECONDS);
    const row = await ctx.db.selectFrom('requests').selectAll().where('id', '=', record.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ status: 'cancelled', cancelled_by: record.userId });
    await redis.del(ctx.jobs.key(record.id));
    expect((await ctx.jobs.get(record.id))?.status).toBe('cancelled');
  });

  it('a worker, which has no archive, sees a forgotten record as gone', async () => {
    const { redis, prefix } = bed;
    const workerView = new JobStore(redis, prefix);
    expect(await workerView.get('150000000000000012')).toBeUndefined();
  });
});
