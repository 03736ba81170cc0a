import { mkdtempSync, rmSync } from 'node:fs';
import { archiveDelivery } from '../../src/features/pictures/store.js';
import { deliveredArchive } from '../../src/bot/delivery.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { SnowflakeUtil } from 'discord.js';
import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import pg from 'pg';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BotContext } from '../../src/bot/context.js';
import { familyPicture, familyText, flatten, loadFamily } from '../../src/features/lineage/family.js';
import { enqueueGeneration, type Requester } from '../../src/bot/requests.js';
import { renderTree, THUMB } from '../../src/features/lineage/render.js';
import { DELIVER_QUEUE } from '../../src/queues.js';
import type { JobRecord } from '../../src/store/jobs.js';
import { recordRequest } from '../../src/features/pictures/store.js';
import { DOUBLE_CLICK_MS, VoteStore, voteCount } from '../../src/features/votes/store.js';
import { openDatabase } from '../../src/db/connection.js';
import { startWorker, type RunningWorker } from '../../src/worker/worker.js';
import { eventually, makeBotContext, quietLogger } from '../support/context.js';
import { connect, dropPrefix, redisUrl, uniquePrefix } from '../support/redis.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { ScriptedProvider } from '../support/scripted-provider.js';

let redis: Redis;
let prefix: string;
let imageDir: string;
let ctx: BotContext;
let database: TestDatabase;
let deliverQueue: Queue;
const extraConnections: Redis[] = [];
const workers: RunningWorker[] = [];

const GUILD = '300000000000000001';
const CHANNEL = '400000000000000001';
const ADA = '200000000000000001';
const BEA = '200000000000000002';
const CY = '200000000000000003';

beforeEach(async () => {
  database = await createTestDatabase({ migrated: true, maxConnections: 10 });
  redis = connect();
  prefix = uniquePrefix();
  imageDir = mkdtempSync(join(tmpdir(), 'atelier-community-'));
  ctx = makeBotContext(redis, prefix, imageDir, database.db);
  deliverQueue = new Queue(DELIVER_QUEUE, { connection: redis, prefix });
});

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
  await Promise.all(extraConnections.splice(0).map((c) => c.quit()));
  await ctx.generateQueue.close();
  await deliverQueue.close();
  await dropPrefix(redis, prefix);
  await redis.quit();
  await database.drop();
  rmSync(imageDir, { recursive: true, force: true });
});

interface TestJob {
  jobId: string;
  guildId?: string;
  channelId: string;
  userId: string;
  createdAt: number;
}

const job = (overrides: Partial<TestJob> = {}): TestJob => ({
  jobId: '500000000000000001',
  guildId: GUILD,
  channelId: CHANNEL,
  userId: ADA,
  createdAt: Date.now(),
  ...overrides,
});

/** The request's archive row, as admission writes it: what a vote refers to. */
async function admitted(target: TestJob): Promise<TestJob> {
  await recordRequest(ctx.db, {
    id: target.jobId,
    kind: 'txt2img',
    prompt: 'a lighthouse',
    aspect: '1:1',
    seed: 1,
    count: 1,
    model: 'painterly',
    userId: target.userId,
    guildId: target.guildId,
    channelId: target.channelId,
    createdAt: target.createdAt,
  });
  return target;
}

/**
 * What delivery archives once a result is on Discord: its pictures, outcome, author and /profile
 * numbers (a remix names the picture it was made from).
 */
