import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { copyFromRedis } from '../../src/db/from-redis.js';
import { ChallengeStore } from '../../src/features/challenges/store.js';
import { recordImages, recordRequest } from '../../src/features/pictures/store.js';
import { VoteStore, voteCount } from '../../src/features/votes/store.js';
import { BanList } from '../../src/features/moderation/store.js';
import { LineageStore } from '../../src/features/lineage/store.js';
import { archiveDelivery, archivedJob } from '../../src/features/pictures/store.js';
import { SettingsStore } from '../../src/features/settings/store.js';
import { startPrivateRedis, type PrivateRedis } from '../../src/redis-server.js';
import { LEGACY_REDIS_PREFIX } from '../../src/runtime.js';
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

const noVotes = { votes: { copied: 0, present: 0, invalid: [] }, waiting: [], profiles: { copied: 0, present: 0, invalid: [] } };

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
    expect(await lineage.names([ADA, BOB])).toEqual(
      new Map([
        [ADA, 'Ada'],
        [BOB, 'Bob'],
      ]),
    );
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
      challenges: { challenges: { copied: 0, present: 0, invalid: [] } },
      series: { copied: 0, present: 0, invalid: [], panels: 0, missingPictures: 0 },
      ...noVotes,
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
      series: { copied: 0, present: 0, invalid: [], panels: 0, missingPictures: 0 },
      ...noVotes,
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
    await writeRedisRecords(redis, LEGACY_REDIS_PREFIX);

    const run = async () => {
      const child = processes.add(
        spawnAtelier('migrate-from-redis', 'src/db/migrate-from-redis-cli.ts', { REDIS_URL: server.url, DATABASE_URL: target.url }),
      );
      return { code: await child.exited, output: child.output() };
    };
    const first = await run();
    expect(first.output).toContain('server settings: 1 copied, 0 already in the database, 1 not readable (left in Redis): 300000000000000002');
    expect(first.output).toContain('bans: 3 copied, 0 already in the database');
    expect(first.output).toContain('challenges: 0 copied, 0 already in the database');
    // Something could not be copied: the exit code says so.
    expect(first.code).toBe(1);
    const second = await run();
    expect(second.output).toContain('server settings: 0 copied, 1 already in the database');
    expect(second.output).toContain('bans: 0 copied, 3 already in the database');
    expect((await new SettingsStore(target.db).fresh(GUILD)).blocklist).toEqual(['kraken']);
  });
});

const CY = '200000000000000003';
const RESULTS_AT = Date.UTC(2026, 4, 20, 18, 0);

/** Pictures as the archive has them (0.1's pictures are copied before the challenges). */
async function archivePictures(db: TestDatabase['db'], pictures: Array<[requestId: string, userId: string]>): Promise<void> {
  for (const [requestId, userId] of pictures) {
    const made = {
      kind: 'txt2img' as const,
      prompt: 'an entry',
      seed: 1,
      model: 'painterly',
      aspect: '1:1',
      userId,
      guildId: GUILD,
      channelId: '400000000000000001',
      createdAt: AT,
    };
    await recordRequest(db, { ...made, id: requestId, count: 1 });
    await recordImages(db, [{ ...made, id: `${requestId}-1`, requestId, index: 1, width: 64, height: 64, contentType: 'image/png' }]);
  }
}

