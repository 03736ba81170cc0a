import type { Redis } from 'ioredis';
import type { Transaction } from 'kysely';
import { z } from 'zod';
import type { Database } from '../../db/connection.js';
import type { DB } from '../../db/schema.js';
import { imageStorageKey } from '../pictures/store.js';
import { DELETED_MEMBER, SERIES_PANELS_MAX, SERIES_PANELS_MIN, seriesModes, seriesStatuses } from './store.js';

/**
 * Version 0.1 kept series in Redis (under the installation's prefix):
 *   series:<id>           hash: the series itself
 *   series:<id>:order     list of panel ids, in reading order (panel number = index + 1)
 *   series:<id>:panels    hash: panel id → panel JSON
 *   series:<id>:turns     list of member ids who joined the turn order (relay)
 *   series:<id>:owed      hash: panel id → '1'/'0' (picture already in the thread) of panels
 *                         whose announcement was not posted yet
 * (series-thread:<id>, series-pending:<job>, guild:<id>:series and user:<id>:series were indexes
 * of these, rebuilt here by the tables' own indexes.)
 */
const numeric = z.coerce.number();
const legacySeriesSchema = z.object({
  id: z.string().regex(/^\d{1,20}$/),
  guildId: z.string().regex(/^\d{1,20}$/),
  channelId: z.string().regex(/^\d{1,20}$/),
  threadId: z.string().regex(/^\d{1,20}$/),
  title: z.string().min(1).max(100),
  mode: z.enum(seriesModes),
  panelCount: numeric.pipe(z.number().int().min(SERIES_PANELS_MIN).max(SERIES_PANELS_MAX)),
  style: z.string().max(500).optional(),
  seed: numeric.optional(),
  creatorId: z.string(),
  status: z.enum(seriesStatuses),
  createdAt: numeric,
  completedAt: numeric.optional(),
  turn: numeric.pipe(z.number().int().min(0)).default(0),
  lastUserId: z.string().optional(),
  completionOwed: z.string().optional(),
  completionMessageId: z.string().optional(),
  revealMessageId: z.string().optional(),
});

const legacyPanelSchema = z.object({
  id: z.string().min(1),
  userId: z.string(),
  userName: z.string(),
  prompt: z.string(),
  imageId: z.string().optional(),
  jobId: z.string().optional(),
  seed: z.number().optional(),
  createdAt: z.number(),
  prevLastUserId: z.string().optional(),
  turnAfter: z.number().int().min(1).optional(),
});
type LegacyPanel = z.infer<typeof legacyPanelSchema>;

/** The live record 0.1 kept of a picture (enough to write its archive row when none exists yet). */
const legacyImageSchema = z.object({
  id: z.string(),
  jobId: z.string(),
  index: numeric,
  kind: z.enum(['txt2img', 'img2img', 'variation', 'upscale', 'upload']),
  prompt: z.string(),
  negative: z.string().optional(),
  seed: numeric,
  model: z.string(),
  aspect: z.string(),
  width: numeric,
  height: numeric,
  contentType: z.string(),
  userId: z.string(),
  guildId: z.string().optional(),
  channelId: z.string(),
  messageId: z.string().optional(),
  attachmentUrl: z.string().optional(),
  createdAt: numeric,
  deletedAt: numeric.optional(),
  deletedBy: z.string().optional(),
  nsfw: z.enum(['true', 'false']).optional(),
});

export interface SeriesCopyCounts {
  copied: number;
  /** Already in the database (copied by an earlier run): left as they are. */
  present: number;
  invalid: string[];
  /** Panels of the copied series. */
  panels: number;
  /** Panels left out because their picture is known neither to the archive nor to Redis. */
  missingPictures: number;
}

const member = (id: string | undefined): string | null => (!id || id === DELETED_MEMBER ? null : id);

/**
 * Copies 0.1's series, each in one transaction with its panels and turn order, so a series is
 * either copied whole or not at all. Idempotent: a series already in the database is left alone.
 * A panel's picture gets its archive row from the picture's Redis record when the pictures have
 * not been copied yet (a row copied before is left as it is).
 */
export async function copySeriesFromRedis(redis: Redis, prefix: string, db: Database): Promise<SeriesCopyCounts> {
  const counts: SeriesCopyCounts = { copied: 0, present: 0, invalid: [], panels: 0, missingPictures: 0 };
  const pattern = new RegExp(`^${prefix}:series:(\\d{1,20})$`);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:series:*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const id = pattern.exec(key)?.[1];
      if (!id) continue;
      const outcome = await copyOne(redis, `${prefix}:series:${id}`, prefix, db).catch(() => 'invalid' as const);
      if (outcome === 'invalid') counts.invalid.push(id);
      else if (outcome === 'present') counts.present += 1;
      else {
        counts.copied += 1;
        counts.panels += outcome.panels;
        counts.missingPictures += outcome.missingPictures;
      }
    }
  } while (cursor !== '0');
  counts.invalid.sort();
  return counts;
}

