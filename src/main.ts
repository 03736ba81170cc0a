import { startBot } from './bot/bot.js';
import { requireDiscord } from './config.js';
import { createMetrics } from './metrics.js';
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
  workerOptionsFrom,
} from './runtime.js';
import { startWorker } from './worker/worker.js';

/** `npm start`: bot and worker in one process, with a private Redis if none is around. */
const { config, logger } = await loadConfigOrExit();
await orExit(() => requireDiscord(config));
const redis = await orExit(() => resolveRedis(config, logger, { embedded: true }));
// The bot's records; the worker needs none (it only reaches Redis and the image files).
const database = await orExit(() => openBotDatabase(config, logger));
const metrics = createMetrics();
// One process, one folder: the worker's result files are the bot's, no bytes travel through Redis.
const worker = await orExit(() =>
  startWorker({ ...workerOptionsFrom(config, redis, logger.child({ part: 'worker' }), metrics), transferBlobs: false }),
);
const bot = await startBot(botOptionsFrom(config, redis, database.db, logger.child({ part: 'bot' }), metrics));
const gallery = galleryFrom(config, database.db, bot.ctx.redis, bot.ctx.prefix, bot.ctx.settings);
const web = await orExit(() =>
  serveWeb(
    {
      logger,
      metrics,
      readiness: [...bot.readiness, ...worker.readiness],
      interactions: bot.interactions,
      ...webLoginFrom(config, bot, logger),
      gallery: gallery.gallery,
    },
    config.WEB_PORT,
    'WEB_PORT',
  ),
);
onShutdown(logger, async () => {
  await web.close();
  await gallery.close();
  await bot.close();
  await worker.close();
  await database.close();
  await redis.server?.stop();
});
