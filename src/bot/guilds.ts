import { openPhases } from '../features/challenges/model.js';
import { removeTransitions, scheduleWeekly, unscheduleWeekly, weeklySchedulerId } from '../features/challenges/timers.js';
import { stopSessionsOfGuild } from '../features/sessions/jobs.js';
import type { JobRecord } from '../store/jobs.js';
import type { BotContext } from './context.js';
import { cancelJob } from './components/generation.js';

/**
 * The bot's membership of servers. When a server removes the bot, its work ends there: requests
 * still waiting are cancelled (and their quota and budget given back), ones running or finished
 * are dropped unposted, a running challenge stops without another post, and the weekly challenge
 * pauses. Adding the bot back resumes the weekly challenge as the server's admins had set it;
 * nothing else comes back.
 */

const leftKey = (ctx: BotContext, guildId: string) => `${ctx.prefix}:guild:${guildId}:left`;

/** True while the bot is out of the server (removed, not yet added back). */
export async function hasLeftGuild(ctx: BotContext, guildId: string | undefined): Promise<boolean> {
  return guildId !== undefined && (await ctx.redis.exists(leftKey(ctx, guildId))) === 1;
}

/** Everything to do once the bot was removed from a server. Safe to run twice. */
export async function leaveGuild(ctx: BotContext, guildId: string): Promise<{ cancelled: number }> {
  // Marked first: a delivery already under way sees it and posts nothing.
  await ctx.redis.set(leftKey(ctx, guildId), String(ctx.now()));
  await unscheduleWeekly(ctx.challengeQueue, guildId);
  // A running challenge ends there, silently: its deadlines go, and it does not come back with the bot.
  const running = await ctx.challenges.active(guildId);
  if (running) {
    await ctx.challenges.advance(running.id, openPhases, 'cancelled', { cancelledAt: ctx.now(), cancelledBy: ctx.applicationId });
    await removeTransitions(ctx.challengeQueue, running.id);
  }
  // Live sessions likewise end there, without a recap.
  await stopSessionsOfGuild(ctx, guildId);
  const records: JobRecord[] = [];
  for await (const page of ctx.jobs.unsettledBefore(Number.POSITIVE_INFINITY)) {
    for (const id of page) {
      const record = await ctx.jobs.get(id);
      if (record?.guildId === guildId) records.push(record);
    }
  }
  // Waiting ones first: a worker freed by a cancelled running job must not pick up the next one.
  records.sort((a, b) => Number(b.status === 'queued') - Number(a.status === 'queued'));
  let cancelled = 0;
  for (const record of records) {
    const id = record.id;
    if (record.status === 'queued' || record.status === 'running') {
      // Waiting ones are refunded by the cancel itself; a running one already cost its GPU time.
      await cancelJob(ctx, id, ctx.applicationId).then(
        () => (cancelled += 1),
        () => undefined, // it finished meanwhile: delivery sees the server is gone and posts nothing
      );
    } else if (record.status === 'done') {
      if ((await ctx.jobs.transition(id, ['done'], 'cancelled', { cancelledBy: ctx.applicationId })).ok) cancelled += 1;
      await ctx.images.deleteBytes(record.imageIds);
    } else if (record.status === 'failed') {
      // Its author cannot be told in a server that is gone.
      await ctx.jobs.settle(id);
    }
  }
  ctx.logger.warn(
    { guildId, cancelled, challengeId: running?.id },
    'removed from a server: its work and running challenge are cancelled, its weekly challenge paused',
  );
  return { cancelled };
}

/** The bot is (back) in a server: a weekly challenge paused by its removal starts again. */
export async function rejoinGuild(ctx: BotContext, guildId: string): Promise<void> {
  if ((await ctx.redis.del(leftKey(ctx, guildId))) === 0) return;
  const schedule = await ctx.challenges.schedule(guildId);
  if (schedule && !(await ctx.challengeQueue.getJobScheduler(weeklySchedulerId(guildId)))) {
    await scheduleWeekly(ctx.challengeQueue, guildId, schedule);
  }
  ctx.logger.info({ guildId, weeklyChallenge: Boolean(schedule) }, 'added back to a server');
}
