import { loadConfigOrExit, onShutdown, orExit, resolveRedis } from '../src/runtime.js';
import { startWorker } from '../src/worker/worker.js';
import { createFixedDelayProvider } from './provider.js';

/**
 * A real worker process (the same startWorker as `npm run worker`) whose provider has a fixed,
 * known delay: BENCH_DELAY_MS per image, BENCH_CAPACITY images at once, BENCH_IMAGE_SIZE pixels.
 */
const { config, logger } = await loadConfigOrExit();
const redis = await orExit(() => resolveRedis(config, logger, { embedded: false }));
const provider = await createFixedDelayProvider({
  delayMs: Number(process.env.BENCH_DELAY_MS ?? 0),
  capacity: Number(process.env.BENCH_CAPACITY ?? Infinity),
  size: Number(process.env.BENCH_IMAGE_SIZE ?? 512),
});
const worker = await startWorker({
  redisUrl: redis.target,
  prefix: redis.prefix,
  provider,
  concurrency: config.WORKER_CONCURRENCY,
  imageStoreDir: config.IMAGE_STORE_DIR,
  // As `npm run worker` does: a folder shared with the bot needs no copy of the bytes in Redis.
  transferBlobs: !config.S3_BUCKET && !config.IMAGE_STORE_SHARED,
  lockDurationMs: config.WORKER_LOCK_MS,
  logger,
});
onShutdown(logger, () => worker.close());