async function archivedDelivery(target: TestJob, pictures: number, fromImageId?: string): Promise<void> {
  await archiveDelivery(ctx.db, {
    requestId: target.jobId,
    outcome: { status: 'delivered', resultChannelId: target.channelId, resultMessageId: '700000000000000001', finishedAt: target.createdAt },
    images: Array.from({ length: pictures }, (_, i) => ({
      id: `${target.jobId}-${i + 1}`,
      requestId: target.jobId,
      index: i + 1,
      kind: fromImageId ? ('img2img' as const) : ('txt2img' as const),
      prompt: 'a lighthouse',
      width: 512,
      height: 512,
      contentType: 'image/png',
      userId: target.userId,
      guildId: target.guildId,
      channelId: target.channelId,
      parentId: fromImageId,
      createdAt: target.createdAt,
    })),
    author: { userId: target.userId, name: 'someone' },
    made: { guildId: target.guildId, pictures, fromImageId },
  });
}

const voter = (n: number) => `6000000000000${String(n).padStart(5, '0')}`;

describe('votes on real PostgreSQL', () => {
  it('counts 50 members voting at the same moment exactly, everywhere the score is kept', async () => {
    await admitted(job());
    // Separate pools and Redis connections, so the transactions really interleave at the servers.
    const pools = await Promise.all(Array.from({ length: 3 }, () => openDatabase({ url: database.url, maxConnections: 10 })));
    const connections = Array.from({ length: 3 }, () => connect());
    extraConnections.push(...connections);
    try {
      const stores = pools.map((pool, i) => new VoteStore(pool.db, connections[i]!, prefix));
      const now = Date.now();
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => stores[i % stores.length]!.toggle(job(), voter(i), now)));

      expect(results.every((r) => r.outcome === 'added')).toBe(true);
      expect(new Set(results.map((r) => r.votes)).size).toBe(50); // every click saw a distinct count
    } finally {
      await Promise.all(pools.map((pool) => pool.close()));
    }
    expect(await ctx.votes.count(job().jobId)).toBe(50);
    expect(await voteCount(ctx.db, job().jobId)).toBe(50);
    const now = Date.now();
    expect(await ctx.votes.top({ guildId: GUILD }, 'all', now)).toEqual([{ jobId: job().jobId, votes: 50 }]);
    expect(await ctx.votes.top({ guildId: GUILD, channelId: CHANNEL }, 'day', now)).toEqual([{ jobId: job().jobId, votes: 50 }]);
    expect((await ctx.votes.profile(GUILD, ADA)).votes).toBe(50);
    expect((await ctx.votes.profile(GUILD, ADA)).best).toEqual({ jobId: job().jobId, votes: 50 });
  });

  it('keeps a burst of votes on one result from taking every database connection: two wait at its row lock, other queries go on', async () => {
    await admitted(job());
    const other = await admitted(job({ jobId: '500000000000000002' }));
    const lockWaiters = async () =>
      Number(
        (
          await sql<{
            n: string;
          }>`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(ctx.db)
        ).rows[0]!.n,
      );
    // Holds the result's row, as a long burst of votes on it would.
    const hold = new pg.Client({ connectionString: database.url });
    await hold.connect();
    let burst: Array<Promise<{ outcome: string }>>;
    try {
      await hold.query('BEGIN');
      await hold.query('SELECT id FROM requests WHERE id = $1 FOR NO KEY UPDATE', [job().jobId]);
      const now = Date.now();
      burst = Array.from({ length: 20 }, (_, i) => ctx.votes.toggle(job(), voter(i), now));
      await eventually(async () => (await lockWaiters()) === 2, 10_000, 'two votes at the row lock');
      // The pool has 10 connections: the other 18 votes wait their turn in the store, not on one.
      expect((await ctx.votes.toggle(other, voter(99), now)).outcome).toBe('added');
      expect(await lockWaiters()).toBe(2);
    } finally {
      await hold.query('COMMIT').catch(() => undefined);
      await hold.end();
    }
    expect((await Promise.all(burst)).map((r) => r.outcome)).toEqual(Array.from({ length: 20 }, () => 'added'));
    expect(await ctx.votes.count(job().jobId)).toBe(20);
    expect(await voteCount(ctx.db, job().jobId)).toBe(20);
  });

  it('50 clicks of one member at once are one vote, and its author receives it once', async () => {
    await admitted(job());
    const pools = await Promise.all(Array.from({ length: 3 }, () => openDatabase({ url: database.url, maxConnections: 10 })));
    try {
      const stores = pools.map((pool) => new VoteStore(pool.db, redis, prefix));
      const now = Date.now();
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => stores[i % stores.length]!.toggle(job(), BEA, now)));
      expect(results.filter((r) => r.outcome === 'added')).toHaveLength(1);
      expect(results.filter((r) => r.outcome === 'unchanged')).toHaveLength(49);
    } finally {
      await Promise.all(pools.map((pool) => pool.close()));
    }
    expect(await voteCount(ctx.db, job().jobId)).toBe(1);
    expect(await ctx.votes.profile(GUILD, ADA)).toMatchObject({ votes: 1, best: { jobId: job().jobId, votes: 1 } });
  });

  it('takes a double click as one vote, and toggles off and on again afterwards', async () => {
    await admitted(job());
    const t = 1_000_000;
    expect(await ctx.votes.toggle(job(), BEA, t)).toEqual({ outcome: 'added', votes: 1 });
    expect(await ctx.votes.toggle(job(), BEA, t + 200)).toEqual({ outcome: 'unchanged', votes: 1 });
    expect(await ctx.votes.toggle(job(), BEA, t + 200 + DOUBLE_CLICK_MS)).toEqual({ outcome: 'removed', votes: 0 });
    expect(await ctx.votes.top({ guildId: GUILD }, 'all', t)).toEqual([]);
    expect(await ctx.votes.toggle(job(), BEA, t + 200 + 2 * DOUBLE_CLICK_MS)).toEqual({ outcome: 'added', votes: 1 });
    expect(await ctx.votes.hasVoted(job().jobId, BEA)).toBe(true);
    expect((await ctx.votes.profile(GUILD, ADA)).votes).toBe(1);
    // The click mark is the only thing a vote leaves in Redis, and it expires.
    const keys = await redis.keys(`${prefix}:votes:*`);
    expect(keys).toHaveLength(1);
    expect(await redis.pttl(keys[0]!)).toBeGreaterThan(0);
  });

  it('ranks by period (ties to the newer result): an old picture counts for the month and all time, not for today', async () => {
    const now = Date.now();
    const old = await admitted(job({ jobId: '500000000000000002', createdAt: now - 10 * 24 * 3600_000 }));
    const fresh = await admitted(job({ jobId: '500000000000000003', createdAt: now - 3600_000 }));
    const tied = await admitted(job({ jobId: '500000000000000004', createdAt: now - 7200_000 }));
    for (let i = 0; i < 3; i++) await ctx.votes.toggle(old, voter(i), now);
    await ctx.votes.toggle(fresh, voter(9), now);
    await ctx.votes.toggle(tied, voter(9), now);
    expect((await ctx.votes.top({ guildId: GUILD }, 'day', now)).map((r) => r.jobId)).toEqual([tied.jobId, fresh.jobId]);
    expect((await ctx.votes.top({ guildId: GUILD }, 'month', now)).map((r) => r.jobId)).toEqual([old.jobId, tied.jobId, fresh.jobId]);
    expect((await ctx.votes.top({ guildId: GUILD }, 'all', now)).map((r) => r.votes)).toEqual([3, 1, 1]);
    expect((await ctx.votes.top({ guildId: GUILD }, 'all', now, 1)).map((r) => r.jobId)).toEqual([old.jobId]);
    expect(await ctx.votes.top({ guildId: GUILD, channelId: '400000000000000009' }, 'all', now)).toEqual([]);
    // Another server's channel named as the scope lists nothing of this one's.
    expect(await ctx.votes.top({ guildId: '300000000000000002', channelId: CHANNEL }, 'all', now)).toEqual([]);
  });

  it('refuses votes on a deleted picture, drops it from the rankings and the best picture, and keeps its count', async () => {
    await admitted(job());
    await ctx.votes.toggle(job(), BEA, 1);
    await ctx.votes.close(job());
    expect(await ctx.votes.toggle(job(), CY, 10_000)).toEqual({ outcome: 'closed', votes: 1 });
    expect(await ctx.votes.toggle(job(), BEA, 20_000)).toEqual({ outcome: 'closed', votes: 1 });
    expect(await ctx.votes.top({ guildId: GUILD }, 'all', 10_000)).toEqual([]);
    expect(await ctx.votes.count(job().jobId)).toBe(1);
    expect(await ctx.votes.profile(GUILD, ADA)).toEqual({ images: 0, votes: 1, remixes: 0, best: undefined });
  });

  it("counts a delivered result on its author's profile and a remix on the parent's author's, once however often delivery repeats", async () => {
    const made = await admitted(job({ jobId: '500000000000000031', userId: BEA }));
    const remix = await admitted(job({ jobId: '500000000000000032', userId: CY }));
    const own = await admitted(job({ jobId: '500000000000000033', userId: BEA }));
    // The same delivery three times at once (a retry racing the first attempt) counts once.
    await Promise.all([1, 2, 3].map(() => archivedDelivery(made, 3)));
    await archivedDelivery(remix, 1, `${made.jobId}-2`);
    await archivedDelivery(remix, 1, `${made.jobId}-2`);
    // Remixing one's own picture is no remix received.
    await archivedDelivery(own, 2, `${made.jobId}-1`);
    expect(await ctx.votes.profile(GUILD, BEA)).toMatchObject({ images: 5, remixes: 1 });
    expect(await ctx.votes.profile(GUILD, CY)).toMatchObject({ images: 1, remixes: 0 });
    // Numbers are per server: another server's profile of the same member is untouched.
    expect(await ctx.votes.profile('300000000000000002', BEA)).toMatchObject({ images: 0, remixes: 0 });
  });

  it('refuses a vote on a result the archive does not know', async () => {
    expect(await ctx.votes.toggle(job({ jobId: '500000000000000077' }), BEA, 1)).toEqual({ outcome: 'closed', votes: 0 });
    expect(await voteCount(ctx.db, '500000000000000077')).toBe(0);
  });
});

describe('forgetting a member', () => {
  it('takes their votes back (scores, rankings and authors follow) and drops their own numbers, by member id', async () => {
    const a = await admitted(job());
    const b = await admitted(job({ jobId: '500000000000000009', userId: BEA }));
    await ctx.votes.toggle(a, CY, 1);
    await ctx.votes.toggle(a, BEA, 1);
    await ctx.votes.toggle(b, CY, 1);
    await ctx.votes.toggle(b, ADA, 1);
    await archivedDelivery(b, 1);

    expect(await ctx.votes.forgetMember(CY)).toBe(2);
    expect(await ctx.votes.hasVoted(a.jobId, CY)).toBe(false);
    expect(await ctx.votes.counts([a.jobId, b.jobId])).toEqual([1, 1]);
    expect(await ctx.votes.top({ guildId: GUILD }, 'all', 1)).toHaveLength(2);
    expect((await ctx.votes.profile(GUILD, ADA)).votes).toBe(1);
    expect((await ctx.votes.profile(GUILD, BEA)).votes).toBe(1);

    expect(await ctx.votes.forgetMember(BEA)).toBe(1);
    expect(await ctx.votes.top({ guildId: GUILD }, 'all', 1)).toEqual([{ jobId: b.jobId, votes: 1 }]);
    expect(await ctx.votes.profile(GUILD, BEA)).toMatchObject({ images: 0, votes: 0, remixes: 0 });
    expect((await ctx.votes.profile(GUILD, ADA)).votes).toBe(0);
    expect(await ctx.votes.forgetMember(BEA)).toBe(0);
    // The score kept on each result still equals its votes.
    expect(await voteCount(ctx.db, a.jobId)).toBe(0);
    expect(await voteCount(ctx.db, b.jobId)).toBe(1);
  });
});

describe('lineage on real Redis and BullMQ', () => {
  let provider: ScriptedProvider;

  beforeEach(async () => {
    provider = new ScriptedProvider();
    workers.push(
      await startWorker({
        redisUrl: redisUrl(),
        prefix,
        provider,
        concurrency: 1,
        imageStoreDir: imageDir,
        logger: quietLogger(),
        progressIntervalMs: 0,
      }),
    );
  });

  function requester(userId: string, userName: string): Requester {
    return {
      interactionId: SnowflakeUtil.generate().toString(),
      interactionToken: 'token',
      attachmentSizeLimit: 10 * 1024 * 1024,
      userId,
      userName,
      guildId: GUILD,
      channelId: CHANNEL,
    };
  }

  /** Generates, then does what delivery does once the result is on Discord. */
  async function made(userId: string, userName: string, parentImageId?: string, count = 1): Promise<JobRecord> {
    const input = parentImageId ? await ctx.images.bytes(parentImageId) : undefined;
    const { record } = await enqueueGeneration(ctx, requester(userId, userName), {
      kind: parentImageId ? 'img2img' : 'txt2img',
      parentImageId,
      input,
      strength: parentImageId ? 0.6 : undefined,
      options: { prompt: `by ${userName}`, aspect: '1:1', count, seed: count * 7 },
    });
    const done = await eventually(async () => {
      const current = await ctx.jobs.get(record.id);
      return current?.status === 'done' ? current : undefined;
    });
    const messageId = SnowflakeUtil.generate().toString();
    await ctx.jobs.transition(record.id, ['done'], 'delivered', { resultMessageId: messageId, resultChannelId: CHANNEL });
    await archiveDelivery(ctx.db, deliveredArchive(done, { id: messageId, channel_id: CHANNEL }));
    return done;
  }

  it('records a remix both ways: parent on the child, child in the parent index, a remix on the parent author', async () => {
    const original = await made(ADA, 'ada', undefined, 2);
    const remix = await made(BEA, 'bea', `${original.id}-2`);

    expect((await ctx.images.getRecord(`${remix.id}-1`))?.parentId).toBe(`${original.id}-2`);
    expect(await ctx.lineage.childrenOf([`${original.id}-2`])).toEqual([`${remix.id}-1`]);
    expect(await ctx.lineage.childrenOf([`${original.id}-1`])).toEqual([]);
    expect(provider.requests[1]).toMatchObject({ kind: 'img2img', strength: 0.6 });
    expect(provider.requests[1]!.init).toBeInstanceOf(Buffer);

    const ada = await ctx.votes.profile(GUILD, ADA);
    expect(ada).toMatchObject({ images: 2, remixes: 1 });
    expect(await ctx.votes.profile(GUILD, BEA)).toMatchObject({ images: 1, remixes: 0 });
    // Archiving the same delivery again counts nothing twice.
    await archiveDelivery(ctx.db, deliveredArchive({ ...remix, status: 'delivered' }, { id: '1', channel_id: CHANNEL }));
    expect(await ctx.votes.profile(GUILD, ADA)).toMatchObject({ images: 2, remixes: 1 });

    // From either end, the family is the same two pictures.
    const fromChild = await loadFamily(ctx, (await ctx.images.getRecord(`${remix.id}-1`))!);
    expect(fromChild.root.key).toBe(`${original.id}-1`);
    expect(fromChild.root.children.map((c) => [c.key, c.focus])).toEqual([[`${remix.id}-1`, true]]);
    const fromParent = await loadFamily(ctx, (await ctx.images.getRecord(`${original.id}-1`))!);
    expect(flatten(fromParent.root).map((n) => n.key)).toEqual([`${original.id}-1`, `${remix.id}-1`]);
  });

  it('draws a three-generation family: thumbnails joined by lines, a text fallback with authors and votes', async () => {
    const a = await made(ADA, 'ada');
    const b = await made(BEA, 'bea', `${a.id}-1`);
    const c = await made(CY, 'cy <script>', `${b.id}-1`);
    await ctx.votes.toggle({ jobId: b.id }, ADA, Date.now());

    const { root, size } = await loadFamily(ctx, (await ctx.images.getRecord(`${b.id}-1`))!);
    expect(size).toBe(3);
    expect(flatten(root).map((n) => [n.name, n.votes, n.focus])).toEqual([
      ['ada', 0, false],
      ['bea', 1, true],
      ['cy <script>', 0, false],
    ]);
    const text = familyText(root);
    expect(text.split('\n')).toHaveLength(3);
    expect(text).toContain(`<@${BEA}> · 👍 1`);
    expect(text).toMatch(/⬅$/m);

    const png = await familyPicture(ctx, root);
    const meta = await sharp(png).metadata();
    expect(meta.format).toBe('png');
    const layout = await renderTree({
      key: 'a',
      kind: 'image',
      title: 'a',
      children: [{ key: 'b', kind: 'image', title: 'b', children: [{ key: 'c', kind: 'image', title: 'c', children: [] }] }],
    });
    expect([meta.width, meta.height]).toEqual([layout.width, layout.height]);
    // Each generation is one row lower, in the same column, and its thumbnail is really drawn there.
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const pixel = (x: number, y: number) => Array.from(data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3));
    const expected = await Promise.all(
      [a, b, c].map(async (j) =>
        Array.from(
          (
            await sharp((await ctx.images.bytes(`${j.id}-1`))!)
              .removeAlpha()
              .raw()
              .toBuffer()
          ).subarray(0, 3),
        ),
      ),
    );
    layout.nodes.forEach((node, i) => {
      expect(node.depth).toBe(i);
      expect(node.left).toBe(layout.nodes[0]!.left);
      const centre = pixel(node.left + THUMB / 2, node.top + THUMB / 2);
      centre.forEach((value, channel) => expect(Math.abs(value - expected[i]![channel]!)).toBeLessThanOrEqual(2));
    });
    // The line between two generations runs through the gap below the parent's labels.
    const gapY = layout.nodes[1]!.top - 8;
    expect(pixel(layout.nodes[0]!.left + THUMB / 2, gapY)).not.toEqual(pixel(4, gapY));
  });

  it('trims a crowded family with "+N more" and keeps a deleted picture as a tombstone', async () => {
    const root = await made(ADA, 'ada');
    const children: JobRecord[] = [];
    for (let i = 0; i < 6; i++) children.push(await made(BEA, 'bea', `${root.id}-1`));
    await ctx.images.tombstone(`${children[0]!.id}-1`, BEA, Date.now());

    const { root: tree, size } = await loadFamily(ctx, (await ctx.images.getRecord(`${root.id}-1`))!);
    expect(size).toBe(5);
    expect(tree.children.map((c) => c.kind)).toEqual(['picture', 'picture', 'picture', 'picture', 'more']);
    expect(tree.children[4]!.hidden).toBe(2);
    expect(tree.children[0]!.deleted).toBe(true);
    const text = familyText(tree);
    expect(text).toContain('🪦 deleted picture');
    expect(text).toContain('+2 more');
    const rendered = await renderTree({
      key: 'r',
      kind: 'image',
      title: 'r',
      children: tree.children.map((c) => ({ key: c.key, kind: c.kind === 'more' ? 'more' : 'image', title: 'x', children: [] })),
    });
    expect(rendered.nodes.filter((n) => n.depth === 1)).toHaveLength(5);
    expect((await sharp(await familyPicture(ctx, tree)).metadata()).width).toBe(rendered.width);
  });
});
