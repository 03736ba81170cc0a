import type { ImageRecord } from '../features/pictures/images.js';
import type { JobRecord } from '../store/jobs.js';
import type { BotContext } from './context.js';
import { pictureWebUrl, type ResultExtras } from './messages.js';
import type { MemberDataDeleter } from './privacy.js';
import { votesDataDeleter } from '../features/votes/privacy.js';
import { styleCodesLine, styleFromLine } from '../features/styles/notes.js';

/** A jump link to a message (works for everyone who can see the channel; no ping, no embed). */
export function messageLink(guildId: string | undefined, channelId: string, messageId: string): string {
  return `https://discord.com/channels/${guildId ?? '@me'}/${channelId}/${messageId}`;
}

export function imageLink(image: ImageRecord): string | undefined {
  return image.messageId ? messageLink(image.guildId, image.channelId, image.messageId) : undefined;
}

/**
 * The live vote count (none for a result never shown yet), what a remix or blend was made from,
 * and the pictures' style codes.
 */
export async function resultExtras(ctx: BotContext, record: JobRecord, neverShown = false): Promise<ResultExtras> {
  const votes = neverShown ? 0 : await ctx.votes.count(record.id);
  const webUrl = pictureWebUrl(ctx.webPublicUrl, record);
  const notes = [
    record.blendImageIds ? await blendNote(ctx, record.blendImageIds) : await remixNote(ctx, record),
    await styleFromLine(ctx, record),
    styleCodesLine(record.imageIds),
  ].filter((line): line is string => Boolean(line));
  return { votes, webUrl, note: notes.length > 0 ? notes.join('\n') : undefined };
}

async function remixNote(ctx: BotContext, record: JobRecord): Promise<string | undefined> {
  if (record.kind !== 'img2img' || !record.parentImageId) return undefined;
  const parent = await ctx.images.getRecord(record.parentImageId);
  const link = parent && !parent.deletedAt ? imageLink(parent) : undefined;
  if (!parent || !link) return '🔀 remix of a picture that is no longer shown';
  // A mention renders as the member's name; allowed_mentions on every result keeps it from pinging.
  return `🔀 remix of ${link} by <@${parent.userId}>`;
}

/** "🧪 blend of 3 pictures: 1 · 2 · 3", each a link while the picture is shown. */
async function blendNote(ctx: BotContext, imageIds: readonly string[]): Promise<string> {
  const parents = await ctx.images.getRecords(imageIds);
  const links = imageIds.map((id, i) => {
    const parent = parents.find((p) => p.id === id);
    const link = parent && !parent.deletedAt ? imageLink(parent) : undefined;
    return link ? `[${i + 1}](${link})` : `${i + 1}`;
  });
  return `🧪 blend of ${imageIds.length} pictures: ${links.join(' · ')}`;
}

/** For /privacy: the member's votes and profile numbers (see votesDataDeleter), and their name. */
export const communityDataDeleter: MemberDataDeleter = {
  name: votesDataDeleter.name,
  async deleteMemberData(ctx, userId) {
    const removed = await votesDataDeleter.deleteMemberData(ctx, userId);
    await ctx.lineage.forgetName(userId);
    return removed;
  },
};
