import { startBot } from './bot/bot.js';
import { requireDiscord } from './config.js';
import { loadConfigOrExit, onShutdown, orExit, REDIS_PREFIX, resolveRedis } from './runtime.js';
import { createProvider } from './worker/providers/index.js';
import { startWorker } from './worker/worker.js';

/** `npm start`: bot and worker in one process, with a private Redis if none is around. */
const { config, logger } = await loadConfigOrExit();
const discord = await orExit(() => requireDiscord(config));
const redis = await orExit(() => resolveRedis(config, logger, { embedded: true }));
const worker = await startWorker({
  redisUrl: redis.url,
  prefix: REDIS_PREFIX,
  provider: createProvider(config),
  concurrency: config.WORKER_CONCURRENCY,
  imageStoreDir: config.IMAGE_STORE_DIR,
  lockDurationMs: config.WORKER_LOCK_MS,
  logger: logger.child({ part: 'worker' }),
});
const bot = await startBot({
  ...discord,
  apiUrl: config.DISCORD_API_URL,
  cdnUrl: config.DISCORD_CDN_URL,
  redisUrl: redis.url,
  prefix: REDIS_PREFIX,
  models: config.models,
  imageStoreDir: config.IMAGE_STORE_DIR,
  guildId: config.DISCORD_GUILD_ID,
  globalRequestsPerSecond: config.DISCORD_GLOBAL_RATE_LIMIT,
  rateLimit: config.rateLimit,
  logger: logger.child({ part: 'bot' }),
});
onShutdown(logger, async () => {
  await bot.close();
  await worker.close();
  await redis.server?.stop();
});