/** 0.1's challenge keys, as its Redis store wrote them. */
async function writeOldChallenges(redis: Redis, prefix: string): Promise<void> {
  const entry = (imageId: string, userId: string, submittedAt: number) =>
    JSON.stringify({ imageId, jobId: imageId.split('-')[0], userId, submittedAt });
  const ranking = [
    { id: 1, imageId: '100000000000000001-1', jobId: '100000000000000001', userId: ADA, submittedAt: AT, votes: 2, place: 1, points: 11 },
    { id: 2, imageId: '100000000000000002-1', jobId: '100000000000000002', userId: BOB, submittedAt: AT + 1, votes: 1, place: 2, points: 7 },
  ];
  await redis.hset(`${prefix}:challenge:7`, {
    id: '7',
    guildId: GUILD,
    channelId: '400000000000000001',
    theme: 'a city under the sea',
    phase: 'results',
    submitDays: '5',
    voteDays: '2',
    scheduled: '0',
    createdBy: MOD,
    createdAt: String(AT - 1000),
    announcedAt: String(AT - 500),
    submissionsEndAt: String(AT + 5000),
    votingEndAt: String(AT + 9000),
    votingStartedAt: String(AT + 5000),
    resultsAt: String(RESULTS_AT),
    season: '2026-Q2',
    announceMessageId: '500000000000000001',
    threadId: '500000000000000001',
    votingMessageId: '500000000000000002',
    galleryPosted: '1',
    resultMessageId: '500000000000000005',
    entrySeq: '2',
    ranking: JSON.stringify(ranking),
  });
  await redis.hset(`${prefix}:challenge:7:entries`, '1', entry('100000000000000001-1', ADA, AT), '2', entry('100000000000000002-1', BOB, AT + 1));
  await redis.hset(`${prefix}:challenge:7:gallery`, '1', '500000000000000003', '2', '500000000000000004');
  await redis.sadd(`${prefix}:challenge:7:votes:1`, BOB, CY);
  await redis.sadd(`${prefix}:challenge:7:votes:2`, ADA);
  // A running one: entry #2 was withdrawn, #3's picture never reached the archive.
  await redis.hset(`${prefix}:challenge:9`, {
    id: '9',
    guildId: GUILD,
    channelId: '400000000000000001',
    theme: 'lanterns',
    phase: 'submissions',
    submitDays: '5',
    voteDays: '2',
    scheduled: '1',
    createdBy: 'schedule',
    createdAt: String(AT + 10_000),
    announcedAt: String(AT + 10_000),
    submissionsEndAt: String(AT + 20_000),
    votingEndAt: String(AT + 30_000),
    announceMessageId: '500000000000000006',
    entrySeq: '3',
  });
  await redis.hset(
    `${prefix}:challenge:9:entries`,
    '1',
    entry('100000000000000003-1', CY, AT + 11_000),
    '3',
    entry('100000000000000099-1', ADA, AT + 12_000),
  );
  await redis.hset(`${prefix}:challenge:8`, { guildId: GUILD, phase: 'lost' });
  await redis.set(`${prefix}:challenges:seq`, '9');
  await redis.set(`${prefix}:challenges:guild:${GUILD}:active`, '9');
  await redis.zadd(`${prefix}:challenges:guild:${GUILD}:history`, AT - 1000, '7', AT + 10_000, '9');
  await redis.zadd(`${prefix}:challenges:guild:${GUILD}:season:2026-Q2`, 11, ADA, 7, BOB);
  await redis.sadd(`${prefix}:challenges:guild:${GUILD}:seasons`, '2026-Q2');
  await redis.sadd(`${prefix}:challenges:guild:${GUILD}:themes`, 'dragons', 'harbours', 'lanterns');
  await redis.sadd(`${prefix}:challenges:guild:${GUILD}:themes:used`, 'lanterns');
  await redis.set(
    `${prefix}:challenges:guild:${GUILD}:schedule`,
    JSON.stringify({ channelId: '400000000000000001', weekday: 5, time: '18:30', timezone: 'Europe/Berlin', submitDays: 5, voteDays: 2 }),
  );
  await redis.set(`${prefix}:challenges:guild:${OTHER_GUILD}:schedule`, JSON.stringify({ channelId: 'x', weekday: 9 }));
}

