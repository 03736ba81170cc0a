import { Redis } from 'ioredis';
import type { FakeGuildOptions } from '../test/support/fake-discord.js';
import { benchDatabase } from './shared-limit.js';
import { Installation, round, rssMiB, sendAsFastAsAcknowledged, sleep, type BenchOptions, type ScenarioResult } from './lib.js';

/** Issue #13: bot RSS with 2,000 servers × 50 channels at most 1.25 × its RSS with one server. */
const TARGET_RATIO = 1.25;

/** Long enough for start-up garbage to be collected before RSS is read. */
const SETTLE_MS = 3_000;

/**
 * Bot RSS after the gateway handshake delivers 2,000 guilds of 50 channels each (baseline: one
 * guild), bot RSS after many jobs, and Redis memory per finished job once delivery has dropped
 * the image bytes (what stays: the job's record, its image records, BullMQ's completed entries).
 */
export async function memoryScenario({ quick, redisUrl }: BenchOptions): Promise<ScenarioResult> {
  // PostgreSQL rather than the embedded database: PGlite's own memory (hundreds of MiB, and
  // varying) in the bot process would drown what the servers' caches cost.
  const database = await benchDatabase();
  const botEnv = { DATABASE_URL: database.url };
  try {
    return await measure(redisUrl, quick, botEnv);
  } finally {
    await database.drop();
  }
}

async function measure(redisUrl: string, quick: boolean, botEnv: Record<string, string>): Promise<ScenarioResult> {
  const guildCount = 2000;
  const channelsPerGuild = 50;
  const jobs = quick ? 300 : 10_000;
  const small = await Installation.start({ redisUrl, workers: 1, workerConcurrency: 4, botEnv });
  let baselineRss: number;
  let perJobBytes: number;
  let rssAfterJobs: number;
  let delivered: number;
  const redis = new Redis(redisUrl);
  try {
    await sleep(SETTLE_MS);
    baselineRss = rssMiB(small.bot.child.pid!);
    await small.waitForWorkerSlots(4);
    const before = await usedMemory(redis);
    const sent = Installation.accepted(await sendAsFastAsAcknowledged(jobs, 16, (i) => small.imagine(i)));
    delivered = sent.length;
    await small.discord.waitFor(() => sent.every((interaction) => small.result(interaction.id)), 600_000, 'every result');
    // Delivery drops the transfer blob right after the post; give the last one a moment.
    await sleep(1_000);
    perJobBytes = ((await usedMemory(redis)) - before) / delivered;
    await sleep(SETTLE_MS);
    rssAfterJobs = rssMiB(small.bot.child.pid!);
  } finally {
    await redis.quit();
    await small.close();
  }

  const guilds = manyGuilds(guildCount, channelsPerGuild);
  const big = await Installation.start({ redisUrl, discord: { guilds }, botEnv });
  let bigRss: number;
  try {
    await sleep(SETTLE_MS);
    bigRss = rssMiB(big.bot.child.pid!);
  } finally {
    await big.close();
  }
  return {
    name: 'memory',
    parameters: { guilds: guildCount, channels_per_guild: channelsPerGuild, jobs },
    unit: 'MiB',
    median: round(bigRss),
    p99: null,
    baseline: round(baselineRss),
    ratio: round(bigRss / baselineRss, 2),
    target: `≤ ${TARGET_RATIO} × the bot's RSS with one server`,
    pass: bigRss / baselineRss <= TARGET_RATIO,
    extra: {
      bot_rss_after_jobs_mib: round(rssAfterJobs),
      redis_bytes_per_finished_job: Math.round(perJobBytes),
      jobs_delivered: delivered,
    },
  };
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

/** Explicit, distinct snowflakes: 100,000 channels made in a few milliseconds must not collide. */
function manyGuilds(count: number, channels: number): FakeGuildOptions[] {
  let next = 1_100_000_000_000_000_000n;
  const id = () => (next++).toString();
  return Array.from({ length: count }, (_, g) => ({
    id: id(),
    name: `Guild ${g + 1}`,
    channels: Array.from({ length: channels }, (_, c) => ({ id: id(), name: `channel-${c + 1}` })),
  }));
}
