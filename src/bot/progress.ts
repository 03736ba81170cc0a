import { generateJobId } from '../queues.js';
import type { BotContext } from './context.js';
import { editJobMessage, withMessageLock } from './discord-messages.js';
import { progressMessage } from './messages.js';

/** Discord rate-limits message edits; one every two seconds per message is plenty for a progress bar. */
export const PROGRESS_EDIT_INTERVAL_MS = 2_000;

/** A job done within a second goes straight from "Queued" to its result, without flicker. */
export const PROGRESS_FIRST_EDIT_MS = 1_000;

/**
 * Shows a running job's progress on its message. Best effort: skipped while another edit of the
 * same message is under way, throttled across every bot process through Redis, and never after
 * the job left the running state (so it cannot overwrite a result).
 */
export async function showProgress(ctx: BotContext, jobId: string, percent: number, minRunningMs = 0): Promise<boolean> {
  const edited = await withMessageLock(ctx, jobId, false, async () => {
    const record = await ctx.jobs.get(jobId);
    if (!record || record.status !== 'running' || !record.ackedAt) return false;
    if (record.startedAt !== undefined && ctx.now() - record.startedAt < minRunningMs) return false;
    const throttle = await ctx.redis.set(`${ctx.prefix}:throttle:progress:${jobId}`, '1', 'PX', PROGRESS_EDIT_INTERVAL_MS, 'NX');
    if (!throttle) return false;
    await editJobMessage(ctx, record, progressMessage(record, Math.max(0, Math.min(100, Math.round(percent)))));
    return true;
  });
  return edited ?? false;
}

/**
 * Progress events that arrived before our "Queued" answer existed were skipped; once it exists,
 * catch up with where the job is.
 */
export async function catchUpProgress(ctx: BotContext, jobId: string): Promise<void> {
  const job = await ctx.generateQueue.getJob(generateJobId(jobId));
  if (!job || !(await job.isActive())) return;
  await showProgress(ctx, jobId, typeof job.progress === 'number' ? job.progress : 0, PROGRESS_FIRST_EDIT_MS);
}
