import { randomUUID } from 'node:crypto';
import { generateJobId } from '../queues.js';
import type { JobRecord } from '../store/jobs.js';
import { announceDelivery, failGeneration } from '../generation.js';
import type { BotContext } from './context.js';
import { addGenerateJob } from './requests.js';
import { runScript } from '../redis-scripts.js';
import { requestsAwaitingOutcome, settleLostRequest, type AwaitingRequest } from '../features/pictures/store.js';
import { restoreChallengeTimers } from '../features/challenges/transitions.js';
import { sendDirectMessage } from './discord-messages.js';
import { hasLeftGuild } from './guilds.js';
import { noMentions, quotePrompt } from './messages.js';

/**
 * The safety net behind "nothing is lost". Every step of a request is durable, but a process can
 * die between two of them: after a request was recorded and before it was queued, after BullMQ
 * gave up on a job and before its author was told, or a delivery can run out of attempts during a
 * long Discord outage. The sweep looks at requests that should have settled by now and puts each
 * back on its way; every action it takes is idempotent, so running it twice (or in two bot
 * processes) changes nothing.
 *
 * A Redis that lost its data (no persistence, a failover that dropped writes, FLUSHALL) takes the
 * live records and queues with it. The archive still has every accepted request: one without an
 * outcome and without a live record is settled there, and its author is told by direct message.
 * Challenge deadlines and weekly starts are put back from the archive likewise.
 */

/** Requests younger than this are still on their way; leave them alone. */
export const RECOVERY_GRACE_MS = 2 * 60 * 1000;
const SWEEP_LOCK_MS = 60_000;
const RENEW = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0";

/** How far back the archive is compared with Redis: a live record lasts at most this long. */
export const LOST_LOOKBACK_MS = 14 * 24 * 3600 * 1000;

export type Recovery = 'requeued' | 'failed' | 'redelivered' | 'settled' | 'lost';

