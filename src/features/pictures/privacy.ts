import { DiscordAPIError, Routes } from 'discord.js';
import { cancelJob } from '../../bot/components/generation.js';
import type { BotContext } from '../../bot/context.js';
import type { MemberDataDeleter } from '../../bot/privacy.js';
import { InvalidRequestError } from '../../bot/prompt.js';
import { inputBlobId } from '../../generation.js';
import { anonymiseRequests, imagesOfMember, requestsOfMember } from './store.js';

/**
 * What `/privacy delete-my-data` erases of pictures and requests. Everything is found by member id
 * (the per-member index of live jobs in Redis, `user_id` columns in PostgreSQL), never by scanning.
 * Each step can run again after an interruption and finds nothing new to do.
 */

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
        // Finished in the meantime: the next deleters remove it with the rest.
        if (!(error instanceof InvalidRequestError)) throw error;
      }
    }
    return cancelled;
  },
};

/**
 * Their pictures: the messages that show them, the bytes (image storage and transfer blobs), and
 * the prompts and authorship on the image rows, which stay as anonymous tombstones (other
 * members' remixes, series panels and challenge entries keep their place).
 */
const pictures: MemberDataDeleter = {
  name: 'pictures deleted',
  async deleteMemberData(ctx, userId) {
    const requests = await requestsOfMember(ctx.db, userId);
    const live = await ctx.jobs.openJobsOf(userId);
    for (const request of requests) {
      if (request.result_message_id) {
        await deleteMessage(ctx, request.result_channel_id ?? request.channel_id, request.result_message_id, request.channel_id);
      }
    }
    for (const job of live) if (job.messageId) await deleteMessage(ctx, job.channelId, job.messageId, job.channelId);
    // Bytes of pictures made but never posted (still in flight), and the sources remixes were sent with.
    await ctx.images.deleteBytes(live.flatMap((job) => job.imageIds));
    await ctx.images.deleteBlobs([...requests.map((request) => inputBlobId(request.id)), ...live.map((job) => inputBlobId(job.id))]);
    const imageIds = await imagesOfMember(ctx.db, userId);
    await ctx.images.tombstone(imageIds, userId, ctx.now(), true);
    return imageIds.length;
  },
};

/**
 * Their request history: who asked and the prompts go (the rows stay: votes and panels point at
 * them), and the live records in Redis go with their interaction tokens.
 */
const requestHistory: MemberDataDeleter = {
  name: 'requests erased',
  async deleteMemberData(ctx, userId) {
    const ids = [...(await ctx.jobs.openJobsOf(userId)).map((job) => job.id), ...(await requestsOfMember(ctx.db, userId)).map((r) => r.id)];
    for (let start = 0; start < ids.length; start += 500) await ctx.jobs.forgetMany(ids.slice(start, start + 500));
    return anonymiseRequests(ctx.db, userId, ctx.now());
  },
};

/** The name they went by, kept for family tree labels. */
const names: MemberDataDeleter = {
  name: 'names forgotten',
  async deleteMemberData(ctx, userId) {
    return ctx.lineage.forgetName(userId);
  },
};

export const memberPictureDeleters: readonly MemberDataDeleter[] = [openRequests, pictures, requestHistory, names];

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
