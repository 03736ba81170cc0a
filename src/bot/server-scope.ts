import type { ImageRecord } from '../features/pictures/images.js';
import type { BotContext } from './context.js';

/**
 * Nothing crosses from one server to another. An id in a custom_id, an option or a link names a
 * record but proves nothing: only records of the server the interaction came from are reachable,
 * and another server's are treated exactly like unknown ones (their existence is not revealed).
 */
export function inThisServer(record: { guildId?: string }, place: { guildId: string | null }): boolean {
  return (record.guildId ?? null) === (place.guildId ?? null);
}

/** The picture with this id, if it was made in this server; otherwise undefined, as for an unknown id. */
export async function imageOfThisServer(ctx: BotContext, imageId: string, place: { guildId: string | null }): Promise<ImageRecord | undefined> {
  const image = await ctx.images.getRecord(imageId);
  return image && inThisServer(image, place) ? image : undefined;
}
