import { EventEmitter } from 'node:events';
import { Queue } from 'bullmq';
import { REST } from 'discord.js';
import type { Redis } from 'ioredis';
import { pino } from 'pino';
import type { BotContext } from '../../src/bot/context.js';
import type { Database } from '../../src/db/connection.js';
import { DELIVER_QUEUE, GENERATE_QUEUE, SESSION_QUEUE, type DeliverJob, type GenerateJob } from '../../src/queues.js';
import { ChallengeStore } from '../../src/features/challenges/store.js';
import { CHALLENGE_QUEUE, type ChallengeQueue } from '../../src/features/challenges/timers.js';
import { ImageStore } from '../../src/features/pictures/images.js';
import { pictureArchive } from '../../src/features/pictures/store.js';
import { FsImageStorage } from '../../src/storage/index.js';
import { JobStore } from '../../src/store/jobs.js';
import { LineageStore } from '../../src/features/lineage/store.js';
import { SeriesStore } from '../../src/features/series/store.js';
import { SessionStore } from '../../src/features/sessions/store.js';
import type { SessionQueue } from '../../src/features/sessions/timers.js';
import { SettingsStore } from '../../src/features/settings/store.js';
import { QueueStats } from '../../src/store/stats.js';
import { VoteStore } from '../../src/features/votes/store.js';

export const quietLogger = () =>
  process.env.TEST_LOG_FILE
    ? pino({ level: process.env.TEST_LOG_LEVEL ?? 'debug' }, pino.destination({ dest: `${process.env.TEST_LOG_FILE}.${process.pid}`, append: true }))
    : pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** A bot context on real Redis, BullMQ and database, for handlers tested without Discord. */
export function makeBotContext(redis: Redis, prefix: string, imageDir: string, db: Database, overrides: Partial<BotContext> = {}): BotContext {
  return {
    redis,
    db,
    prefix,
    applicationId: '100000000000000001',
    botUserId: '100000000000000001',
    rest: new REST(),
    logger: quietLogger(),
    models: [
      { name: 'painterly', ref: 'painterly' },
      { name: 'geometric', ref: 'geometric' },
    ],
    jobs: new JobStore(redis, prefix, pictureArchive(db, '100000000000000001', quietLogger())),
    images: new ImageStore(db, new FsImageStorage(imageDir), redis, prefix),
    stats: new QueueStats(redis, prefix),
    settings: new SettingsStore(db),
    votes: new VoteStore(db, redis, prefix),
    lineage: new LineageStore(db),
    series: new SeriesStore(db),
    generateQueue: new Queue<GenerateJob>(GENERATE_QUEUE, { connection: redis, prefix }),
    deliverQueue: new Queue<DeliverJob>(DELIVER_QUEUE, { connection: redis, prefix }),
    challenges: new ChallengeStore(db),
    challengeQueue: new Queue(CHALLENGE_QUEUE, { connection: redis, prefix }) as ChallengeQueue,
    sessions: new SessionStore(db),
    sessionQueue: new Queue(SESSION_QUEUE, { connection: redis, prefix }) as SessionQueue,
    cdnHosts: ['cdn.discordapp.com'],
    now: Date.now,
    answers: new EventEmitter().setMaxListeners(0),
    generateJobOptions: { backoff: { type: 'fixed', delay: 50 } },
    // Tests ask for pictures faster than people do; the allowances have tests of their own.
    rateLimit: { burst: 1000, refillMs: 1000 },
    ...overrides,
  };
}

/** Polls until `check` returns something truthy (condition variables for state kept in Redis). */
export async function eventually<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
