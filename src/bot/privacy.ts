import { DiscordAPIError, Routes } from 'discord.js';
import { cancelJob } from './components/generation.js';
import type { BotContext } from './context.js';
import { InvalidRequestError } from './prompt.js';

/**
 * One kind of data a member leaves behind. `/privacy delete-my-data` runs every deleter in
 * `ctx.dataDeleters` in order; each returns how many items it removed (or made anonymous).
 */
export interface MemberDataDeleter {
  /** What was done, for the summary ("pictures deleted", "votes removed"). */
  name: string;
  deleteMemberData(ctx: BotContext, userId: string): Promise<number>;
}

/** Their requests that are still waiting or running: cancelled first, so nothing new appears. */
const openRequests: MemberDataDeleter = {
  name: 'requests cancelled',
  async deleteMemberData(ctx, userId) {
    let cancelled = 0;
    for (const job of await ctx.jobs.openJobsOf(userId)) {
      if (job.status !== 'queued' && job.status !== 'running') continue;
      try {
        await cancelJob(ctx, job.id, userId);
        cancelled++;
      } catch (error) {
        // Finished in the meantime: the next deleter removes it with the rest.
        if (!(error instanceof InvalidRequestError)) throw error;
      }
    }
    return cancelled;
  },
};

/**
 * Their pictures: the messages that show them, the files, the prompts and authorship on the image
 * records (which stay as anonymous tombstones), and the request records (which hold their prompts). Found by scanning, because nothing else needs a per-member index and
 * this runs rarely; records whose request expired are found through the image records themselves.
 */
const pictures: MemberDataDeleter = {
  name: 'pictures deleted',
  async deleteMemberData(ctx, userId) {
    const imageIds = new Set<string>();
    for (const jobId of await keysOwnedBy(ctx, `${ctx.prefix}:job:`, userId)) {
      const record = await ctx.jobs.get(jobId);
      if (!record) continue;
      record.imageIds.forEach((id) => imageIds.add(id));
      const messages = new Set([record.resultMessageId, record.messageId].filter((id): id is string => Boolean(id)));
      for (const messageId of messages) await deleteMessage(ctx, record.resultChannelId ?? record.channelId, messageId, record.channelId);
      await ctx.redis.del(ctx.jobs.key(jobId));
    }
    for (const id of await keysOwnedBy(ctx, `${ctx.prefix}:image:`, userId)) imageIds.add(id);
    // Tombstones, not erasure: other members' remixes, series panels and entries keep their place.
    for (const id of imageIds) await ctx.images.tombstone(id, userId, ctx.now(), true);
    return imageIds.size;
  },
};

/** Built in; others are appended by the features that keep member data. */
export const memberDataDeleters: readonly MemberDataDeleter[] = [openRequests, pictures];

/** Runs every deleter in order; returns what each one did, for the summary. */
export async function deleteMemberData(ctx: BotContext, userId: string): Promise<Array<{ name: string; count: number }>> {
  const results: Array<{ name: string; count: number }> = [];
  for (const deleter of ctx.dataDeleters ?? memberDataDeleters) {
    results.push({ name: deleter.name, count: await deleter.deleteMemberData(ctx, userId) });
  }
  ctx.logger.info({ userId, results }, 'member data deleted');
  return results;
}

/** Ids of `<keyPrefix><id>` hashes whose userId is the member (other keys under the prefix are skipped). */
async function keysOwnedBy(ctx: BotContext, keyPrefix: string, userId: string): Promise<string[]> {
  const owned: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await ctx.redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000);
    cursor = next;
    const records = keys.filter((key) => !key.slice(keyPrefix.length).includes(':'));
    if (records.length === 0) continue;
    const pipeline = ctx.redis.pipeline();
    for (const key of records) pipeline.hget(key, 'userId');
    const owners = (await pipeline.exec()) ?? [];
    records.forEach((key, index) => {
      if (owners[index]?.[1] === userId) owned.push(key.slice(keyPrefix.length));
    });
  } while (cursor !== '0');
  return owned;
}

/** Best effort: a message someone already deleted (or a channel that is gone) is fine. */
async function deleteMessage(ctx: BotContext, channelId: string, messageId: string, fallbackChannelId: string): Promise<void> {
  for (const channel of new Set([channelId, fallbackChannelId])) {
    try {
      await ctx.rest.delete(Routes.channelMessage(channel, messageId));
      return;
    } catch (error) {
      if (!(error instanceof DiscordAPIError) || (error.status !== 404 && error.status !== 403)) throw error;
    }
  }
}