describe('copying challenges from Redis to PostgreSQL', () => {
  it('copies challenges, entries, votes, season points, themes and schedules once, and they answer as in 0.1', async () => {
    const redis = connect();
    const prefix = uniquePrefix();
    cleanups.push(async () => {
      await dropPrefix(redis, prefix);
      await redis.quit();
    });
    const { db } = await database();
    await archivePictures(db, [
      ['100000000000000001', ADA],
      ['100000000000000002', BOB],
      ['100000000000000003', CY],
    ]);
    await writeOldChallenges(redis, prefix);

    const { challenges: first } = await copyFromRedis(redis, prefix, db);
    expect(first).toEqual({
      challenges: { copied: 2, present: 0, invalid: ['8'] },
      entries: { copied: 3, present: 0, invalid: ['9#3 (picture 100000000000000099-1 is not in the database)'] },
      votes: { copied: 3, present: 0, invalid: [] },
      // ADA: entry and podium; BOB: entry and podium.
      points: { copied: 4, present: 0, invalid: [] },
      themes: { copied: 3, present: 0, invalid: [] },
      schedules: { copied: 1, present: 0, invalid: [OTHER_GUILD] },
    });

    const store = new ChallengeStore(db);
    expect(await store.leaderboard(GUILD, '2026-Q2')).toEqual([
      { userId: ADA, points: 11 },
      { userId: BOB, points: 7 },
    ]);
    expect(await store.seasons(GUILD)).toEqual(['2026-Q2']);
    expect((await store.history(GUILD)).map((challenge) => [challenge.id, challenge.phase])).toEqual([
      ['9', 'submissions'],
      ['7', 'results'],
    ]);
    const finished = (await store.get('7'))!;
    expect(finished).toMatchObject({ season: '2026-Q2', resultsAt: RESULTS_AT, galleryPosted: true, resultMessageId: '500000000000000005' });
    expect(finished.ranking.map((entry) => [entry.id, entry.userId, entry.votes, entry.place, entry.points])).toEqual([
      [1, ADA, 2, 1, 11],
      [2, BOB, 1, 2, 7],
    ]);
    expect(await store.votes('7', 1)).toBe(2);
    expect(await store.galleryMessages('7')).toEqual(new Set([1, 2]));
    expect((await store.active(GUILD))?.id).toBe('9');
    expect((await store.entries('9')).map((entry) => [entry.id, entry.userId])).toEqual([[1, CY]]);
    expect(await store.themes(GUILD)).toEqual([
      { theme: 'dragons', used: false },
      { theme: 'harbours', used: false },
      { theme: 'lanterns', used: true },
    ]);
    expect(await store.schedule(GUILD)).toEqual({
      channelId: '400000000000000001',
      weekday: 5,
      time: '18:30',
      timezone: 'Europe/Berlin',
      submitDays: 5,
      voteDays: 2,
    });
    // The next entry and the next challenge get numbers 0.1 never handed out.
    expect(await store.submit('9', { userId: BOB, imageId: '100000000000000002-1', jobId: '' }, AT + 15_000, 2)).toMatchObject({
      ok: true,
      entryId: 4,
    });
    expect(
      (
        await store.create({
          guildId: OTHER_GUILD,
          channelId: '400000000000000002',
          theme: 'rain',
          submitDays: 5,
          voteDays: 2,
          scheduled: false,
          createdBy: MOD,
          createdAt: AT,
        })
      ).id,
    ).toBe('10');

    // A second run copies nothing and changes nothing.
    const { challenges: second } = await copyFromRedis(redis, prefix, db);
    expect(second).toEqual({
      challenges: { copied: 0, present: 2, invalid: ['8'] },
      entries: { copied: 0, present: 3, invalid: ['9#3 (picture 100000000000000099-1 is not in the database)'] },
      votes: { copied: 0, present: 3, invalid: [] },
      points: { copied: 0, present: 4, invalid: [] },
      themes: { copied: 0, present: 3, invalid: [] },
      schedules: { copied: 0, present: 1, invalid: [OTHER_GUILD] },
    });
    expect(await store.leaderboard(GUILD, '2026-Q2')).toEqual([
      { userId: ADA, points: 11 },
      { userId: BOB, points: 7 },
    ]);
    expect((await store.entries('9')).map((entry) => entry.id)).toEqual([1, 4]);
  });
});

