import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { ConfigError, parseConfig, requireDiscord, type Config } from './config.js';
import type { BotOptions, RunningBot } from './bot/bot.js';
import type { Redis } from 'ioredis';
import { SettingsStore } from './features/settings/store.js';
import { requestVoteLabelRefresh, voteLabelQueue } from './features/votes/jobs.js';
import { createImageStorage } from './storage/index.js';
import { discordPublicKey } from './bot/http-interactions.js';
import { WebLogin } from './web/auth/login.js';
import type { GalleryContext } from './web/gallery/routes.js';
import { DatabaseInUseError } from './db/embedded-lock.js';
import { MigrationError, openMigratedDatabase, type Database, type OpenDatabase } from './db/index.js';
import type { Metrics } from './metrics.js';
import { startWebServer, type WebContext } from './web/server.js';
import { createProvider } from './worker/providers/index.js';
import type { WorkerOptions } from './worker/worker.js';
import { loadEnvFile } from './env-file.js';
import { createLogger } from './logger.js';
import { isListening, RedisServerMissingError, startPrivateRedis, type PrivateRedis } from './redis-server.js';
import { describeTarget, openRedis, type RedisTarget } from './redis-connections.js';
import { GENERATE_QUEUE } from './queues.js';

/**
 * Namespace of Atelier's Redis keys and BullMQ queues in production (REDIS_PREFIX changes it). The
 * braces make it a hash tag: with Redis Cluster every key lands in one slot, so every script and
 * transaction can run.
 */
export const REDIS_PREFIX = '{atelier}';
/** The prefix before there was a hash tag: installations that still have keys under it keep it. */
export const LEGACY_REDIS_PREFIX = 'atelier';

/** Reads `.env`, parses the configuration or exits with one line naming the bad variable, and logs crashes. */
export async function loadConfigOrExit(): Promise<{ config: Config; logger: Logger }> {
  await orExit(() => loadEnvFile());
  const config = await orExit(() => parseConfig());
  const logger = createLogger(config.LOG_LEVEL);
  exitOnCrash(logger);
  return { config, logger };
}

/**
 * An unhandled rejection or uncaught exception leaves the process in an unknown state: it is
 * logged through pino (one JSON line, tokens scrubbed, like every other error) and the process
 * exits with 70, so that the supervisor (compose, systemd) restarts it and jobs are recovered.
 */
export function exitOnCrash(logger: Logger): void {
  const crash = (kind: string) => (error: unknown) => {
    logger.fatal({ err: error }, `${kind}; exiting`);
    process.exit(70);
  };
  process.on('uncaughtException', crash('uncaught exception'));
  process.on('unhandledRejection', crash('unhandled promise rejection'));
}

export class StartupError extends Error {
  override name = 'StartupError';
}

export interface RedisChoice {
  /** Start a private redis-server when none answers (npm start). */
  embedded: boolean;
  port?: number;
  dataDir?: string;
  /** Look at the Redis to choose the prefix (default); off for tools that never use it, so they need not wait for Redis. */
  choosePrefix?: boolean;
}

export interface ResolvedRedis {
  target: RedisTarget;
  /** The namespace of every key and queue (see `chooseRedisPrefix`). */
  prefix: string;
  server?: PrivateRedis;
}

/**
 * REDIS_SENTINELS or REDIS_CLUSTER_NODES when given, else REDIS_URL; otherwise the Redis on
 * 127.0.0.1:6379; otherwise (when `embedded`, as for `npm start`) a private redis-server child
 * with its data in ./data/redis and the append-only file on. Throws a StartupError with one clear
 * line when none of those can be had.
 */
export async function resolveRedis(config: Config, logger: Logger, choice: RedisChoice): Promise<ResolvedRedis> {
  const prefixFor = (target: RedisTarget) =>
    choice.choosePrefix === false ? (config.REDIS_PREFIX ?? REDIS_PREFIX) : chooseRedisPrefix(config, target, logger);
  const given = configuredRedis(config);
  if (given) return { target: given, prefix: await prefixFor(given) };
  const port = choice.port ?? 6379;
  if (await isListening(port)) {
    const target = `redis://127.0.0.1:${port}`;
    return { target, prefix: await prefixFor(target) };
  }
  if (!choice.embedded) {
    throw new StartupError(`REDIS_URL is not set and nothing answers on 127.0.0.1:${port}. Start Redis or set REDIS_URL (see README).`);
  }
  const dataDir = choice.dataDir ?? 'data/redis';
  try {
    const server = await startPrivateRedis({ dataDir, appendOnly: true });
    // Worth a warning: whoever runs `npm start` should know where the queue and records live
    // (and that they go wherever that folder goes), rather than assume a Redis of their own.
    const dir = resolve(dataDir);
    logger.warn({ port: server.port, dir }, `REDIS_URL is not set: started a private redis-server, keeping its data in ${dir}`);
    return { target: server.url, prefix: await prefixFor(server.url), server };
  } catch (error) {
    if (error instanceof RedisServerMissingError) throw new StartupError(error.message);
    throw error;
  }
}

