import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { SnowflakeUtil } from 'discord.js';
import type { BotContext } from '../../src/bot/context.js';
import type { NewJobRecord } from '../../src/store/jobs.js';
import type { RunningWorker } from '../../src/worker/worker.js';
import { makeBotContext } from './context.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { connect, dropPrefix, uniquePrefix } from './redis.js';

/** One integration test's world: its own Redis namespace, database, image folder and bot context. */
export interface TestBed {
  redis: Redis;
  database: TestDatabase;
  prefix: string;
  imageDir: string;
  ctx: BotContext;
}

export async function openTestBed(): Promise<TestBed> {
  const database = await createTestDatabase({ migrated: true, maxConnections: 10 });
  const redis = connect();
  const prefix = uniquePrefix();
  const imageDir = mkdtempSync(join(tmpdir(), 'atelier-test-'));
  return { redis, database, prefix, imageDir, ctx: makeBotContext(redis, prefix, imageDir, database.db) };
}

/** Stops the test's workers first (they hold jobs), then its queues, its keys, its files. */
export async function closeTestBed(bed: TestBed, workers: RunningWorker[] = []): Promise<void> {
  await Promise.all(workers.splice(0).map((worker) => worker.close()));
  await bed.ctx.generateQueue.close();
  await bed.ctx.deliverQueue.close();
  await dropPrefix(bed.redis, bed.prefix);
  await bed.redis.quit();
  await bed.database.drop();
  rmSync(bed.imageDir, { recursive: true, force: true });
}

/**
 * A request's record, created `ageMs` ago (its id a snowflake of that time; by default 3 minutes,
 * as a crash would have left it) by member 200000000000000001 on server 300000000000000001;
 * `overrides` say what it asked for.
 */
export function requestRecord(ctx: BotContext, overrides: Partial<NewJobRecord> = {}, ageMs = 3 * 60_000): NewJobRecord {
  const createdAt = Date.now() - ageMs;
  return {
    id: SnowflakeUtil.generate({ timestamp: createdAt }).toString(),
    kind: 'txt2img',
    prompt: 'left behind',
    aspect: '1:1',
    seed: 7,
    count: 1,
    model: 'painterly',
    userId: '200000000000000001',
    userName: 'ada',
    guildId: '300000000000000001',
    channelId: '400000000000000001',
    applicationId: ctx.applicationId,
    interactionToken: 'token',
    interactionAt: createdAt,
    attachmentSizeLimit: 10 * 1024 * 1024,
    createdAt,
    width: 512,
    height: 512,
    priority: 1,
    ...overrides,
  };
}
