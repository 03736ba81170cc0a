import { requireDiscord } from '../config.js';
import { loadConfigOrExit, onShutdown, orExit, REDIS_PREFIX, resolveRedis } from '../runtime.js';
import { startBot } from './bot.js';

/** `npm run bot`: the Discord side alone (GPU workers run elsewhere with `npm run worker`). */
const { config, logger } = await loadConfigOrExit();
const discord = await orExit(() => requireDiscord(config));
const redis = await orExit(() => resolveRedis(config, logger, { embedded: false }));
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
  logger,
});
onShutdown(logger, () => bot.close());
