import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { copyFromRedis } from '../../src/db/from-redis.js';
import { recordImages, recordRequest } from '../../src/features/pictures/store.js';
import { SeriesStore } from '../../src/features/series/store.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';
import { connect, dropPrefix, uniquePrefix } from '../support/redis.js';

const GUILD = '300000000000000001';
const CHANNEL = '400000000000000001';
const ADA = '200000000000000001';
const BOB = '200000000000000002';
const CY = '200000000000000003';
const AT = Date.UTC(2026, 5, 1, 12, 0);

const RELAY = '500000000000000001';
const DONE = '500000000000000002';
const BROKEN = '500000000000000003';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A picture's live record as 0.1 wrote it (hash fields are strings). */
function imageHash(id: string, userId: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    id,
    jobId: id.split('-')[0]!,
    index: '1',
    kind: 'txt2img',
    prompt: `prompt of ${id}`,
    seed: '11',
    model: 'painterly',
    aspect: '1:1',
    width: '64',
    height: '48',
    contentType: 'image/png',
    userId,
    guildId: GUILD,
    channelId: CHANNEL,
    createdAt: String(AT),
    ...extra,
  };
}

const panelJson = (panel: Record<string, unknown>) => JSON.stringify({ prompt: 'a wave', createdAt: AT, ...panel });

/** What version 0.1 wrote for series (src/store/series.ts of 0.1, key by key). */
async function writeLegacySeries(redis: Redis, prefix: string): Promise<void> {
  const base = { guildId: GUILD, channelId: CHANNEL, createdAt: String(AT), pending: '0' };
  // A relay with a turn order, two panels with pictures, one still being drawn, one announcement owed.
  await redis.hset(`${prefix}:series:${RELAY}`, {
    ...base,
    id: RELAY,
    threadId: '600000000000000001',
    title: 'Tide tables',
    mode: 'relay',
    panelCount: '6',
    style: 'woodcut',
    seed: '42',
    creatorId: ADA,
    status: 'open',
    turn: '3',
    pending: '1',
    lastUserId: CY,
  });
  await redis.rpush(`${prefix}:series:${RELAY}:order`, 'p1', 'p2', '700000000000000003');
  await redis.hset(`${prefix}:series:${RELAY}:panels`, {
    p1: panelJson({ id: 'p1', userId: ADA, userName: 'Ada', imageId: '700000000000000001-1', jobId: '700000000000000001', seed: 11 }),
    p2: panelJson({ id: 'p2', userId: 'deleted', userName: 'a former member', prompt: '', imageId: '700000000000000002-1' }),
    '700000000000000003': panelJson({
      id: '700000000000000003',
      userId: CY,
      userName: 'Cy',
      jobId: '700000000000000003',
      prevLastUserId: BOB,
      turnAfter: 3,
    }),
  });
  await redis.rpush(`${prefix}:series:${RELAY}:turns`, ADA, BOB, CY);
  await redis.hset(`${prefix}:series:${RELAY}:owed`, 'p2', '1');
  // Picture 1 was archived already; picture 2 only has its live record (a tombstone, after /privacy).
  await redis.hset(
    `${prefix}:image:700000000000000002-1`,
    imageHash('700000000000000002-1', 'deleted', { prompt: '', deletedAt: String(AT + 5), deletedBy: 'privacy' }),
  );

  // A finished series whose completion post was still owed; one panel's picture is unknown.
  await redis.hset(`${prefix}:series:${DONE}`, {
    ...base,
    id: DONE,
    threadId: '600000000000000002',
    title: 'Done deal',
    mode: 'open',
    panelCount: '2',
    creatorId: BOB,
    status: 'complete',
    completedAt: String(AT + 60_000),
    turn: '2',
    completionOwed: '1',
    completionMessageId: '800000000000000001',
  });
  await redis.rpush(`${prefix}:series:${DONE}:order`, 'd1', 'd2');
  await redis.hset(`${prefix}:series:${DONE}:panels`, {
    d1: panelJson({ id: 'd1', userId: BOB, userName: 'Bob', imageId: '700000000000000004-1' }),
    d2: panelJson({ id: 'd2', userId: ADA, userName: 'Ada', imageId: '700000000000000009-1' }),
  });
  await redis.hset(`${prefix}:image:700000000000000004-1`, imageHash('700000000000000004-1', BOB, { nsfw: 'true' }));

  // Not readable: a mode 0.1 never had.
  await redis.hset(`${prefix}:series:${BROKEN}`, {
    ...base,
    id: BROKEN,
    threadId: '600000000000000003',
    title: 'x',
    mode: 'chaos',
    panelCount: '4',
    creatorId: ADA,
    status: 'open',
  });
}