/** The Redis the configuration names, if it names one. */
export function configuredRedis(config: Config): RedisTarget | undefined {
  if (config.REDIS_SENTINELS) {
    return {
      sentinels: config.REDIS_SENTINELS,
      name: config.REDIS_SENTINEL_NAME,
      password: config.REDIS_PASSWORD,
      sentinelPassword: config.REDIS_SENTINEL_PASSWORD,
    };
  }
  if (config.REDIS_CLUSTER_NODES) return { cluster: config.REDIS_CLUSTER_NODES, password: config.REDIS_PASSWORD };
  return config.REDIS_URL;
}

/**
 * REDIS_PREFIX when set. Otherwise `{atelier}`, unless this Redis already holds an installation
 * under the prefix of earlier versions (`atelier`, its generate queue) and none under the new one:
 * that installation keeps its prefix, so nothing queued or in flight is left behind by an upgrade.
 * Bot, workers and web server look at the same Redis, so they all make the same choice.
 */
export async function chooseRedisPrefix(config: Config, target: RedisTarget, logger: Logger): Promise<string> {
  if (config.REDIS_PREFIX) return config.REDIS_PREFIX;
  // Earlier versions never ran on a cluster (their scripts would not have).
  if (typeof target !== 'string' && 'cluster' in target) return REDIS_PREFIX;
  // Waits for Redis like a worker does: a process started before Redis is up simply waits.
  const redis = openRedis(target, { maxRetriesPerRequest: null });
  redis.on('error', (error: Error) => logger.debug({ err: error }, 'redis not reachable yet'));
  try {
    const [legacy, current] = await Promise.all([
      redis.exists(`${LEGACY_REDIS_PREFIX}:${GENERATE_QUEUE}:meta`),
      redis.exists(`${REDIS_PREFIX}:${GENERATE_QUEUE}:meta`),
    ]);
    if (legacy === 1 && current === 0) {
      logger.warn(
        { redis: describeTarget(target), prefix: LEGACY_REDIS_PREFIX },
        `this Redis holds an installation under the earlier prefix "${LEGACY_REDIS_PREFIX}": keeping it. Set REDIS_PREFIX to choose (see README: Redis Cluster / Sentinel)`,
      );
      return LEGACY_REDIS_PREFIX;
    }
    return REDIS_PREFIX;
  } finally {
    redis.disconnect();
  }
}

/**
 * The bot's database (DATABASE_URL, or the embedded one under ./data), its migrations applied.
 * What stops it (another process holds the embedded one, the server refuses, a migration fails)
 * ends start-up with one line.
 */
export async function openBotDatabase(config: Config, logger: Logger): Promise<OpenDatabase> {
  try {
    return await openMigratedDatabase(config, logger);
  } catch (error) {
    if (error instanceof DatabaseInUseError || error instanceof MigrationError) throw new StartupError(error.message);
    if (config.DATABASE_URL)
      throw new StartupError(`DATABASE_URL: the database cannot be used (${error instanceof Error ? error.message : String(error)})`);
    throw error;
  }
}

