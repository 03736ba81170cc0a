import { EventEmitter, once } from 'node:events';
import { Queue, QueueEvents, Worker } from 'bullmq';
import {
  Client,
  Events,
  GatewayDispatchEvents,
  GatewayIntentBits,
  REST,
  Routes,
  Status,
  type APIInteraction,
  type APIUser,
  type GatewayDispatchPayload,
} from 'discord.js';
import type { Logger } from 'pino';
import { commands } from '../../commands/index.js';
import type { ModelChoice } from '../config.js';
import { finishesWithin } from '../grace.js';
import { commandConnection, connectionReady, logErrors, waitingConnection, WORKER_RUN_RETRY_MS, type RedisTarget } from '../redis-connections.js';
import type { Database } from '../db/connection.js';
import { observeDiscordRest, type Metrics } from '../metrics.js';
import {
  recordIdOf,
  DELIVER_QUEUE,
  DESCRIBE_QUEUE,
  GENERATE_QUEUE,
  SESSION_QUEUE,
  queueStreams,
  type DeliverJob,
  type DescribeJob,
  type GenerateJob,
} from '../queues.js';
import { resumeSessions, sessionDataDeleter, startSessionWorker } from '../features/sessions/jobs.js';
import { SessionStore } from '../features/sessions/store.js';
import type { SessionQueue } from '../features/sessions/timers.js';
import { recordDeliveredEntry } from '../features/sessions/transitions.js';
import { stylesDataDeleter } from '../features/styles/privacy.js';
import { describeDataDeleter } from '../features/describe/privacy.js';
import { startDescribedWorker } from '../features/describe/jobs.js';
import { challengeDataDeleter, challengeVoteDeleter } from '../features/challenges/actions.js';
import { startChallengeWorker } from '../features/challenges/jobs.js';
import { ChallengeStore } from '../features/challenges/store.js';
import { CHALLENGE_QUEUE, type ChallengeQueue } from '../features/challenges/timers.js';
import { startVoteLabelWorker } from './vote-label.js';
import { ImageStore } from '../features/pictures/images.js';
import { pictureArchive } from '../features/pictures/store.js';
import { FsImageStorage, type ImageStorage } from '../storage/index.js';
import { JobStore } from '../store/jobs.js';
import { LineageStore } from '../features/lineage/store.js';
import { SeriesStore } from '../features/series/store.js';
import { SettingsStore } from '../features/settings/store.js';
import { QueueStats } from '../store/stats.js';
import { VoteStore } from '../features/votes/store.js';
import { cdnHostsFor } from './attachments.js';
import { syncCommands } from './commands-sync.js';
import type { BotContext } from './context.js';
import { processDeliver } from './delivery.js';
import { leaveGuild, rejoinGuild } from './guilds.js';
import { recoverStrandedJobs } from './recovery.js';
import { createInteractionRouter } from './interactions.js';
import { RedisIdentifyThrottler, shardOptions, trimmedCaches, type ShardPlan } from './gateway.js';
import { httpInteractions, type InteractionEndpoint } from './http-interactions.js';
import { PendingPayloads } from './interaction-payload.js';
import { SharedGlobalLimit } from './rest-limit.js';
import { memberDataDeleters, PRIVACY_QUEUE, startPrivacyWorker, type PrivacyQueue } from './privacy.js';
import { communityDataDeleter } from './community.js';
import { PROGRESS_FIRST_EDIT_MS, showProgress } from './progress.js';
import { attachDeliveredPanel, seriesDataDeleter } from '../features/series/flow.js';
import { preferencesDataDeleter } from '../features/preferences/privacy.js';
import { databaseReadiness, NotReadyError, redisReadiness, type ReadinessCheck } from '../web/readiness.js';

