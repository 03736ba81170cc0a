import type { BotContext } from './context.js';
import { editJobMessage, withMessageLock } from './discord-messages.js';
import { progressMessage } from './messages.js';

/** Discord rate-limits message edits; one every two seconds per message is plenty for a progress bar. */
export const PROGRESS_EDIT_INTERVAL_MS = 2_000;

/**
 * Shows a running job's progress on its message. Best effort: skipped while another edit of the
 * same message is under way, throttled across every bot process through Redis, and never after
 * the job left the running state (so it cannot overwrite a result).
 */
export async function showProgress(ctx: BotContext, jobId: string, percent: number): Promise<boolean> {
  const throttle = await ctx.redis.set(`${ctx.prefix}:throttle:progress:${jobId}`, '1', 'PX', PROGRESS_EDIT_INTERVAL_MS, 'NX');
  if (!throttle) return false;
  const edited = await withMessageLock(ctx, jobId, false, async () => {
    const record = await ctx.jobs.get(jobId);
    if (!record || record.status !== 'running' || !record.ackedAt) return false;
    await editJobMessage(ctx, record, progressMessage(record, Math.max(0, Math.min(100, Math.round(percent)))));
    return true;
  });
  return edited ?? false;
}
