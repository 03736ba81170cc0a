import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { finishesWithin } from '../grace.js';
import { logErrors, waitingConnection, WORKER_RUN_RETRY_MS, type RedisTarget } from '../redis-connections.js';
import type { Logger } from 'pino';
import type { Metrics } from '../metrics.js';
import { recordIdOf, DELIVER_QUEUE, GENERATE_QUEUE, queueStreams, cancelChannel, generationKinds, type DeliverJob } from '../queues.js';
import { FairQueue, type HeldRunSlot } from '../store/fair-queue.js';
import { ImageBytes } from '../features/pictures/images.js';
import { FsImageStorage, type ImageStorage } from '../storage/index.js';
import { JobStore } from '../store/jobs.js';
import { DurationReport, QueueStats } from '../store/stats.js';
import { redisReadiness, type ReadinessCheck } from '../web/readiness.js';
import { failGeneration } from '../generation.js';
import { processGenerate } from './generate.js';
import { failDescribe, processDescribe } from './describe.js';
import { DESCRIBE_QUEUE, DESCRIBED_QUEUE, type DescribedJob } from '../queues.js';
import { ProviderRateLimitedError, type ImageProvider } from './providers/types.js';

export interface WorkerOptions {
  /** A redis:// URL, or the sentinels or cluster nodes to reach Redis through (see RedisTarget). */
  redisUrl: RedisTarget;
  /** Namespace for BullMQ queues and Atelier's own keys (tests use a unique one each). */
  prefix: string;
  provider: ImageProvider;
  concurrency: number;
  /** The image folder when no `imageStorage` is given. */
  imageStoreDir: string;
  /** Where result bytes go (default: the folder `imageStoreDir`). */
  imageStorage?: ImageStorage;
  /**
   * Hand result bytes to the bot through Redis too (with a TTL). Default: on for the filesystem
   * backend (the bot may run on another machine with another folder), off for S3. Turn it off when
   * the folder is shared with the bot (IMAGE_STORE_SHARED, or bot and worker in one process).
   */
  transferBlobs?: boolean;
  logger: Logger;
  progressIntervalMs?: number;
  /** How soon a job whose member already has all their jobs running is tried again. */
  runSlotRetryMs?: number;
  /** How long a graceful stop waits for running jobs before handing them back to the queue. */
  shutdownGraceMs?: number;
  /**
   * How long a job stays locked to this worker without a renewal (renewed every half of it). A
   * killed worker's job goes to another one within about 1.5× this.
   */
  lockDurationMs?: number;
  /** The provider's start() already ran (the process checked it before anything else). */
  providerStarted?: boolean;
  /** Where job counts and generation times are reported (the process's /metrics). */
  metrics?: Metrics;
}

export interface RunningWorker {
  worker: Worker;
  /** What /readyz checks for this worker. */
  readiness: ReadinessCheck[];
  /** Stop fetching, let running jobs finish (or hand them back after the grace period), close Redis. */
  close(): Promise<void>;
}