export interface BotOptions {
  token: string;
  applicationId: string;
  apiUrl: string;
  cdnUrl: string;
  /** A redis:// URL, or the sentinels or cluster nodes to reach Redis through (see RedisTarget). */
  redisUrl: RedisTarget;
  /** The migrated database; the caller opens it before the bot and closes it after. */
  db: Database;
  prefix: string;
  models: readonly ModelChoice[];
  /** The image folder when no `imageStorage` is given. */
  imageStoreDir: string;
  /** Where image bytes are kept (default: the folder `imageStoreDir`); the same for bot, workers and web. */
  imageStorage?: ImageStorage;
  logger: Logger;
  /** Register commands in this guild instead of globally. */
  guildId?: string;
  /** Compare the commands with Discord's and register them if they differ (default true). */
  registerCommands?: boolean;
  deliverConcurrency?: number;
  /** How often stranded requests are looked for (default 5 minutes). */
  recoveryIntervalMs?: number;
  /** Client-side global REST limit (Discord allows 50/s); default 50. */
  globalRequestsPerSecond?: number;
  now?: () => number;
  generateJobOptions?: BotContext['generateJobOptions'];
  /** Per-member allowance of requests for pictures (default: 5 at once, refilled over 10 s). */
  rateLimit?: BotContext['rateLimit'];
  interactionRateLimit?: BotContext['interactionRateLimit'];
  operatorDailyBudget?: BotContext['operatorDailyBudget'];
  webPublicUrl?: BotContext['webPublicUrl'];
  /** How long close() lets deliveries under way finish (default 10 s). */
  shutdownGraceMs?: number;
  /** Where Discord responses, deliveries and votes are counted (the process's /metrics). */
  metrics?: Metrics;
  /**
   * Where interactions come from: the gateway (default), or Discord's signed POSTs on the web
   * server's /interactions (`http`: no gateway connection; `interactions` of the running bot is
   * what the web server needs).
   */
  interactions?: 'gateway' | 'http';
  /** INTERACTIONS=http: the key Discord's requests are signed with (KeyObject from discordPublicKey). */
  publicKey?: InteractionEndpoint['publicKey'];
  /** Gateway mode: which shards this process runs (default: every shard Discord recommends). */
  shards?: ShardPlan;
  /** Spacing of identifies in one max_concurrency bucket, across processes (Discord: 5 s). */
  identifyWindowMs?: number;
  /** Take every counted REST request's turn from one budget in Redis, shared by all bot processes (default true). */
  sharedRateLimit?: boolean;
}

export interface RunningBot {
  client: Client;
  ctx: BotContext;
  /** What /readyz checks for the bot: Redis, the database and the Discord gateway. */
  readiness: ReadinessCheck[];
  /** INTERACTIONS=http: what the web server's /interactions route hands interactions to. */
  interactions?: InteractionEndpoint;
  /** The recovery sweep run at start: resolves once it has finished (a failure is logged, not thrown). */
  startupSweep: Promise<unknown>;
  close(): Promise<void>;
}

