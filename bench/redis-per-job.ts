import { Redis } from 'ioredis';
import { REDIS_PREFIX } from '../src/runtime.js';
import { Installation, sendAsFastAsAcknowledged, sleep, type BenchOptions, type ScenarioResult } from './lib.js';
import { isBullmqKey } from '../test/support/queues.js';

/** After 200 delivered jobs, Redis holds at most 1 KB per job. */
const TARGET_BYTES = 1024;
const JOBS = 200;
const WARM_UP = 10;

/**
 * Redis memory per delivered job: what stays in Redis once 200 results are on Discord (BullMQ's
 * retained entries and event streams, counters, caches), measured after a warm-up so that what
 * exists once per installation (queue metadata, scripts) is not counted. Lasting records are in
 * PostgreSQL and bytes in image storage, so this stays small and does not grow with history.
 *
 * The figure is what the keys themselves take (MEMORY USAGE of every key, summed): the server's
 * used_memory also moves with its allocator, client buffers and script cache, by more than a few
 * hundred jobs add (it is in `extra`, and can even come out negative). Also reports the keys
 * (outside BullMQ's) that have no TTL.
 */
export async function redisPerJobScenario({ redisUrl }: BenchOptions): Promise<ScenarioResult> {
  const installation = await Installation.start({ redisUrl, workers: 2, workerConcurrency: 4 });
  const redis = new Redis(redisUrl);
  try {
    await installation.waitForWorkerSlots(8);
    const warm = Installation.accepted(await sendAsFastAsAcknowledged(WARM_UP, 8, (i) => installation.imagine(i)));
    await installation.discord.waitFor(() => warm.every((interaction) => installation.result(interaction.id)), 120_000, 'the warm-up results');
    await settled(redis);
    const before = { keys: await keyBytes(redis), used: await usedMemory(redis) };
    const sent = Installation.accepted(await sendAsFastAsAcknowledged(JOBS, 16, (i) => installation.imagine(WARM_UP + i)));
    await installation.discord.waitFor(() => sent.every((interaction) => installation.result(interaction.id)), 600_000, 'every result');
    await settled(redis);
    const perJob = ((await keyBytes(redis)) - before.keys) / sent.length;
    const usedPerJob = ((await usedMemory(redis)) - before.used) / sent.length;
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
      extra: {
        used_memory_bytes_per_job: Math.round(usedPerJob),
        keys_without_ttl_outside_bullmq: withoutTtl.slice(0, 20),
        keys_without_ttl_count: withoutTtl.length,
      },
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

/** What every key takes, summed (MEMORY USAGE, every element counted). */
async function keyBytes(redis: Redis): Promise<number> {
  let total = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) total += Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0);
  } while (cursor !== '0');
  return total;
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN);
}

async function keysWithoutTtl(redis: Redis): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      if (isBullmqKey(REDIS_PREFIX, key)) continue;
      if ((await redis.ttl(key)) === -1) found.push(key);
    }
  } while (cursor !== '0');
  return found.sort();
}