async function copyOne(
  redis: Redis,
  key: string,
  prefix: string,
  db: Database,
): Promise<'invalid' | 'present' | { panels: number; missingPictures: number }> {
  const parsed = legacySeriesSchema.safeParse(await redis.hgetall(key));
  if (!parsed.success) return 'invalid';
  const series = parsed.data;
  const [order, rawPanels, turns, owed] = await Promise.all([
    redis.lrange(`${key}:order`, 0, -1),
    redis.hgetall(`${key}:panels`),
    redis.lrange(`${key}:turns`, 0, -1),
    redis.hgetall(`${key}:owed`),
  ]);
  const panels: LegacyPanel[] = [];
  for (const panelId of order) {
    const raw = rawPanels[panelId];
    if (!raw) continue;
    const panel = legacyPanelSchema.safeParse(JSON.parse(raw));
    if (!panel.success) return 'invalid';
    panels.push(panel.data);
  }
  if (panels.length > series.panelCount) return 'invalid';

  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('series')
      .values({
        id: series.id,
        guild_id: series.guildId,
        channel_id: series.channelId,
        thread_id: series.threadId,
        title: series.title,
        mode: series.mode,
        max_panels: series.panelCount,
        panel_count: 0,
        style: series.style ?? null,
        seed: series.seed ?? null,
        creator_id: member(series.creatorId),
        status: series.status,
        turn: series.turn,
        last_user_id: member(series.lastUserId),
        created_at: new Date(series.createdAt),
        completed_at: series.completedAt === undefined ? null : new Date(series.completedAt),
        completion_owed: series.completionOwed === '1',
        completion_message_id: series.completionMessageId ?? null,
        reveal_message_id: series.revealMessageId ?? null,
      })
      .onConflict((conflict) => conflict.column('id').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) return 'present' as const;

    const turnOrder = [...new Set(turns)];
    if (turnOrder.length > 0) {
      await trx
        .insertInto('series_members')
        .values(turnOrder.map((userId, slot) => ({ series_id: series.id, user_id: userId, turn_slot: slot })))
        .execute();
    }
    let number = 0;
    let missingPictures = 0;
    for (const panel of panels) {
      const imageId = panel.imageId ? await archivedPicture(redis, prefix, trx, panel.imageId) : null;
      if (panel.imageId && !imageId) {
        missingPictures += 1;
        continue;
      }
      const requestId = panel.jobId ? await existingRequest(trx, panel.jobId) : null;
      number += 1;
      const gone = member(panel.userId) === null;
      await trx
        .insertInto('series_panels')
        .values({
          id: panel.id,
          series_id: series.id,
          number,
          user_id: member(panel.userId),
          user_name: gone ? null : panel.userName.slice(0, 64) || null,
          prompt: gone || !panel.prompt ? null : panel.prompt.slice(0, 4000),
          request_id: requestId,
          image_id: imageId,
          seed: panel.seed ?? null,
          created_at: new Date(panel.createdAt),
          announce_owed: imageId !== null && owed[panel.id] !== undefined,
          in_thread: owed[panel.id] === '1',
          prev_last_user_id: imageId === null ? member(panel.prevLastUserId) : null,
          turn_after: imageId === null ? (panel.turnAfter ?? null) : null,
        })
        .execute();
    }
    await trx.updateTable('series').set({ panel_count: number }).where('id', '=', series.id).execute();
    return { panels: number, missingPictures };
  });
}

type Executor = Transaction<DB>;

async function existingRequest(trx: Executor, requestId: string): Promise<string | null> {
  const row = await trx.selectFrom('requests').select('id').where('id', '=', requestId).executeTakeFirst();
  return row?.id ?? null;
}

/**
 * The picture's archive row, written from its Redis record when there is none yet (its family
 * link is left to the pictures' own copy); null when the picture is unknown to both.
 */
async function archivedPicture(redis: Redis, prefix: string, trx: Executor, imageId: string): Promise<string | null> {
  const row = await trx.selectFrom('images').select('id').where('id', '=', imageId).executeTakeFirst();
  if (row) return row.id;
  const parsed = legacyImageSchema.safeParse(await redis.hgetall(`${prefix}:image:${imageId}`));
  if (!parsed.success) return null;
  const image = parsed.data;
  const deleted = image.deletedAt !== undefined;
  const anonymous = member(image.userId) === null;
  await trx
    .insertInto('images')
    .values({
      id: image.id,
      request_id: image.kind === 'upload' ? null : await existingRequest(trx, image.jobId),
      position: Math.max(0, Math.min(3, image.index - 1)),
      kind: image.kind,
      prompt: deleted && !image.prompt ? null : image.prompt,
      negative: anonymous ? null : (image.negative ?? null),
      seed: image.seed,
      model: image.model,
      aspect: image.aspect,
      width: image.width,
      height: image.height,
      content_type: image.contentType,
      storage_key: deleted ? null : imageStorageKey(image.id),
      user_id: member(image.userId),
      guild_id: image.guildId ?? null,
      channel_id: image.channelId,
      message_id: image.messageId ?? null,
      attachment_url: deleted ? null : (image.attachmentUrl ?? null),
      age_restricted: image.nsfw === 'true',
      created_at: new Date(image.createdAt),
      deleted_at: deleted ? new Date(image.deletedAt!) : null,
      deleted_by: image.deletedBy ?? null,
    })
    .onConflict((conflict) => conflict.column('id').doNothing())
    .execute();
  return image.id;
}
