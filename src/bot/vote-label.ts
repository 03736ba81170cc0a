import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { VOTE_LABEL_QUEUE, voteLabelJobSchema, type VoteLabelJob } from '../features/votes/jobs.js';
import { WORKER_RUN_RETRY_MS } from '../redis-connections.js';
import { redrawVoteLabelOf } from '../features/votes/components.js';
import type { BotContext } from './context.js';

/** Redraws a result's vote label when a vote was cast outside Discord (the web gallery). */
export async function runVoteLabelJob(ctx: BotContext, data: unknown): Promise<void> {
  const parsed = voteLabelJobSchema.safeParse(data);
  if (!parsed.success) throw new UnrecoverableError('malformed vote-label job');
  await redrawVoteLabelOf(ctx, parsed.data.requestId);
}

export function startVoteLabelWorker(ctx: BotContext, connection: Redis): Worker<VoteLabelJob> {
  const worker = new Worker<VoteLabelJob>(VOTE_LABEL_QUEUE, (job) => runVoteLabelJob(ctx, job.data), {
    connection,
    prefix: ctx.prefix,
    concurrency: 4,
    runRetryDelay: WORKER_RUN_RETRY_MS,
  });
  worker.on('failed', (job, error) => ctx.logger.warn({ err: error, job: job?.id, attempt: job?.attemptsMade }, 'vote label redraw failed'));
  worker.on('error', (error) => ctx.logger.error({ err: error }, 'vote label worker error'));
  return worker;
}
