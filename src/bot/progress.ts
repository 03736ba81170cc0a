import { generateJobId } from '../queues.js';
import type { BotContext } from './context.js';
import { editJobMessage, unlessRefused, withMessageLock } from './discord-messages.js';
import { progressMessage } from './messages.js';

/** Discord rate-limits message edits; one every two seconds per message is plenty for a progress bar. */
export const PROGRESS_EDIT_INTERVAL_MS = 2_000;

/** Long enough to outlast any running job: after a final refusal its progress is not edited again. */
const PROGRESS_REFUSAL_TTL_S = 24 * 3600;

/** A job done within a second goes straight from "Queued" to its result, without flicker. */
export const PROGRESS_FIRST_EDIT_MS = 1_000;

/**
 * Shows a running job's progress on its message. Best effort: skipped while another edit of the
 * same message is under way, throttled across every bot process through Redis, never after the
 * job left the running state (so it cannot overwrite a result), and never again after Discord
 * refused an edit for good (Missing Access, Unknown Message…).
 */
export async function showProgress(ctx: BotContext, jobId: string, percent: number, minRunningMs = 0): Promise<boolean> {
  const edited = await withMessageLock(ctx, jobId, false, async () => {
    const record = await ctx.jobs.get(jobId);
    if (!record || record.status !== 'running' || !record.ackedAt) return false;
    if (record.startedAt !== undefined && ctx.now() - record.startedAt < minRunningMs) return false;
    const stopped = `${ctx.prefix}:progress:refused:${jobId}`;
    if ((await ctx.redis.exists(stopped)) === 1) return false;
    const throttle = await ctx.redis.set(`${ctx.prefix}:throttle:progress:${jobId}`, '1', 'PX', PROGRESS_EDIT_INTERVAL_MS, 'NX');
    if (!throttle) return false;
    const body = progressMessage(record, Math.max(0, Math.min(100, Math.round(percent))));
    const edit = await unlessRefused(
      ctx,
      'progress edit',
      { jobId, guildId: record.guildId, channelId: record.channelId, messageId: record.messageId },
      () => editJobMessage(ctx, record, body),
    );
    if ('refused' in edit) {
      // The message (or access to its channel) is gone for good: no more progress for this job.
      // Delivery classifies the same refusal on its own when the result comes.
      await ctx.redis.set(stopped, '1', 'EX', PROGRESS_REFUSAL_TTL_S);
      return false;
    }
    return true;
  });
  return edited ?? false;
}

/**
 * Progress events that arrived before our "Queued" answer existed were skipped; once it exists,
 * catch up with where the job is.
 */
export async function catchUpProgress(ctx: BotContext, jobId: string): Promise<void> {
  // One read of the BullMQ job's own fields (processedOn, finishedOn, progress) instead of loading
  // the whole job: on the hot path the answer is "not started" or "already finished". A job that
  // started less than PROGRESS_FIRST_EDIT_MS ago gets its first edit from the 'active' event's
  // timer, which fires after this answer exists.
  const [processedOn, finishedOn, progress] = await ctx.redis.hmget(
    ctx.generateQueue.toKey(generateJobId(jobId)),
    'processedOn',
    'finishedOn',
    'progress',
  );
  if (!processedOn || finishedOn || ctx.now() - Number(processedOn) < PROGRESS_FIRST_EDIT_MS) return;
  const percent = Number(progress);
  await showProgress(ctx, jobId, Number.isFinite(percent) ? percent : 0, PROGRESS_FIRST_EDIT_MS);
}
