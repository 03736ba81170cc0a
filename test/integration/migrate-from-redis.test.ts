import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { copyFromRedis } from '../../src/db/from-redis.js';
import { BanList } from '../../src/features/moderation/store.js';
import { LineageStore } from '../../src/features/lineage/store.js';
import { archivedJob } from '../../src/features/pictures/store.js';
import { SettingsStore } from '../../src/features/settings/store.js';
import { startPrivateRedis, type PrivateRedis } from '../../src/redis-server.js';
import { REDIS_PREFIX } from '../../src/runtime.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { ProcessGroup, spawnAtelier } from '../support/processes.js';
import { connect, dropPrefix, uniquePrefix } from '../support/redis.js';

const GUILD = '300000000000000001';
const OTHER_GUILD = '300000000000000002';
const ADA = '200000000000000001';
const BOB = '200000000000000002';
const MOD = '200000000000000009';
const AT = Date.UTC(2026, 5, 1, 12, 0);
const CHANNEL = '400000000000000001';
const ROOT = '150000000000000001';
const REMIX = '150000000000000002';
const OLD = '150000000000000003';
const MESSAGE = '900000000000000001';

const cleanups: Array<() => Promise<unknown>> = [];
const processes = new ProcessGroup();
afterEach(async () => {
  await processes.killAll();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function database(): Promise<TestDatabase> {
  const opened = await createTestDatabase({ migrated: true, maxConnections: 5 });
  cleanups.push(() => opened.drop());
  return opened;
}

/** What version 0.1 wrote: one JSON document per server, one hash of bans per server. */
async function writeRedisRecords(redis: Redis, prefix: string): Promise<void> {
  await redis.set(`${prefix}:settings:${GUILD}`, JSON.stringify({ dailyImages: 7, blocklist: ['kraken'], nsfw: 'nowhere', allowSelfVote: true }));
  await redis.set(`${prefix}:settings:${OTHER_GUILD}`, JSON.stringify({ maxRunning: 99 })); // above the limit of 16
  await redis.hset(`${prefix}:bans:${GUILD}`, ADA, JSON.stringify({ by: MOD, at: AT }), BOB, JSON.stringify({ by: MOD, at: AT + 1000 }));
  await redis.hset(`${prefix}:bans:${OTHER_GUILD}`, ADA, JSON.stringify({ by: MOD, at: AT }));
}

/** What 0.1 wrote for pictures: job records, image records, the children index, message → images, names. */
async function writePictureRecords(redis: Redis, prefix: string): Promise<void> {
  const job = (id: string, extra: Record<string, string> = {}) => ({
    id,
    status: 'delivered',
    kind: 'txt2img',
    prompt: 'a fox',
    aspect: '1:1',
    seed: '7',
    count: '1',
    model: 'painterly',
    userId: ADA,
    userName: 'Ada',
    guildId: GUILD,
    channelId: CHANNEL,
    applicationId: '100000000000000001',
    interactionAt: String(AT),
    attachmentSizeLimit: '10485760',
    createdAt: String(AT),
    imageIds: JSON.stringify([`${id}-1`]),
    resultMessageId: `${id.slice(0, -1)}9`,
    resultChannelId: CHANNEL,
    ...extra,
  });
  const image = (id: string, jobId: string, extra: Record<string, string> = {}) => ({
    id,
    jobId,
    index: '1',
    kind: 'txt2img',
    prompt: 'a fox',
    seed: '7',
    model: 'painterly',
    aspect: '1:1',
    width: '64',
    height: '64',
    contentType: 'image/png',
    userId: ADA,
    guildId: GUILD,
    channelId: CHANNEL,
    createdAt: String(AT),
    ...extra,
  });
  await redis.hset(`${prefix}:job:${ROOT}`, job(ROOT));
  await redis.hset(`${prefix}:job:${REMIX}`, job(REMIX, { kind: 'img2img', userId: BOB, parentImageId: `${ROOT}-1`, strength: '0.6' }));
  await redis.set(`${prefix}:job:${REMIX}:token`, 'secret-token');
  await redis.hset(`${prefix}:image:${ROOT}-1`, image(`${ROOT}-1`, ROOT));
  await redis.hset(`${prefix}:image:${REMIX}-1`, image(`${REMIX}-1`, REMIX, { kind: 'img2img', userId: BOB, parentId: `${ROOT}-1` }));
  // A picture whose job record expired long ago (0.1 kept job records 90 days, pictures forever).
  await redis.hset(`${prefix}:image:${OLD}-1`, image(`${OLD}-1`, OLD, { deletedAt: String(AT + 5), deletedBy: ADA }));
  await redis.hset(`${prefix}:image:broken`, { id: 'broken', width: 'wide' });
  await redis.zadd(`${prefix}:lineage:${ROOT}-1:children`, AT + 1, `${REMIX}-1`);
  await redis.set(`${prefix}:message:${MESSAGE}:images`, JSON.stringify([`${ROOT}-1`]));
  await redis.hset(`${prefix}:names`, ADA, 'Ada', BOB, 'Bob');
}

describe('copying pictures and families from Redis to PostgreSQL', () => {
  it('copies requests, pictures, family and message links and names once, and the archive answers as Redis did', async () => {
    const redis = connect();
    const prefix = uniquePrefix();
    cleanups.push(async () => {
      await dropPrefix(redis, prefix);
      await redis.quit();
    });
    const { db } = await database();
    await writePictureRecords(redis, prefix);

    const first = await copyFromRedis(redis, prefix, db);
    expect(first.pictures).toEqual({
      requests: { copied: 2, present: 0, invalid: [] },
      images: { copied: 3, present: 0, invalid: ['broken'] },
      children: { copied: 0, present: 1 },
      messages: { copied: 1, present: 0 },
      names: { copied: 2, present: 0 },
    });
    const lineage = new LineageStore(db);
    expect(await lineage.childrenOf([`${ROOT}-1`])).toEqual([]); // not posted in a known message yet
    await db.updateTable('images').set({ message_id: '900000000000000002' }).where('id', '=', `${REMIX}-1`).execute();
    expect(await lineage.childrenOf([`${ROOT}-1`])).toEqual([`${REMIX}-1`]);
    expect(await lineage.imagesOfMessage(MESSAGE)).toEqual([`${ROOT}-1`]);
    expect(await lineage.names([ADA, BOB])).toEqual(new Map([[ADA, 'Ada'], [BOB, 'Bob']]));
    const remix = await archivedJob(db, REMIX, '100000000000000001');
    expect(remix).toMatchObject({ status: 'delivered', kind: 'img2img', userId: BOB, parentImageId: `${ROOT}-1`, imageIds: [`${REMIX}-1`] });
    expect(remix?.interactionToken).toBeUndefined();
    // The expired job's request is rebuilt from its picture, which stays a tombstone without bytes.
    const old = await db.selectFrom('images').selectAll().where('id', '=', `${OLD}-1`).executeTakeFirstOrThrow();
    expect(old).toMatchObject({ request_id: OLD, storage_key: null, deleted_by: ADA });
    expect(old.deleted_at).toBeInstanceOf(Date);
    // Nothing secret was copied.
    expect(JSON.stringify(await db.selectFrom('requests').selectAll().execute())).not.toContain('secret-token');

    const second = await copyFromRedis(redis, prefix, db);
    expect(second.pictures).toEqual({
      requests: { copied: 0, present: 2, invalid: [] },
      images: { copied: 0, present: 3, invalid: ['broken'] },
      children: { copied: 0, present: 1 },
      messages: { copied: 0, present: 1 },
      names: { copied: 0, present: 2 },
    });
    // Redis is only read.
    expect(await redis.exists(`${prefix}:job:${ROOT}`, `${prefix}:image:${ROOT}-1`, `${prefix}:names`)).toBe(3);
  });
});

describe('copying settings and bans from Redis to PostgreSQL', () => {
  it('copies every readable record once, names the unreadable, and copies nothing the second time', async () => {
    const redis = connect();
    const prefix = uniquePrefix();
    cleanups.push(async () => {
      await dropPrefix(redis, prefix);
      await redis.quit();
    });
    const { db } = await database();
    await writeRedisRecords(redis, prefix);

    expect(await copyFromRedis(redis, prefix, db)).toMatchObject({
      settings: { copied: 1, present: 0, invalid: [OTHER_GUILD] },
      bans: { copied: 3, present: 0, invalid: [] },
    });
    const settings = await new SettingsStore(db).fresh(GUILD);
    expect(settings).toMatchObject({ dailyImages: 7, blocklist: ['kraken'], nsfw: 'nowhere', allowSelfVote: true, maxRunning: 2 });
    expect(await new BanList(db).list(GUILD)).toEqual([
      { userId: ADA, by: MOD, at: AT },
      { userId: BOB, by: MOD, at: AT + 1000 },
    ]);

    // A change made in the database since is not undone by a second run.
    await new SettingsStore(db).update(GUILD, { dailyImages: 9 });
    expect(await copyFromRedis(redis, prefix, db)).toMatchObject({
      settings: { copied: 0, present: 1, invalid: [OTHER_GUILD] },
      bans: { copied: 0, present: 3, invalid: [] },
    });
    expect((await new SettingsStore(db).fresh(GUILD)).dailyImages).toBe(9);
    // Redis is only read.
    expect(await redis.exists(`${prefix}:settings:${GUILD}`, `${prefix}:bans:${GUILD}`)).toBe(2);
  });

  it('npm run migrate-from-redis reports the counts, and running it again copies nothing', async () => {
    const server: PrivateRedis = await startPrivateRedis({ ephemeral: true });
    cleanups.push(() => server.stop());
    const redis = new Redis(server.url);
    cleanups.push(() => redis.quit());
    const target = await database();
    await writeRedisRecords(redis, REDIS_PREFIX);

    const run = async () => {
      const child = processes.add(
        spawnAtelier('migrate-from-redis', 'src/db/migrate-from-redis-cli.ts', { REDIS_URL: server.url, DATABASE_URL: target.url }),
      );
      return { code: await child.exited, output: child.output() };
    };
    const first = await run();
    expect(first.output).toContain('server settings: 1 copied, 0 already in the database, 1 not readable (left in Redis): 300000000000000002');
    expect(first.output).toContain('bans: 3 copied, 0 already in the database');
    // Something could not be copied: the exit code says so.
    expect(first.code).toBe(1);
    const second = await run();
    expect(second.output).toContain('server settings: 0 copied, 1 already in the database');
    expect(second.output).toContain('bans: 0 copied, 3 already in the database');
    expect((await new SettingsStore(target.db).fresh(GUILD)).blocklist).toEqual(['kraken']);
  });
});