export async function recoverStrandedJobs(ctx: BotContext, now = ctx.now()): Promise<Map<string, Recovery>> {
  const done = new Map<string, Recovery>();
  const lock = `${ctx.prefix}:lock:recovery`;
  const token = randomUUID();
  if (!(await ctx.redis.set(lock, token, 'PX', SWEEP_LOCK_MS, 'NX'))) return done;
  try {
    for await (const page of ctx.jobs.unsettledBefore(now - RECOVERY_GRACE_MS)) {
      for (const id of page) {
        const record = await ctx.jobs.get(id);
        const action = record ? await recoverOne(ctx, record) : 'settled';
        if (!record) await ctx.jobs.settle(id);
        if (action) done.set(id, action);
      }
      // A long sweep keeps its lock: a second bot process must not start the same work meanwhile.
      await runScript(ctx.redis, RENEW, 1, lock, token, SWEEP_LOCK_MS);
    }
    await settleLostRequests(ctx, now, done, () => runScript(ctx.redis, RENEW, 1, lock, token, SWEEP_LOCK_MS));
    const restored = await restoreChallengeTimers(ctx, now);
    if (restored.deadlines + restored.schedules > 0) ctx.logger.warn(restored, 'restored challenge timers Redis no longer had');
  } finally {
    await runScript(ctx.redis, "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, lock, token);
  }
  if (done.size > 0) ctx.logger.warn({ recovered: Object.fromEntries(done) }, 'recovered stranded requests');
  return done;
}

async function recoverOne(ctx: BotContext, record: JobRecord): Promise<Recovery | undefined> {
  switch (record.status) {
    case 'queued':
    case 'running': {
      const state = await ctx.generateQueue.getJobState(generateJobId(record.id));
      if (state === 'unknown' && record.status === 'queued') {
        // Recorded, then the process died before the job was queued.
        const settings = await ctx.settings.get(record.guildId);
        await addGenerateJob(ctx, record, settings.maxRunning);
        return 'requeued';
      }
      if (state === 'unknown' || state === 'failed' || state === 'completed') {
        // BullMQ is done with it but the record never heard: tell the author.
        const message = 'The worker handling this stopped before it finished. Please try again.';
        return (await failGeneration(ctx, record.id, message, 'internal')) ? 'failed' : undefined;
      }
      return undefined;
    }
    case 'done':
    case 'failed': {
      if (record.status === 'failed' && record.resultMessageId) {
        await ctx.jobs.settle(record.id);
        return 'settled';
      }
      return redeliver(ctx, record.id);
    }
    case 'cancelled':
      await archiveCancel(ctx, record);
      await ctx.jobs.settle(record.id);
      return 'settled';
    case 'delivered':
      // Posted, but what follows the post did not all run (its delivery ran out of attempts while
      // the database was away, say): the delivery runs it again, posting nothing twice.
      if (record.hooksDone === '0') return redeliver(ctx, record.id);
      await ctx.jobs.settle(record.id);
      return 'settled';
    default:
      await ctx.jobs.settle(record.id);
      return 'settled';
  }
}

/** Its delivery again, when the last one ran out of attempts or was never announced; undefined while one is on its way. */
async function redeliver(ctx: BotContext, id: string): Promise<Recovery | undefined> {
  const delivery = await ctx.deliverQueue.getJob(`deliver-${id}`);
  const state = delivery ? await delivery.getState() : 'unknown';
  if (delivery && state === 'failed') {
    // Out of attempts (a long Discord or database outage): start over.
    await delivery.retry('failed');
    return 'redelivered';
  }
  if (!delivery || state === 'completed') {
    if (delivery) await delivery.remove();
    await announceDelivery(ctx, id);
    return 'redelivered';
  }
  return undefined;
}

/**
 * Requests the archive has as accepted, with no outcome and no live record in Redis: Redis lost
 * them. Nothing can draw them any more (their jobs went too), so each ends failed and its author
 * hears so privately; one whose pictures had reached a message counts as delivered. A request of
 * a member who deleted their data, or of a server that removed the bot, ends quietly.
 */
async function settleLostRequests(ctx: BotContext, now: number, done: Map<string, Recovery>, renew: () => Promise<unknown>): Promise<void> {
  let after: { createdAt: number; id: string } | undefined;
  for (;;) {
    const page = await requestsAwaitingOutcome(ctx.db, now - LOST_LOOKBACK_MS, now - RECOVERY_GRACE_MS, after);
    if (page.length === 0) return;
    after = page[page.length - 1]!;
    for (const request of page) {
      const live = await ctx.jobs.peek(request.id);
      if (live?.status === 'cancelled') {
        const record = await ctx.jobs.live(request.id);
        if (record && (await archiveCancel(ctx, record))) done.set(request.id, 'settled');
        continue;
      }
      // Still on its way.
      if (live) continue;
      const quiet = request.userId === null || (await hasLeftGuild(ctx, request.guildId ?? undefined));
      const outcome = await settleLostRequest(
        ctx.db,
        request.id,
        quiet ? { status: 'cancelled', finishedAt: now } : { status: 'failed', error: LOST_ERROR, errorKind: 'internal', finishedAt: now },
      );
      if (!outcome) continue;
      done.set(request.id, outcome === 'failed' ? 'lost' : 'settled');
      if (outcome === 'failed') await tellLost(ctx, request);
    }
    await renew();
  }
}

/**
 * A cancel the database could not take when it happened (its live record has it) is archived now;
 * once: only a request still without an outcome changes. True when this call archived it.
 */
async function archiveCancel(ctx: BotContext, record: JobRecord): Promise<boolean> {
  const outcome = await settleLostRequest(ctx.db, record.id, {
    status: 'cancelled',
    cancelledBy: record.cancelledBy,
    finishedAt: record.finishedAt ?? ctx.now(),
  });
  return outcome !== undefined;
}

const LOST_ERROR = 'Lost while Atelier restarted, before it was drawn.';

async function tellLost(ctx: BotContext, request: AwaitingRequest): Promise<void> {
  const prompt = request.prompt ? ` “${quotePrompt(request.prompt, 300)}”` : '';
  const content = `⚠️ Your request${prompt} in <#${request.channelId}> was lost while Atelier restarted, before it was drawn. Nothing will be posted for it: please ask again.`;
  try {
    await sendDirectMessage(ctx, request.userId!, { content, components: [], allowed_mentions: noMentions }, `l${request.id}`);
  } catch (error) {
    ctx.logger.warn({ err: error, jobId: request.id, userId: request.userId }, 'could not tell the author that their request was lost');
  }
}
