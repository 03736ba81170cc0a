import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Routes, type APIChannel } from 'discord.js';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { memberPictureDeleters } from '../features/pictures/privacy.js';
import { PRIVACY_QUEUE } from '../queues.js';
import { logErrors } from '../redis-connections.js';
import type { BotContext } from './context.js';
import { postChannelMessage } from './discord-messages.js';
import { ephemeral, noMentions } from './messages.js';

/**
 * One kind of data a member leaves behind. `/privacy delete-my-data` runs every deleter in
 * `ctx.dataDeleters` in order; each returns how many items it removed (or made anonymous). A
 * deleter finds the member's data by member id (an index or a column), never by scanning, and
 * must be safe to run again: a job interrupted half-way runs all of them once more.
 */
export interface MemberDataDeleter {
  /** What was done, for the summary ("pictures deleted", "votes removed"). */
  name: string;
  deleteMemberData(ctx: BotContext, userId: string): Promise<number>;
}

/** Built in (pictures, requests, names, tokens, bytes); others are appended by the features that keep member data. */
export const memberDataDeleters: readonly MemberDataDeleter[] = memberPictureDeleters;

/** Runs every deleter in order; returns what each one did, for the summary. */
export async function deleteMemberData(ctx: BotContext, userId: string): Promise<Array<{ name: string; count: number }>> {
  const results: Array<{ name: string; count: number }> = [];
  for (const deleter of ctx.dataDeleters ?? memberDataDeleters) {
    results.push({ name: deleter.name, count: await deleter.deleteMemberData(ctx, userId) });
  }
  ctx.logger.info({ userId, results }, 'member data deleted');
  return results;
}

// ---- the queued job -----------------------------------------------------------------------

export { PRIVACY_QUEUE };

export const privacyJobSchema = z.object({
  userId: z.string().regex(/^\d{15,20}$/),
  /** Where to report while the interaction token lives (15 minutes); then a direct message. */
  applicationId: z.string(),
  interactionToken: z.string(),
  interactionAt: z.number(),
});
export type PrivacyJob = z.infer<typeof privacyJobSchema>;
export type PrivacyQueue = Queue<PrivacyJob>;

/** Discord's lifetime of an interaction token. */
const TOKEN_LIFETIME_MS = 15 * 60 * 1000;

/**
 * Retried through outages of the database or Discord; the job (and the interaction token in it)
 * leaves Redis as soon as it is done.
 */
export const privacyJobOptions = {
  attempts: 10,
  backoff: { type: 'exponential' as const, delay: 2_000 },
  removeOnComplete: true,
  removeOnFail: { age: 24 * 3600 },
};

/**
 * Queues a member's data deletion. One job per member at a time: a second click while the first
 * is waiting or running is the same job. Returns false when one was already under way.
 */
export async function queueMemberDataDeletion(ctx: BotContext, job: PrivacyJob): Promise<boolean> {
  const queue = ctx.privacyQueue;
  if (!queue) throw new Error('the privacy queue is not running');
  const jobId = `privacy-${job.userId}`;
  const existing = await queue.getJob(jobId);
  if (existing && !(await existing.isCompleted()) && !(await existing.isFailed())) return false;
  await existing?.remove().catch(() => undefined);
  await queue.add('delete-member-data', job, { ...privacyJobOptions, jobId });
  return true;
}

/** Runs one deletion job, then tells the member what was done. */
export async function processPrivacyJob(job: Job, ctx: BotContext): Promise<Array<{ name: string; count: number }>> {
  const parsed = privacyJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError('invalid privacy job payload');
  const data = parsed.data;
  const results = await deleteMemberData(ctx, data.userId);
  const summary = results.map(({ name, count }) => `${name}: ${count}`).join(' · ');
  await tellMember(ctx, data, summary);
  return results;
}

/**
 * While the token lives: the private answer ("Deleting…") becomes the summary, and an ephemeral
 * follow-up brings it to the member's attention. Otherwise a direct message. Best effort: the
 * deletion stands whatever Discord says.
 */
async function tellMember(ctx: BotContext, job: PrivacyJob, summary: string): Promise<void> {
  const text = `🗑 Your data is deleted. ${summary}`;
  if (ctx.now() - job.interactionAt < TOKEN_LIFETIME_MS) {
    try {
      await ctx.rest
        .patch(Routes.webhookMessage(job.applicationId, job.interactionToken), {
          body: { content: `🗑 Done. ${summary}`, components: [], allowed_mentions: noMentions },
          auth: false,
        })
        .catch((error) => ctx.logger.debug({ err: error, userId: job.userId }, 'could not edit the privacy answer'));
      await ctx.rest.post(Routes.webhook(job.applicationId, job.interactionToken), { body: ephemeral(text), auth: false });
      return;
    } catch (error) {
      ctx.logger.debug({ err: error, userId: job.userId }, 'privacy follow-up failed; trying a direct message');
    }
  }
  try {
    const dm = (await ctx.rest.post(Routes.userChannels(), { body: { recipient_id: job.userId } })) as APIChannel;
    await postChannelMessage(ctx, dm.id, { content: text, components: [], allowed_mentions: noMentions });
  } catch (error) {
    ctx.logger.warn({ err: error, userId: job.userId }, 'could not tell the member their data is deleted');
  }
}

/** The bot runs the deletions (they delete Discord messages, so they need its token): one at a time. */
export function startPrivacyWorker(ctx: BotContext, connection: Redis): Worker {
  const worker = new Worker(PRIVACY_QUEUE, (job) => processPrivacyJob(job, ctx), { connection, prefix: ctx.prefix, concurrency: 1 });
  worker.on('failed', (job, error) => ctx.logger.warn({ err: error, attempt: job?.attemptsMade }, 'member data deletion attempt failed'));
  return logErrors(worker, ctx.logger, 'privacy worker');
}