async function setUp() {
  const redis = connect();
  const prefix = uniquePrefix();
  cleanups.push(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });
  const database: TestDatabase = await createTestDatabase({ migrated: true, maxConnections: 4 });
  cleanups.push(() => database.drop());
  // The archive already has the first picture and its request (admission and delivery wrote them).
  await recordRequest(database.db, {
    id: '700000000000000001',
    kind: 'txt2img',
    prompt: 'a wave',
    aspect: '1:1',
    seed: 11,
    count: 1,
    model: 'painterly',
    userId: ADA,
    guildId: GUILD,
    channelId: CHANNEL,
    createdAt: AT,
  });
  await recordImages(database.db, [
    {
      id: '700000000000000001-1',
      requestId: '700000000000000001',
      index: 1,
      kind: 'txt2img',
      prompt: 'a wave',
      seed: 11,
      width: 64,
      height: 64,
      contentType: 'image/png',
      userId: ADA,
      guildId: GUILD,
      channelId: CHANNEL,
      createdAt: AT,
    },
  ]);
  return { redis, prefix, db: database.db };
}

describe("copying 0.1's series from Redis to PostgreSQL", () => {
  it('copies series with their panels, turn order and owed posts once, and reports the counts', async () => {
    const { redis, prefix, db } = await setUp();
    await writeLegacySeries(redis, prefix);

    const first = await copyFromRedis(redis, prefix, db);
    expect(first.series).toEqual({ copied: 2, present: 0, invalid: [BROKEN], panels: 4, missingPictures: 1 });

    const store = new SeriesStore(db);
    expect(await store.get(RELAY)).toMatchObject({
      guildId: GUILD,
      channelId: CHANNEL,
      threadId: '600000000000000001',
      title: 'Tide tables',
      mode: 'relay',
      panelCount: 6,
      style: 'woodcut',
      seed: 42,
      creatorId: ADA,
      status: 'open',
      createdAt: AT,
      turn: 3,
      pending: 1,
      lastUserId: CY,
    });
    expect(await store.turnOrder(RELAY)).toEqual([ADA, BOB, CY]);
    const relayPanels = await store.panels(RELAY);
    expect(relayPanels.map((p) => [p.number, p.id, p.userId, p.userName, p.imageId, p.jobId])).toEqual([
      [1, 'p1', ADA, 'Ada', '700000000000000001-1', '700000000000000001'],
      [2, 'p2', 'deleted', 'a former member', '700000000000000002-1', undefined],
      [3, '700000000000000003', CY, 'Cy', undefined, '700000000000000003'],
    ]);
    expect(await store.owedAnnouncements(RELAY)).toEqual(new Map([['p2', true]]));
    // The tombstone's archive row is a tombstone too, with nobody's name or prompt on it.
    const tombstone = await db.selectFrom('images').selectAll().where('id', '=', '700000000000000002-1').executeTakeFirstOrThrow();
    expect(tombstone).toMatchObject({ user_id: null, prompt: null, storage_key: null, deleted_by: 'privacy' });
    expect(tombstone.deleted_at).toBeInstanceOf(Date);
    // The reservation still gives Cy's turn back if its generation fails, as it did in 0.1.
    expect(await store.releasePending(RELAY, '700000000000000003')).toBe(true);
    expect(await store.get(RELAY)).toMatchObject({ turn: 2, lastUserId: BOB, pending: 0 });

    // The finished series keeps its owed completion; the panel without a picture is left out, in order.
    expect(await store.get(DONE)).toMatchObject({
      status: 'complete',
      completedAt: AT + 60_000,
      completionOwed: true,
      completionMessageId: '800000000000000001',
    });
    expect((await store.panels(DONE)).map((p) => [p.number, p.id])).toEqual([[1, 'd1']]);
    const restricted = await db.selectFrom('images').select('age_restricted').where('id', '=', '700000000000000004-1').executeTakeFirstOrThrow();
    expect(restricted.age_restricted).toBe(true);

    // Again: nothing copied twice, and what changed since (the released reservation) stays changed.
    const second = await copyFromRedis(redis, prefix, db);
    expect(second.series).toEqual({ copied: 0, present: 2, invalid: [BROKEN], panels: 0, missingPictures: 0 });
    expect((await store.panels(RELAY)).map((p) => p.id)).toEqual(['p1', 'p2']);
    // Redis is only read.
    expect(await redis.exists(`${prefix}:series:${RELAY}`, `${prefix}:series:${RELAY}:panels`, `${prefix}:series:${DONE}`)).toBe(3);
  });
});
