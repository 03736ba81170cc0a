import { openRedis } from '../redis-connections.js';
import { LEGACY_REDIS_PREFIX, loadConfigOrExit, openBotDatabase, orExit, resolveRedis } from '../runtime.js';
import { copyFromRedis, copyIncomplete, describeCopy } from './from-redis.js';

/**
 * `npm run migrate-from-redis`: copies the records that moved from Redis to PostgreSQL (server
 * settings, bans, votes and profile numbers, series and challenges) from REDIS_URL into the database the bot uses, and says how many.
 * Safe to run again, and while the bot runs: nothing already in the database is overwritten.
 */
const { config, logger } = await loadConfigOrExit();
const { target } = await orExit(() => resolveRedis(config, logger, { embedded: false, choosePrefix: false }));
const database = await orExit(() => openBotDatabase(config, logger));
const redis = openRedis(target, { maxRetriesPerRequest: 1, lazyConnect: true });
try {
  await redis.connect();
  // Version 0.1 kept its records under "atelier" (it had no REDIS_PREFIX); the copy reads them there.
  const report = await copyFromRedis(redis, config.REDIS_PREFIX ?? LEGACY_REDIS_PREFIX, database.db);
  console.log(describeCopy(report));
  if (copyIncomplete(report)) process.exitCode = 1;
} catch (error) {
  console.error(`atelier: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  redis.disconnect();
  await database.close();
}