export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  const { logger, prefix } = options;
  // Before any connection: a provider that cannot work (an unknown model) stops start-up here.
  if (!options.providerStarted) await options.provider.start?.();
  // A GPU worker is not answering anyone: through an outage its commands wait for Redis to return.
  const redis = waitingConnection(options.redisUrl, logger, 'worker commands');
  const subscriber = waitingConnection(options.redisUrl, logger, 'cancel subscriber');
  const workerConnection = waitingConnection(options.redisUrl, logger, 'generate worker');
  const jobs = new JobStore(redis, prefix);
  const storage = options.imageStorage ?? new FsImageStorage(options.imageStoreDir);
  const images = new ImageBytes(storage, redis, prefix);
  const transferBlobs = options.transferBlobs ?? storage.kind === 'fs';
  const stats = new QueueStats(redis, prefix);
  const durations = new DurationReport(stats, (error) => logger.warn({ err: error }, 'could not report job durations'));
  const deliverQueue = logErrors(new Queue<DeliverJob>(DELIVER_QUEUE, { connection: redis, prefix, streams: queueStreams }), logger, 'deliver queue');
  const fair = new FairQueue(redis, prefix);
  const workerId = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const { metrics } = options;
  // For the queue sizes on /metrics: a worker alone still reports the queues it works with.
  const generateQueue = new Queue(GENERATE_QUEUE, { connection: redis, prefix, streams: queueStreams });
  metrics?.watchQueues([generateQueue, deliverQueue]);
  const labels = (job: Job) => ({ provider: options.provider.name, kind: kindOf(job) });

  // A member's cancel reaches whichever worker runs the job through pub/sub.
  const running = new Map<string, AbortController>();
  await subscriber.subscribe(cancelChannel(prefix));
  subscriber.on('message', (_channel, jobId: string) => running.get(jobId)?.abort());

  const worker: Worker = new Worker(
    GENERATE_QUEUE,
    async (job: Job, token?: string) => {
      const slot = await takeRunSlot(fair, job);
      if (slot === 'full') {
        // The member already uses all their GPUs: the job goes back with its priority and tries again shortly.
        await job.moveToDelayed(Date.now() + (options.runSlotRetryMs ?? 2_000), token);
        throw new DelayedError();
      }
      const controller = new AbortController();
      const recordId = recordIdOf(job.id!);
      running.set(recordId, controller);
      const jobLogger = logger.child({ jobId: recordId, attempt: job.attemptsMade + 1 });
      const attemptStarted = performance.now();
      try {
        const result = await processGenerate(job, {
          jobs,
          images,
          transferBlobs,
          durations,
          runSlot: slot,
          provider: options.provider,
          deliverQueue,
          logger: jobLogger,
          signal: controller.signal,
          progressIntervalMs: options.progressIntervalMs,
        });
        if (result.outcome === 'done') {
          metrics?.jobsCompleted.inc(labels(job));
          metrics?.generationSeconds.observe(labels(job), (performance.now() - attemptStarted) / 1000);
        }
        return result;
      } catch (error) {
        if (error instanceof ProviderRateLimitedError) {
          // Pause the whole queue, for every worker; the job goes back without using an attempt.
          jobLogger.warn({ retryAfterMs: error.retryAfterMs }, 'provider rate limited');
          await jobs.transition(recordId, ['running'], 'queued');
          await worker.rateLimit(error.retryAfterMs);
          throw Worker.RateLimitError();
        }
        jobLogger.warn({ err: error }, 'generation attempt failed');
        throw error;
      } finally {
        running.delete(recordId);
        // Usually given back already, by the status change to done.
        if (slot && !slot.released) await fair.releaseRunSlot(slot.guildId, slot.userId, slot.jobId).catch(() => undefined);
      }
    },
    {
      connection: workerConnection,
      prefix,
      concurrency: options.concurrency,
      // A killed worker's job is picked up by another one after the lock lapses.
      runRetryDelay: WORKER_RUN_RETRY_MS,
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: Math.round((options.lockDurationMs ?? 30_000) / 2),
      maxStalledCount: 2,
      // BullMQ honours a rate limit set with worker.rateLimit() (a provider's 429) on every worker
      // only when workers have a limiter; this one never limits by itself.
      limiter: { max: 1_000_000, duration: 1000 },
    },
  );

  // The one place where a job BullMQ gave up on (refused, out of attempts, or stalled too often)
  // becomes a failure its author is told about. A job that will be retried is still in the queue.
  worker.on('failed', (job, error) => {
    if (!job) return;
    const refused = error instanceof UnrecoverableError || error.name === 'UnrecoverableError';
    const message = refused ? error.message : 'The image provider is not answering right now, even after several tries. Please try again later.';
    job
      .isFailed()
      .then((final) => {
        if (final) metrics?.jobsFailed.inc(labels(job));
        return final && failGeneration({ jobs, deliverQueue }, recordIdOf(job.id!), message, refused ? 'refused' : 'provider_down');
      })
      .catch((failure) => logger.error({ err: failure, jobId: job.id }, 'could not record a failed job'));
  });
  logErrors(worker, logger, 'generate worker');

  // /describe: short jobs of their own, so a long queue of pictures never delays them.
  const describeConnection = waitingConnection(options.redisUrl, logger, 'describe worker');
  const describedQueue = logErrors(
    new Queue<DescribedJob>(DESCRIBED_QUEUE, { connection: redis, prefix, streams: queueStreams }),
    logger,
    'described queue',
  );
  const describeStop = new AbortController();
  const describeWorker = new Worker(
    DESCRIBE_QUEUE,
    (job: Job) =>
      processDescribe(job, {
        images,
        provider: options.provider,
        describedQueue,
        logger: logger.child({ describeId: job.id }),
        signal: describeStop.signal,
      }),
    { connection: describeConnection, prefix, concurrency: options.concurrency, runRetryDelay: WORKER_RUN_RETRY_MS },
  );
  describeWorker.on('failed', (job, error) => {
    if (!job) return;
    logger.warn({ err: error, job: job.id }, 'describe attempt failed');
    const id = (job.data as { id?: unknown }).id;
    job
      .isFailed()
      .then((final) => (final && typeof id === 'string' ? failDescribe(describedQueue, id) : undefined))
      .catch((failure) => logger.error({ err: failure, job: job.id }, 'could not report a failed describe'));
  });
  logErrors(describeWorker, logger, 'describe worker');
  // Running before start-up resolves: what follows may count on this worker's keys being there.
  await describeWorker.waitUntilReady();

  await stats.heartbeat(workerId, options.concurrency);
  const heartbeat = setInterval(() => {
    stats.heartbeat(workerId, options.concurrency).catch(() => undefined);
  }, 10_000);
  heartbeat.unref();

  logger.info({ workerId, provider: options.provider.name, concurrency: options.concurrency }, 'worker started');

  return {
    worker,
    readiness: [redisReadiness(redis)],
    async close() {
      clearInterval(heartbeat);
      if (!(await finishesWithin(worker.close(), options.shutdownGraceMs ?? 25_000))) {
        // Abort what is still running; processGenerate hands those jobs back as "queued".
        for (const controller of running.values()) controller.abort();
        await worker.close(true);
      }
      if (!(await finishesWithin(describeWorker.close(), options.shutdownGraceMs ?? 25_000))) {
        describeStop.abort();
        await describeWorker.close(true);
      }
      await describedQueue.close();
      await describeConnection.quit().catch(() => undefined);
      await durations.flush();
      await stats.removeWorker(workerId).catch(() => undefined);
      await generateQueue.close();
      await deliverQueue.close();
      await subscriber.quit().catch(() => undefined);
      await workerConnection.quit().catch(() => undefined);
      await redis.quit().catch(() => undefined);
      logger.info({ workerId }, 'worker stopped');
    },
  };
}

/**
 * Claims a running slot for the job's member when the job carries a cap. Undefined: no cap (or a
 * payload processGenerate will refuse); 'full': the member is at their cap.
 */
async function takeRunSlot(fair: FairQueue, job: Job): Promise<HeldRunSlot | 'full' | undefined> {
  const { userId, guildId: rawGuildId, maxRunning } = (job.data ?? {}) as { userId?: unknown; guildId?: unknown; maxRunning?: unknown };
  if (typeof userId !== 'string' || typeof maxRunning !== 'number') return undefined;
  const guildId = typeof rawGuildId === 'string' ? rawGuildId : undefined;
  return (await fair.acquireRunSlot(guildId, userId, job.id!, maxRunning)) ? { guildId, userId, jobId: job.id!, released: false } : 'full';
}

/** A job's kind as a metrics label: one of the known kinds, whatever a payload says. */
function kindOf(job: Job): string {
  const kind = (job.data as { kind?: unknown } | undefined)?.kind;
  return generationKinds.includes(kind as (typeof generationKinds)[number]) ? (kind as string) : 'unknown';
}
