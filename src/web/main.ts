import { createMetrics } from '../metrics.js';
import { createWebLogin, galleryFrom, loadConfigOrExit, onShutdown, openBotDatabase, orExit, resolveRedis, serveWeb } from '../runtime.js';
import { waitingConnection } from '../redis-connections.js';
import { databaseReadiness, redisReadiness } from './readiness.js';

/**
 * `npm run web`: the web gallery alone, against DATABASE_URL (or the embedded database) and the
 * image storage. It needs no bot and no worker: votes cast here are stored in the database and a
 * job asks the bot, wherever it runs, to redraw the Discord message's label. Redis keeps the login
 * sessions and that job queue.
 */
const { config, logger } = await loadConfigOrExit();
const redisChoice = await orExit(() => resolveRedis(config, logger, { embedded: false }));
// Waits out an outage (or a failover) rather than fail: sessions and the vote-label queue come back with it.
const redis = waitingConnection(redisChoice.target, logger, 'web');
const database = await orExit(() => openBotDatabase(config, logger));
const login = await orExit(() => createWebLogin(config, () => ({ redis, prefix: redisChoice.prefix }), logger));
if (!login) logger.warn('without login, only galleries made public with /config gallery public:true can be seen');
const gallery = galleryFrom(config, database.db, redis, redisChoice.prefix);
const web = await orExit(() =>
  serveWeb(
    {
      logger,
      metrics: createMetrics(),
      readiness: [redisReadiness(redis), databaseReadiness(database.db)],
      login,
      gallery: gallery.gallery,
    },
    config.WEB_PORT,
    'WEB_PORT',
  ),
);
onShutdown(logger, async () => {
  await web.close();
  await gallery.close();
  await redis.quit();
  await database.close();
});
