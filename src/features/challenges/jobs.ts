import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { BotContext } from '../../bot/context.js';
import { WORKER_RUN_RETRY_MS } from '../../redis-connections.js';
import { CHALLENGE_QUEUE, type ChallengeJobData } from './timers.js';
import { challengeIdPattern } from './model.js';
import { announceChallenge, announceResults, openVoting, startScheduledChallenge, type TransitionOutcome } from './transitions.js';

const weeklyStartSchema = z.object({ guildId: z.string().regex(/^\d{1,20}$/) });
const transitionSchema = z.object({
  challengeId: z.string().regex(challengeIdPattern),
  phase: z.enum(['announce', 'submissions', 'voting']),
});

/** What one challenge job does; the worker calls it, and tests call it directly with their own clock. */
export async function runChallengeJob(ctx: BotContext, job: { name: string; data: unknown }, now = ctx.now()): Promise<TransitionOutcome> {
  if (job.name === 'weekly-start') {
    const parsed = weeklyStartSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError('invalid weekly-start payload');
    return startScheduledChallenge(ctx, parsed.data.guildId, now);
  }
  if (job.name === 'transition') {
    const parsed = transitionSchema.safeParse(job.data);
    if (!parsed.success) throw new UnrecoverableError('invalid transition payload');
    const { challengeId, phase } = parsed.data;
    if (phase === 'announce') return announceChallenge(ctx, challengeId, now);
    if (phase === 'submissions') return openVoting(ctx, challengeId, now);
    return announceResults(ctx, challengeId, now);
  }
  throw new UnrecoverableError(`unknown challenge job ${job.name}`);
}

/** Consumes the challenge queue inside the bot process (transitions post to Discord with its token). */
export function startChallengeWorker(ctx: BotContext, connection: Redis): Worker<ChallengeJobData> {
  const worker = new Worker<ChallengeJobData>(CHALLENGE_QUEUE, (job) => runChallengeJob(ctx, job), {
    connection,
    prefix: ctx.prefix,
    concurrency: 2,
    runRetryDelay: WORKER_RUN_RETRY_MS,
  });
  worker.on('failed', (job, error) => ctx.logger.warn({ err: error, job: job?.id, attempt: job?.attemptsMade }, 'challenge job failed'));
  worker.on('error', (error) => ctx.logger.error({ err: error }, 'challenge worker error'));
  return worker;
}
