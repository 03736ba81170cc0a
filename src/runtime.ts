import type { Logger } from 'pino';
import { ConfigError, parseConfig, type Config } from './config.js';
import { createLogger } from './logger.js';
import { isListening, RedisServerMissingError, startPrivateRedis, type PrivateRedis } from './redis-server.js';

/** Namespace of Atelier's Redis keys and BullMQ queues in production. */
export const REDIS_PREFIX = 'atelier';

/** Parses the configuration or exits with one line naming the bad variable. */
export function loadConfigOrExit(): { config: Config; logger: Logger } {
  try {
    const config = parseConfig();
    return { config, logger: createLogger(config.LOG_LEVEL) };
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`atelier: ${error.message}`);
      process.exit(78);
    }
    throw error;
  }
}

/**
 * REDIS_URL when given; otherwise the Redis on 127.0.0.1:6379; otherwise (when `embedded`, as for
 * `npm start`) a private redis-server child with its data in ./data/redis and the append-only file
 * on. Exits with one clear line when none of those can be had.
 */
export async function resolveRedis(config: Config, logger: Logger, embedded: boolean): Promise<{ url: string; server?: PrivateRedis }> {
  if (config.REDIS_URL) return { url: config.REDIS_URL };
  if (await isListening(6379)) return { url: 'redis://127.0.0.1:6379' };
  if (!embedded) {
    console.error('atelier: REDIS_URL is not set and nothing answers on 127.0.0.1:6379. Start Redis or set REDIS_URL (see README).');
    process.exit(69);
  }
  try {
    const server = await startPrivateRedis({ dataDir: 'data/redis', appendOnly: true });
    logger.info({ port: server.port, dir: 'data/redis' }, 'started a private redis-server');
    return { url: server.url, server };
  } catch (error) {
    if (error instanceof RedisServerMissingError) {
      console.error(`atelier: ${error.message}`);
      process.exit(69);
    }
    throw error;
  }
}

/** Runs `stop` once on SIGTERM/SIGINT, then exits; a second signal exits at once. */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop()
      .then(() => process.exit(0))
      .catch((error) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