/** Runs a start-up step; a StartupError or ConfigError ends the process with its one line. */
export async function orExit<T>(step: () => Promise<T> | T): Promise<T> {
  try {
    return await step();
  } catch (error) {
    if (error instanceof StartupError || error instanceof ConfigError) {
      console.error(`atelier: ${error.message}`);
      process.exit(error instanceof ConfigError ? 78 : 69);
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

/**
 * Starts the HTTP server (health, readiness, metrics) on the port the variable `portVariable`
 * gives; 0 leaves it off. A port already taken ends start-up with a line naming the variable.
 */
export async function serveWeb(ctx: WebContext, port: number, portVariable: string): Promise<{ close(): Promise<void> }> {
  try {
    const app = await startWebServer(ctx, port);
    if (app) ctx.logger.info({ port, gallery: !!ctx.gallery }, 'serving /healthz, /readyz, /metrics and the web gallery');
    return { close: async () => void (await app?.close()) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new StartupError(`${portVariable}: port ${port} is already in use. Choose another port, or 0 to turn the server off.`);
    }
    throw error;
  }
}

/**
 * "Login with Discord" for a web server, with sessions in `redis`. Off (undefined), with one line
 * saying what is missing, unless DISCORD_CLIENT_SECRET, WEB_PUBLIC_URL and SESSION_SECRET are all set.
 */
export function createWebLogin(
  config: Config,
  /** Asked only when the login is on (a bot's Redis may not exist before then), with the key prefix sessions live under. */
  redis: () => { redis: Redis; prefix: string },
  logger: Logger,
  whatIsOff = 'login with Discord is off',
): WebLogin | undefined {
  const missing = (['DISCORD_CLIENT_SECRET', 'WEB_PUBLIC_URL', 'SESSION_SECRET'] as const).filter((name) => !config[name]);
  if (missing.length > 0) {
    logger.info({ missing }, `${whatIsOff}: ${missing.join(', ')} not set (see README)`);
    return undefined;
  }
  const { token, applicationId } = requireDiscord(config);
  const login = new WebLogin({
    apiUrl: config.DISCORD_API_URL,
    authorizeUrl: config.DISCORD_AUTHORIZE_URL,
    clientId: applicationId,
    clientSecret: config.DISCORD_CLIENT_SECRET!,
    publicUrl: config.WEB_PUBLIC_URL!,
    sessionSecret: config.SESSION_SECRET!,
    botToken: token,
    adminUserIds: config.ADMIN_USER_IDS,
    ...redis(),
    logger: logger.child({ part: 'web' }),
  });
  logger.info({ redirectUrl: `${config.WEB_PUBLIC_URL}/auth/callback` }, 'login with Discord is on');
  return login;
}

/**
 * "Login with Discord" and the queue dashboard, for the web server of a process that runs the bot
 * (it holds the queues and the bot token). Off unless the login's settings are all given.
 */
export function webLoginFrom(config: Config, bot: RunningBot, logger: Logger): Pick<WebContext, 'login' | 'queues'> {
  const login = createWebLogin(
    config,
    () => ({ redis: bot.ctx.redis, prefix: bot.ctx.prefix }),
    logger,
    'login with Discord and the queue dashboard are off',
  );
  if (!login) return {};
  logger.info('the queue dashboard is at /admin/queues');
  return { login, queues: [bot.ctx.generateQueue, bot.ctx.deliverQueue, bot.ctx.challengeQueue] };
}

/**
 * The web gallery's parts: the archive database, the image storage (IMAGE_STORE_DIR or S3_BUCKET),
 * server settings, and the queue through which a web vote asks the bot to redraw the message's
 * vote label. `close()` closes that queue (not the connection, which belongs to the caller).
 */
export function galleryFrom(
  config: Config,
  db: Database,
  redis: Redis,
  prefix: string,
  settings: SettingsStore = new SettingsStore(db),
): { gallery: GalleryContext; close(): Promise<void> } {
  const voteLabels = voteLabelQueue(redis, prefix);
  return {
    gallery: { db, storage: createImageStorage(config), settings, refreshVoteLabel: (requestId) => requestVoteLabelRefresh(voteLabels, requestId) },
    close: () => voteLabels.close(),
  };
}

/** The bot's options as the environment configures them. */
export function botOptionsFrom(config: Config, redis: ResolvedRedis, db: Database, logger: Logger, metrics?: Metrics): BotOptions {
  return {
    ...requireDiscord(config),
    apiUrl: config.DISCORD_API_URL,
    cdnUrl: config.DISCORD_CDN_URL,
    redisUrl: redis.target,
    db,
    prefix: redis.prefix,
    models: config.models,
    imageStoreDir: config.IMAGE_STORE_DIR,
    imageStorage: createImageStorage(config),
    guildId: config.DISCORD_GUILD_ID,
    globalRequestsPerSecond: config.DISCORD_GLOBAL_RATE_LIMIT,
    rateLimit: config.rateLimit,
    interactionRateLimit: config.interactionRateLimit,
    operatorDailyBudget: config.OPERATOR_DAILY_BUDGET,
    webPublicUrl: config.WEB_PUBLIC_URL,
    logger,
    metrics,
    interactions: config.INTERACTIONS,
    publicKey: config.DISCORD_PUBLIC_KEY ? discordPublicKey(config.DISCORD_PUBLIC_KEY) : undefined,
    shards: { ids: config.SHARD_IDS, count: config.SHARD_COUNT },
  };
}

/** A worker's options as the environment configures them. */
export function workerOptionsFrom(
  config: Config,
  redis: ResolvedRedis,
  logger: Logger,
  metrics?: Metrics,
  provider = createProvider(config),
): WorkerOptions {
  return {
    redisUrl: redis.target,
    prefix: redis.prefix,
    provider,
    concurrency: config.WORKER_CONCURRENCY,
    imageStoreDir: config.IMAGE_STORE_DIR,
    imageStorage: createImageStorage(config),
    // With S3 the key is enough; a folder of its own makes the worker hand the bytes over in Redis.
    transferBlobs: !config.S3_BUCKET && !config.IMAGE_STORE_SHARED,
    lockDurationMs: config.WORKER_LOCK_MS,
    logger,
    metrics,
  };
}
