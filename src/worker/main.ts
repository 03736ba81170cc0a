import { loadConfigOrExit, onShutdown, REDIS_PREFIX, resolveRedis } from '../runtime.js';
import { createProvider } from './providers/index.js';
import { startWorker } from './worker.js';

/** `npm run worker`: one GPU worker process. Run as many as you like against one Redis. */
const { config, logger } = loadConfigOrExit();
const redis = await resolveRedis(config, logger, false);
const worker = await startWorker({
  redisUrl: redis.url,
  prefix: REDIS_PREFIX,
  provider: createProvider(config),
  concurrency: config.WORKER_CONCURRENCY,
  imageStoreDir: config.IMAGE_STORE_DIR,
  logger,
});
onShutdown(logger, () => worker.close());
