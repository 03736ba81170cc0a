import { requireDiscord } from '../config.js';
import { createMetrics } from '../metrics.js';
import {
  botOptionsFrom,
  galleryFrom,
  loadConfigOrExit,
  onShutdown,
  openBotDatabase,
  orExit,
  resolveRedis,
  serveWeb,
  webLoginFrom,
} from '../runtime.js';
import { startBot } from './bot.js';

/** `npm run bot`: the Discord side alone (GPU workers run elsewhere with `npm run worker`). */
const { config, logger } = await loadConfigOrExit();
await orExit(() => requireDiscord(config));
// The database first: a mistake there is named at once, whatever Redis is doing (the Redis key
// prefix may need Redis to answer before it is known).
const database = await orExit(() => openBotDatabase(config, logger));
const redis = await orExit(() => resolveRedis(config, logger, { embedded: false }));
const metrics = createMetrics();
const bot = await startBot(botOptionsFrom(config, redis, database.db, logger, metrics));
const gallery = galleryFrom(config, database.db, bot.ctx.redis, bot.ctx.prefix, bot.ctx.settings);
const web = await orExit(() =>
  serveWeb(
    { logger, metrics, readiness: bot.readiness, interactions: bot.interactions, ...webLoginFrom(config, bot, logger), gallery: gallery.gallery },
    config.WEB_PORT,
    'WEB_PORT',
  ),
);
onShutdown(logger, async () => {
  await web.close();
  await gallery.close();
  await bot.close();
  // Last: deliveries finishing during bot.close() still write to it.
  await database.close();
});