/** Logs in, starts delivering results and showing progress. Resolves once the gateway is ready. */
export async function startBot(options: BotOptions): Promise<RunningBot> {
  const { logger, prefix } = options;
  // Members' requests fail fast while Redis is unreachable; the workers below wait it out.
  const redis = commandConnection(options.redisUrl, logger, 'commands');
  await connectionReady(redis);
  const perSecond = options.globalRequestsPerSecond ?? 50;
  const sharedLimit = new SharedGlobalLimit(redis, `${prefix}:discord:global-limit`, perSecond, logger);
  const restOptions = {
    api: options.apiUrl,
    cdn: options.cdnUrl,
    globalRequestsPerSecond: perSecond,
    ...(options.sharedRateLimit === false ? {} : { makeRequest: sharedLimit.makeRequest() }),
  };
  const httpMode = options.interactions === 'http';
  if (httpMode && !options.publicKey) throw new Error('INTERACTIONS=http needs the application public key (DISCORD_PUBLIC_KEY)');
  // The shard layout is settled before the client exists (SHARD_IDS without SHARD_COUNT asks Discord).
  const shards = httpMode ? {} : await shardOptions(options.shards ?? {}, new REST(restOptions).setToken(options.token));
  const client: Client = new Client({
    // HTTP mode opens no gateway connection, so it asks for no events at all.
    intents: httpMode ? [] : [GatewayIntentBits.Guilds],
    ...shards,
    ...trimmedCaches(() => client.user?.id),
    rest: restOptions,
    ws: {
      // Identifies of every bot process take turns (max_concurrency) through Redis.
      buildIdentifyThrottler: async (manager) => {
        const { session_start_limit: limit } = await manager.fetchGatewayInformation();
        return new RedisIdentifyThrottler(redis, prefix, limit.max_concurrency, logger, options.identifyWindowMs);
      },
    },
    // Nothing the bot sends may ping anyone unless a message says so explicitly.
    allowedMentions: { parse: [] },
  });
  const generateQueue = logErrors(
    new Queue<GenerateJob>(GENERATE_QUEUE, { connection: redis, prefix, streams: queueStreams }),
    logger,
    'generate queue',
  );
  const deliverQueue = logErrors(new Queue<DeliverJob>(DELIVER_QUEUE, { connection: redis, prefix, streams: queueStreams }), logger, 'deliver queue');
  const privacyQueue = logErrors(
    new Queue(PRIVACY_QUEUE, { connection: redis, prefix, streams: queueStreams }),
    logger,
    'privacy queue',
  ) as PrivacyQueue;
  const describeQueue = logErrors(
    new Queue<DescribeJob>(DESCRIBE_QUEUE, { connection: redis, prefix, streams: queueStreams }),
    logger,
    'describe queue',
  );
  const imageStorage = options.imageStorage ?? new FsImageStorage(options.imageStoreDir);
  const ctx: BotContext = {
    redis,
    db: options.db,
    prefix,
    applicationId: options.applicationId,
    // Until the bot knows its user (below): for applications made today, the same id.
    botUserId: options.applicationId,
    rest: client.rest,
    logger,
    models: options.models,
    // Live records in Redis while jobs are on their way; the archive in PostgreSQL afterwards.
    jobs: new JobStore(redis, prefix, pictureArchive(options.db, options.applicationId, logger)),
    images: new ImageStore(options.db, imageStorage, redis, prefix),
    stats: new QueueStats(redis, prefix),
    settings: new SettingsStore(options.db),
    votes: new VoteStore(options.db, redis, prefix),
    lineage: new LineageStore(options.db),
    series: new SeriesStore(options.db, options.now),
    generateQueue,
    deliverQueue,
    privacyQueue,
    describeQueue,
    challenges: new ChallengeStore(options.db),
    challengeQueue: logErrors(
      new Queue(CHALLENGE_QUEUE, { connection: redis, prefix, streams: queueStreams }),
      logger,
      'challenge queue',
    ) as ChallengeQueue,
    sessions: new SessionStore(options.db),
    sessionQueue: logErrors(new Queue(SESSION_QUEUE, { connection: redis, prefix, streams: queueStreams }), logger, 'session queue') as SessionQueue,
    cdnHosts: cdnHostsFor(options.cdnUrl),
    now: options.now ?? Date.now,
    answers: new EventEmitter().setMaxListeners(0),
    generateJobOptions: options.generateJobOptions,
    rateLimit: options.rateLimit,
    interactionRateLimit: options.interactionRateLimit,
    operatorDailyBudget: options.operatorDailyBudget,
    webPublicUrl: options.webPublicUrl,
    dataDeleters: [
      ...memberDataDeleters,
      communityDataDeleter,
      seriesDataDeleter,
      challengeDataDeleter,
      challengeVoteDeleter,
      preferencesDataDeleter,
      sessionDataDeleter,
      stylesDataDeleter,
      describeDataDeleter,
    ],
    onDelivered: [],
    metrics: options.metrics,
  };
  if (options.metrics) {
    observeDiscordRest(client.rest, options.metrics);
    options.metrics.watchQueues([generateQueue, deliverQueue, ctx.challengeQueue, ctx.sessionQueue]);
  }
  ctx.onDelivered!.push(attachDeliveredPanel(ctx));
  ctx.onDelivered!.push(recordDeliveredEntry(ctx));
  const settings = { models: options.models };
  const route = createInteractionRouter(ctx, commands, settings);
  // Channel facts travel with each interaction's payload; discord.js keeps them only in the
  // trimmed channel cache, so the raw payload's are attached to the interaction on the way in.
  const payloads = new PendingPayloads();
  client.on(Events.Raw, (packet: GatewayDispatchPayload) => {
    if (packet.t === GatewayDispatchEvents.InteractionCreate) payloads.add(packet.d as APIInteraction);
  });
  client.on(Events.InteractionCreate, (interaction) => {
    payloads.attach(interaction);
    return route(interaction);
  });
  client.on(Events.Error, (error) => logger.error({ err: error }, 'discord client error'));
  // Removed from a server: its work ends, even when the removal comes during an outage of that
  // server. (An outage alone discord.js reports as GuildUnavailable, never as GuildDelete: the work
  // waits for the server to come back.)
  client.on(Events.GuildDelete, (guild) => {
    leaveGuild(ctx, guild.id).catch((error) =>
      logger.error({ err: error, guildId: guild.id }, 'could not end the work of a server that removed the bot'),
    );
  });
  client.on(Events.GuildCreate, (guild) => {
    rejoinGuild(ctx, guild.id).catch((error) => logger.error({ err: error, guildId: guild.id }, 'could not resume a server that added the bot back'));
  });

  let interactions: InteractionEndpoint | undefined;
  if (httpMode) {
    // No gateway: the token only signs REST requests; interactions arrive on the web server.
    client.rest.setToken(options.token);
    ctx.botUserId = await botUserIdOverRest(client.rest, options.applicationId, logger);
    interactions = httpInteractions(client, options.publicKey!, payloads, logger);
    logger.info('receiving interactions over HTTP on /interactions; no gateway connection');
  } else {
    const ready = once(client, Events.ClientReady);
    await client.login(options.token);
    await ready;
    ctx.botUserId = client.user?.id ?? options.applicationId;
    logger.info(
      { user: client.user?.tag, guilds: client.guilds.cache.size, shards: [...client.ws.shards.keys()], shardCount: client.options.shardCount },
      'connected to Discord',
    );
    // Servers that added the bot back while it was offline (those on this process's shards).
    for (const guildId of client.guilds.cache.keys()) {
      await rejoinGuild(ctx, guildId).catch((error) => logger.error({ err: error, guildId }, 'could not resume a server that added the bot back'));
    }
  }

  if (options.registerCommands ?? true) {
    const bodies = commands.map((command) => command.data(settings));
    const result = await syncCommands(client.rest, options.applicationId, bodies, { guildId: options.guildId });
    logger.info({ result, scope: options.guildId ?? 'global' }, 'commands checked');
  }

  // Delivery runs in the bot (it holds the Discord token); GPU workers only need Redis.
  const deliverConnection = waitingConnection(options.redisUrl, logger, 'delivery worker');
  const deliverWorker = new Worker<DeliverJob>(DELIVER_QUEUE, (job, token) => processDeliver(job, token, ctx), {
    connection: deliverConnection,
    prefix,
    concurrency: options.deliverConcurrency ?? 8,
    runRetryDelay: WORKER_RUN_RETRY_MS,
  });
  deliverWorker.on('failed', (job, error) =>
    logger.warn({ err: error, jobId: job?.data.jobId, attempt: job?.attemptsMade }, 'delivery attempt failed'),
  );
  logErrors(deliverWorker, logger, 'delivery worker');

  // Challenge phases post to Discord, so their jobs run here too (one process handles each).
  const challengeConnection = waitingConnection(options.redisUrl, logger, 'challenge worker');
  const challengeWorker = startChallengeWorker(ctx, challengeConnection);
  // Live sessions' phase deadlines likewise; running sessions get their timers and owed posts back.
  const sessionConnection = waitingConnection(options.redisUrl, logger, 'session worker');
  const sessionWorker = startSessionWorker(ctx, sessionConnection);
  void resumeSessions(ctx).catch((error) => logger.error({ err: error }, 'could not resume sessions'));

  // Votes cast on the web gallery: their labels are redrawn here, where the Discord token is.
  const voteLabelConnection = waitingConnection(options.redisUrl, logger, 'vote label worker');
  const voteLabelWorker = startVoteLabelWorker(ctx, voteLabelConnection);
  // /privacy delete-my-data runs as a job (it deletes Discord messages: the bot holds the token).
  const privacyConnection = waitingConnection(options.redisUrl, logger, 'privacy worker');
  const privacyWorker = startPrivacyWorker(ctx, privacyConnection);
  // /describe's answers (suggestions from a worker) are posted from here, where the token is.
  const describedConnection = waitingConnection(options.redisUrl, logger, 'describe answer worker');
  const describedWorker = startDescribedWorker(ctx, describedConnection);

  const eventsConnection = waitingConnection(options.redisUrl, logger, 'queue events');
  const queueEvents = new QueueEvents(GENERATE_QUEUE, { connection: eventsConnection, prefix });
  const onProgress = (jobId: string, percent: number, minRunningMs: number) =>
    showProgress(ctx, jobId, percent, minRunningMs).catch((error) => logger.debug({ err: error, jobId }, 'progress edit failed'));
  // A job that finishes within a second goes from "Queued" straight to its result: the first
  // progress edit comes a second after the job started, later ones as the worker reports.
  // A job that ends before its first edit is due needs none: its timer goes (no lock, no record read).
  const firstEdits = new Map<string, NodeJS.Timeout>();
  queueEvents.on('active', ({ jobId }) => {
    clearTimeout(firstEdits.get(jobId));
    const timer = setTimeout(() => {
      firstEdits.delete(jobId);
      void onProgress(recordIdOf(jobId), 0, 0);
    }, PROGRESS_FIRST_EDIT_MS).unref();
    firstEdits.set(jobId, timer);
  });
  const ended = ({ jobId }: { jobId: string }) => {
    clearTimeout(firstEdits.get(jobId));
    firstEdits.delete(jobId);
  };
  queueEvents.on('completed', ended);
  queueEvents.on('failed', ended);
  queueEvents.on('progress', ({ jobId, data }) => {
    // Until its first edit is due, a job's progress needs no look at its record: the timer shows it then.
    if (firstEdits.has(jobId)) return;
    void onProgress(recordIdOf(jobId), typeof data === 'number' ? data : 0, PROGRESS_FIRST_EDIT_MS);
  });
  logErrors(queueEvents, logger, 'queue events');

  // The safety net for requests stranded between two steps by a crash: now, then every few minutes.
  const sweep = () => recoverStrandedJobs(ctx).catch((error) => logger.error({ err: error }, 'recovery sweep failed'));
  const startupSweep = sweep();
  const sweeper = setInterval(sweep, options.recoveryIntervalMs ?? 5 * 60_000);
  sweeper.unref();

  // The manager's own status stays Ready after the first login: the shards say whether the
  // connection is up now (reconnecting, resuming, or closed for good by Discord).
  const gatewayReadiness: ReadinessCheck = {
    name: 'discord',
    check() {
      const down = client.ws.shards.find((shard) => shard.status !== Status.Ready);
      if (client.ws.shards.size === 0) throw new NotReadyError('gateway is not connected');
      if (down) throw new NotReadyError(`gateway is ${Status[down.status] ?? down.status}`);
    },
  };

  return {
    client,
    ctx,
    interactions,
    readiness: [redisReadiness(redis), databaseReadiness(options.db), ...(httpMode ? [] : [gatewayReadiness])],
    startupSweep,
    async close() {
      // Stop taking new work first, then finish deliveries under way, then let go of Redis.
      client.removeAllListeners(Events.InteractionCreate);
      clearInterval(sweeper);
      // Deliveries under way may finish, then the queues close. Past the grace (a stop during a
      // Redis outage can leave BullMQ waiting for a connection that never returns) the connections
      // are dropped anyway, and an unfinished delivery is retried by the next bot process.
      const queuesClosed = Promise.all([
        deliverWorker.close(),
        challengeWorker.close(),
        sessionWorker.close(),
        voteLabelWorker.close(),
        privacyWorker.close(),
        describedWorker.close(),
      ]).then(() =>
        Promise.all([
          ctx.challengeQueue.close(),
          ctx.sessionQueue.close(),
          queueEvents.close(),
          generateQueue.close(),
          deliverQueue.close(),
          privacyQueue.close(),
          describeQueue.close(),
        ]),
      );
      if (!(await finishesWithin(queuesClosed, options.shutdownGraceMs ?? 10_000)))
        logger.warn('queues did not close within the grace period; dropping their connections');
      await client.destroy();
      // QUIT waits for an answer; a connection that is not up has nobody to answer it.
      for (const connection of [
        deliverConnection,
        challengeConnection,
        sessionConnection,
        voteLabelConnection,
        privacyConnection,
        describedConnection,
        eventsConnection,
        redis,
      ]) {
        if (connection.status === 'ready') await connection.quit().catch(() => undefined);
        else connection.disconnect();
      }
      logger.info('bot stopped');
    },
  };
}

/**
 * Who the bot user is, in HTTP mode (no gateway READY says so): GET /users/@me. Should Discord not
 * answer at start, the application's id stands in, which is right for every application made today.
 */
async function botUserIdOverRest(rest: REST, applicationId: string, logger: Logger): Promise<string> {
  try {
    return ((await rest.get(Routes.user())) as APIUser).id;
  } catch (error) {
    logger.warn({ err: error }, 'could not ask Discord for the bot user; taking the application id for it');
    return applicationId;
  }
}
