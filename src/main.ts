import { startBot } from './bot/bot.js';
import { requireDiscord } from './config.js';
import { botOptionsFrom, loadConfigOrExit, onShutdown, orExit, resolveRedis, workerOptionsFrom } from './runtime.js';
import { startWorker } from './worker/worker.js';

/** `npm start`: bot and worker in one process, with a private Redis if none is around. */
const { config, logger } = await loadConfigOrExit();
await orExit(() => requireDiscord(config));
const redis = await orExit(() => resolveRedis(config, logger, { embedded: true }));
const worker = await orExit(() => startWorker(workerOptionsFrom(config, redis.url, logger.child({ part: 'worker' }))));
const bot = await startBot(botOptionsFrom(config, redis.url, logger.child({ part: 'bot' })));
onShutdown(logger, async () => {
  await bot.close();
  await worker.close();
  await redis.server?.stop();
});
