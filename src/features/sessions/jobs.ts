import { UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { BotContext } from '../../bot/context.js';
import type { MemberDataDeleter } from '../../bot/privacy.js';
import { WORKER_RUN_RETRY_MS } from '../../redis-connections.js';
import { SESSION_QUEUE, sessionJobSchema, type SessionJob } from '../../queues.js';
import { removeCurrentPhase, scheduleCurrentPhase } from './timers.js';
import { catchUp, endPhase, type PhaseOutcome } from './transitions.js';

/** What one session job does; the worker calls it, and tests may call it directly. */
export async function runSessionJob(ctx: BotContext, job: { name: string; data: unknown }, now = ctx.now()): Promise<PhaseOutcome> {
  if (job.name !== 'phase') throw new UnrecoverableError(`unknown session job ${job.name}`);
  const parsed = sessionJobSchema.safeParse(job.data);
  if (!parsed.success) throw new UnrecoverableError('invalid session phase payload');
  return endPhase(ctx, parsed.data, now);
}

/** Consumes the session queue inside the bot process (phase changes post to Discord with its token). */
export function startSessionWorker(ctx: BotContext, connection: Redis): Worker<SessionJob> {
  const worker = new Worker<SessionJob>(SESSION_QUEUE, (job) => runSessionJob(ctx, job), {
    connection,
    prefix: ctx.prefix,
    // Many sessions may change phase at the same moment; each is its own row and lock.
    concurrency: 8,
    runRetryDelay: WORKER_RUN_RETRY_MS,
  });
  worker.on('failed', (job, error) => ctx.logger.warn({ err: error, job: job?.id, attempt: job?.attemptsMade }, 'session job failed'));
  worker.on('error', (error) => ctx.logger.error({ err: error }, 'session worker error'));
  return worker;
}

/**
 * At start-up: every running session gets its current deadline again (a no-op when the job is
 * there) and its thread the posts it is owed, so a crash between a phase change and its timer or
 * posts loses nothing.
 */
export async function resumeSessions(ctx: BotContext): Promise<void> {
  for (const session of await ctx.sessions.running()) {
    try {
      await scheduleCurrentPhase(ctx.sessionQueue, session, ctx.now());
      await catchUp(ctx, session.id);
    } catch (error) {
      ctx.logger.error({ err: error, sessionId: session.id }, 'could not resume a session');
    }
  }
}

/** The bot was removed from the server: its running sessions end there, silently (no recap). */
export async function stopSessionsOfGuild(ctx: BotContext, guildId: string): Promise<number> {
  let stopped = 0;
  for (const session of await ctx.sessions.runningInGuild(guildId)) {
    await removeCurrentPhase(ctx.sessionQueue, session);
    if (await ctx.sessions.endSilently(session.id, ctx.now())) stopped += 1;
  }
  return stopped;
}

/** /privacy: votes removed, entries and hosted sessions kept without the member's name. */
export const sessionDataDeleter: MemberDataDeleter = {
  name: 'session entries made anonymous and votes removed',
  deleteMemberData: (ctx, userId) => ctx.sessions.deleteMemberData(userId),
};