describe('copying votes from Redis to PostgreSQL', () => {
  const CY = '200000000000000003';
  const jobs = { voted: '500000000000000001', deleted: '500000000000000002', notYet: '500000000000000003' };

  /** What version 0.1 wrote for votes: a voters set per result, a closed marker, profile hashes. */
  async function writeVotes(redis: Redis, prefix: string): Promise<void> {
    await redis.sadd(`${prefix}:votes:${jobs.voted}:voters`, BOB, CY);
    await redis.sadd(`${prefix}:votes:${jobs.deleted}:voters`, BOB, 'not-a-member');
    await redis.set(`${prefix}:votes:${jobs.deleted}:closed`, '1');
    await redis.sadd(`${prefix}:votes:${jobs.notYet}:voters`, CY);
    await redis.hset(`${prefix}:votes:${jobs.voted}:clicks`, BOB, '1');
    await redis.set(`${prefix}:profile-counted:${jobs.voted}`, '1');
    await redis.hset(`${prefix}:profile:${GUILD}:${ADA}`, 'images', '5', 'votes', '3', 'remixes', '1');
    await redis.hset(`${prefix}:profile:${GUILD}:${BOB}`, 'images', '1');
    // Rankings are rebuilt from the votes, never read.
    await redis.zadd(`${prefix}:top:guild:${GUILD}`, 2, jobs.voted);
  }

  async function admitted(db: TestDatabase['db'], id: string, createdAt: number): Promise<void> {
    await recordRequest(db, {
      id,
      kind: 'txt2img',
      prompt: 'a lighthouse',
      aspect: '1:1',
      seed: 1,
      count: 1,
      model: 'painterly',
      userId: ADA,
      guildId: GUILD,
      channelId: '400000000000000001',
      createdAt,
    });
  }

  it('copies each vote once with its counts, closes deleted pictures, waits for pictures not copied yet', async () => {
    const redis = connect();
    const prefix = uniquePrefix();
    cleanups.push(async () => {
      await dropPrefix(redis, prefix);
      await redis.quit();
    });
    const { db } = await database();
    await writeVotes(redis, prefix);
    await admitted(db, jobs.voted, AT);
    await admitted(db, jobs.deleted, AT + 1000);

    const first = await copyFromRedis(redis, prefix, db);
    expect(first).toMatchObject({
      votes: { copied: 3, present: 0, invalid: [`${jobs.deleted}/not-a-member`] },
      waiting: [jobs.notYet],
      profiles: { copied: 2, present: 0, invalid: [] },
    });
    const votes = new VoteStore(db, redis, prefix);
    expect(await votes.counts([jobs.voted, jobs.deleted, jobs.notYet])).toEqual([2, 1, 0]);
    expect(await votes.hasVoted(jobs.voted, CY)).toBe(true);
    const now = AT + 3600_000;
    expect(await votes.top({ guildId: GUILD }, 'all', now)).toEqual([{ jobId: jobs.voted, votes: 2 }]);
    expect(await votes.toggle({ jobId: jobs.deleted }, CY, now)).toEqual({ outcome: 'closed', votes: 1 });
    expect(await votes.profile(GUILD, ADA)).toEqual({ images: 5, votes: 3, remixes: 1, best: { jobId: jobs.voted, votes: 2 } });
    // A delivery repeated after the upgrade does not count the result on the profile again.
    await archiveDelivery(db, {
      requestId: jobs.voted,
      outcome: { status: 'delivered', finishedAt: AT },
      images: [],
      author: { userId: ADA, name: 'ada' },
      made: { guildId: GUILD, pictures: 1 },
    });
    expect((await votes.profile(GUILD, ADA)).images).toBe(5);

    // Once the missing picture is in the database, a second run copies its vote and nothing else.
    await admitted(db, jobs.notYet, AT + 2000);
    const second = await copyFromRedis(redis, prefix, db);
    expect(second).toMatchObject({
      votes: { copied: 1, present: 3 },
      waiting: [],
      profiles: { copied: 0, present: 2 },
    });
    expect(await voteCount(db, jobs.voted)).toBe(2);
    expect(await votes.counts([jobs.voted, jobs.deleted, jobs.notYet])).toEqual([2, 1, 1]);
    const third = await copyFromRedis(redis, prefix, db);
    expect(third).toMatchObject({ votes: { copied: 0, present: 4 }, profiles: { copied: 0, present: 2 } });
    expect(await votes.counts([jobs.voted, jobs.deleted, jobs.notYet])).toEqual([2, 1, 1]);
    expect(await redis.scard(`${prefix}:votes:${jobs.voted}:voters`)).toBe(2);
  });
});
