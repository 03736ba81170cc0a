import type { BotContext } from '../../bot/context.js';
import { recordImages } from '../pictures/store.js';
import type { EntryPicture } from './store.js';

/**
 * Entries are pictures of the archive: delivery writes a picture's row just after its result
 * reached Discord. The 🏆 button is on that message, so a member can be quicker than the
 * archive; for a request already delivered, the rows are written here the same way delivery
 * writes them (the write is idempotent), instead of refusing a picture everyone can see.
 */
async function archiveDeliveredRequest(ctx: BotContext, requestId: string): Promise<void> {
  const job = await ctx.jobs.get(requestId);
  if (job?.status !== 'delivered') return;
  const images = (await Promise.all(job.imageIds.map((id) => ctx.images.getRecord(id)))).filter((image) => image !== undefined);
  await recordImages(
    ctx.db,
    images.map((image) => ({ ...image, requestId: job.id, kind: job.kind, messageId: image.messageId ?? job.resultMessageId })),
  );
}

/** The archived picture with this id (written now if its delivery is still being archived). */
export async function archivedPicture(ctx: BotContext, imageId: string): Promise<EntryPicture | undefined> {
  const known = await ctx.challenges.picture(imageId);
  if (known) return known;
  const requestId = /^(\d{15,20})-[1-4]$/.exec(imageId)?.[1];
  if (!requestId) return undefined;
  await archiveDeliveredRequest(ctx, requestId);
  return ctx.challenges.picture(imageId);
}

/** The archived pictures of a request, in order (written now if its delivery is still being archived). */
export async function archivedPicturesOf(ctx: BotContext, requestId: string): Promise<EntryPicture[]> {
  const known = await ctx.challenges.picturesOf(requestId);
  if (known.length > 0) return known;
  await archiveDeliveredRequest(ctx, requestId);
  return ctx.challenges.picturesOf(requestId);
}
