import type { BotContext } from '../../bot/context.js';
import type { Database } from '../../db/connection.js';
import { toImageRecord, type ImageRecord } from '../pictures/images.js';

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
    found.set(row.request_id!, toImageRecord(row));
  }
  return found;
}
