import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { BotContext } from '../../src/bot/context.js';
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
