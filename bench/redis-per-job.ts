import { Redis } from 'ioredis';
import { CHALLENGE_QUEUE } from '../src/features/challenges/timers.js';
import { DELIVER_QUEUE, GENERATE_QUEUE, PRIVACY_QUEUE } from '../src/queues.js';
import { REDIS_PREFIX } from '../src/runtime.js';
import { Installation, sendAsFastAsAcknowledged, sleep, type BenchOptions, type ScenarioResult } from './lib.js';

/** After 200 delivered jobs, Redis holds at most 1 KB per job. */
const TARGET_BYTES = 1024;
const JOBS = 200;
const WARM_UP = 10;

/**
 * Redis memory per delivered job: what stays in Redis once 200 results are on Discord (BullMQ's
 * retained entries and event streams, counters, caches), measured after a warm-up so that what
 * exists once per installation (queue metadata, scripts) is not counted. Lasting records are in
 * PostgreSQL and bytes in image storage, so this stays small and does not grow with history.
 * Also reports the keys (outside BullMQ's) that have no TTL.
 */
export async function redisPerJobScenario({ redisUrl }: BenchOptions): Promise<ScenarioResult> {
  const installation = await Installation.start({ redisUrl, workers: 2, workerConcurrency: 4 });
  const redis = new Redis(redisUrl);
  try {
    await installation.waitForWorkerSlots(8);
    const warm = Installation.accepted(await sendAsFastAsAcknowledged(WARM_UP, 8, (i) => installation.imagine(i)));
    await installation.discord.waitFor(() => warm.every((interaction) => installation.result(interaction.id)), 120_000, 'the warm-up results');
    await settled(redis);
    const before = await usedMemory(redis);
    const sent = Installation.accepted(await sendAsFastAsAcknowledged(JOBS, 16, (i) => installation.imagine(WARM_UP + i)));
    await installation.discord.waitFor(() => sent.every((interaction) => installation.result(interaction.id)), 600_000, 'every result');
    await settled(redis);
    const perJob = ((await usedMemory(redis)) - before) / sent.length;
    const withoutTtl = await keysWithoutTtl(redis);
    return {
      name: 'redis-per-job',
      parameters: { jobs: sent.length, warm_up: WARM_UP },
      unit: 'bytes/job',
      median: Math.round(perJob),
      p99: null,
      baseline: null,
      ratio: null,
      target: `≤ ${TARGET_BYTES} bytes per delivered job`,
      pass: perJob <= TARGET_BYTES,
      extra: { keys_without_ttl_outside_bullmq: withoutTtl.slice(0, 20), keys_without_ttl_count: withoutTtl.length },
    };
  } finally {
    await redis.quit();
    await installation.close();
  }
}

/** Waits until no live job record is left (every delivery ran its follow-ups and let go of it). */
async function settled(redis: Redis): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const [, keys] = await redis.scan('0', 'MATCH', `${REDIS_PREFIX}:job:*`, 'COUNT', 10_000);
    if (keys.length === 0 && (await redis.zcard(`${REDIS_PREFIX}:jobs:open`)) === 0) break;
    await sleep(100);
  }
  // Blob deletes and the last completions land a moment after the last post.
  await sleep(500);
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

const bullmqQueues = [GENERATE_QUEUE, DELIVER_QUEUE, PRIVACY_QUEUE, CHALLENGE_QUEUE];

async function keysWithoutTtl(redis: Redis): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      if (bullmqQueues.some((queue) => key.startsWith(`${REDIS_PREFIX}:${queue}:`))) continue;
      if ((await redis.ttl(key)) === -1) found.push(key);
    }
  } while (cursor !== '0');
  return found.sort();
}
