import type { BotContext } from '../../bot/context.js';
import type { Database } from '../../db/connection.js';
import type { ImageRecord } from '../pictures/images.js';

/** The first picture of each result, as /top and /profile show it: from the archive in PostgreSQL. */
export async function firstPictures(ctx: BotContext, jobIds: readonly string[]): Promise<Map<string, ImageRecord>> {
  return archivedFirstPictures(ctx.db, jobIds);
}

/** The first picture of each result, from the archive alone (one query on images' (request_id, position) key). */
export async function archivedFirstPictures(db: Database, jobIds: readonly string[]): Promise<Map<string, ImageRecord>> {
  const found = new Map<string, ImageRecord>();
  if (jobIds.length === 0) return found;
  const rows = await db
    .selectFrom('images')
    .selectAll()
    .where('request_id', 'in', [...jobIds])
    .where('position', '=', 0)
    .execute();
  for (const row of rows) {
    found.set(row.request_id!, {
      id: row.id,
      jobId: row.request_id!,
      index: row.position + 1,
      kind: row.kind,
      prompt: row.prompt ?? '',
      negative: row.negative ?? undefined,
      seed: row.seed ?? 0,
      model: row.model ?? '',
      aspect: row.aspect ?? '',
      width: row.width,
      height: row.height,
      contentType: row.content_type,
      userId: row.user_id ?? '',
      guildId: row.guild_id ?? undefined,
      channelId: row.channel_id,
      messageId: row.message_id ?? undefined,
      parentId: row.parent_id ?? undefined,
      createdAt: row.created_at.getTime(),
      attachmentUrl: row.attachment_url ?? undefined,
      deletedAt: row.deleted_at?.getTime(),
      deletedBy: row.deleted_by ?? undefined,
      nsfw: row.age_restricted,
    });
  }
  return found;
}
