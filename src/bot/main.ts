import { requireDiscord } from '../config.js';
import { botOptionsFrom, loadConfigOrExit, onShutdown, orExit, resolveRedis } from '../runtime.js';
import { startBot } from './bot.js';

/** `npm run bot`: the Discord side alone (GPU workers run elsewhere with `npm run worker`). */
const { config, logger } = await loadConfigOrExit();
await orExit(() => requireDiscord(config));
const redis = await orExit(() => resolveRedis(config, logger, { embedded: false }));
const bot = await startBot(botOptionsFrom(config, redis.url, logger));
onShutdown(logger, () => bot.close());
