import { Redis } from 'ioredis';
import { loadConfigOrExit, openBotDatabase, orExit, REDIS_PREFIX, resolveRedis } from '../runtime.js';
import { copyFromRedis, describeCopy } from './from-redis.js';

/**
 * `npm run migrate-from-redis`: copies the records that moved from Redis to PostgreSQL (server
 * settings and bans, so far) from REDIS_URL into the database the bot uses, and says how many.
 * Safe to run again, and while the bot runs: nothing already in the database is overwritten.
 */
const { config, logger } = await loadConfigOrExit();
const { url } = await orExit(() => resolveRedis(config, logger, { embedded: false }));
const database = await orExit(() => openBotDatabase(config, logger));
const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
try {
  await redis.connect();
  const report = await copyFromRedis(redis, REDIS_PREFIX, database.db);
  console.log(describeCopy(report));
  if (report.settings.invalid.length || report.bans.invalid.length || report.pictures.requests.invalid.length || report.pictures.images.invalid.length)
    process.exitCode = 1;
} catch (error) {
  console.error(`atelier: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  redis.disconnect();
  await database.close();
}
