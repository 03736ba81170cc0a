import { loadConfigOrExit, onShutdown, orExit, REDIS_PREFIX, resolveRedis } from '../runtime.js';
import { createProvider } from './providers/index.js';
import { startWorker } from './worker.js';

/** `npm run worker`: one GPU worker process. Run as many as you like against one Redis. */
const { config, logger } = await loadConfigOrExit();
const redis = await orExit(() => resolveRedis(config, logger, { embedded: false }));
const worker = await startWorker({
  redisUrl: redis.url,
  prefix: REDIS_PREFIX,
  provider: createProvider(config),
  concurrency: config.WORKER_CONCURRENCY,
  imageStoreDir: config.IMAGE_STORE_DIR,
  lockDurationMs: config.WORKER_LOCK_MS,
  logger,
});
onShutdown(logger, () => worker.close());
