import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { Routes, type APIMessage } from 'discord.js';
import type { Redis } from 'ioredis';
import type { BotContext } from '../../bot/context.js';
import { isDeadInteraction, postChannelMessage, TOKEN_LIFETIME_MS } from '../../bot/discord-messages.js';
import type { MessageBody } from '../../bot/messages.js';
import { DESCRIBED_QUEUE, describedJobSchema, type DescribeJob, type DescribedJob } from '../../queues.js';
import { WORKER_RUN_RETRY_MS } from '../../redis-connections.js';
import { describeFailedMessage, suggestionsMessage } from './components.js';
import { DescribeStore } from './store.js';

/** The picture travels to the worker as a transfer blob under this id. */
export const describeBlobId = (id: string) => `describe-${id}`;

/** Reading a picture is quick; a provider that does not answer is asked a few more times. */
export const describeJobOptions = {
  attempts: 3,
  backoff: { type: 'exponential' as const, delay: 2_000 },
  removeOnComplete: { age: 3600, count: 100 },
  removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
};

/** Bringing the answer to Discord keeps trying through an outage, like delivery. */
export const describedJobOptions = {
  attempts: 12,
  backoff: { type: 'exponential' as const, delay: 1_000 },
  removeOnComplete: { age: 3600, count: 100 },
  removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
};

export type DescribeQueueJob = Job<DescribeJob>;

/**
 * The worker's answer, brought to Discord exactly once: the suggestions are stored first (the
 * buttons read them), then the deferred reply is edited while its token lives, or, later, the
 * answer is posted in the channel (with a nonce, so a retry does not post twice).
 */
export async function processDescribed(ctx: BotContext, job: Job<DescribedJob>): Promise<'edited' | 'posted' | 'skipped'> {
  const parsed = describedJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError('invalid describe answer');
  const answer = parsed.data;
  const store = new DescribeStore(ctx.db, ctx.redis, ctx.prefix);
  const found = await store.pending(answer.id);
  if (!found) return 'skipped';
  const { pending, token } = found;
  let body: MessageBody;
  if (answer.suggestions.length > 0) {
    await store.saveSuggestions(pending, answer.suggestions);
    body = suggestionsMessage(pending.id, answer.suggestions);
  } else {
    body = describeFailedMessage(answer.error ?? 'The image provider gave no answer.');
  }
  let outcome: 'edited' | 'posted' | undefined;
  if (token && ctx.now() - pending.interactionAt < TOKEN_LIFETIME_MS) {
    try {
      (await ctx.rest.patch(Routes.webhookMessage(pending.applicationId, token, '@original'), { body, auth: false })) as APIMessage;
      outcome = 'edited';
    } catch (error) {
      if (!isDeadInteraction(error)) throw error;
    }
  }
  if (!outcome) {
    // The token died (a long outage): the answer goes to the channel, naming who asked (no ping).
    await postChannelMessage(ctx, pending.channelId, { ...body, content: `<@${pending.userId}> ${body.content}` }, { nonce: `s${pending.id}` });
    outcome = 'posted';
  }
  await store.finish(pending.id);
  await ctx.images.deleteBlobs([describeBlobId(pending.id)]);
  return outcome;
}

export function startDescribedWorker(ctx: BotContext, connection: Redis): Worker<DescribedJob> {
  const worker = new Worker<DescribedJob>(DESCRIBED_QUEUE, (job) => processDescribed(ctx, job), {
    connection,
    prefix: ctx.prefix,
    concurrency: 4,
    runRetryDelay: WORKER_RUN_RETRY_MS,
  });
  worker.on('failed', (job, error) => ctx.logger.warn({ err: error, job: job?.id, attempt: job?.attemptsMade }, 'describe answer not delivered yet'));
  worker.on('error', (error) => ctx.logger.error({ err: error }, 'describe answer worker error'));
  return worker;
}
