import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Database } from '../../db/connection.js';
import type { GenerationKind, NewRow } from '../../db/schema.js';
import { generationKinds } from '../../queues.js';
import { jobRecordSchema } from '../../store/jobs.js';
import { rememberNames } from '../lineage/store.js';
import { imageStorageKey } from './store.js';

/**
 * Copies what version 0.1 kept about pictures in Redis into PostgreSQL: job records (as
 * requests), image records, the lineage children index, which message shows which pictures, and
 * display names. Redis is only read. Idempotent: rows already there are left alone, so a second
 * run copies nothing (counted as `present`). The bytes stay where they are: the folder layout of
 * 0.1 is the storage key layout (`imageStorageKey`).
 */
export interface PictureCopyReport {
  requests: { copied: number; present: number; invalid: string[] };
  images: { copied: number; present: number; invalid: string[] };
  /** Child links (remix → parent) from the lineage index that the image rows did not have yet. */
  children: { copied: number; present: number };
  /** Pictures given the message they are shown in. */
  messages: { copied: number; present: number };
  names: { copied: number; present: number };
}

const imageSchema = z.object({
  id: z.string().min(1).max(200),
  jobId: z.string(),
  index: z.coerce.number().int().min(1).max(4),
  kind: z.enum([...generationKinds, 'upload']),
  prompt: z.string().default(''),
  negative: z.string().optional(),
  seed: z.coerce.number().optional(),
  model: z.string().optional(),
  aspect: z.string().optional(),
  width: z.coerce.number().int().positive(),
  height: z.coerce.number().int().positive(),
  contentType: z.string().default('image/png'),
  userId: z.string(),
  guildId: z.string().optional(),
  channelId: z.string(),
  messageId: z.string().optional(),
  parentId: z.string().optional(),
  createdAt: z.coerce.number(),
  attachmentUrl: z.string().optional(),
  deletedAt: z.coerce.number().optional(),
  deletedBy: z.string().optional(),
  nsfw: z.enum(['true', 'false']).optional(),
});
type OldImage = z.infer<typeof imageSchema>;

/** Keys `prefix:kind:<id>` (no further `:`), a page at a time. */
async function* recordKeys(redis: Redis, prefix: string, kind: string): AsyncGenerator<Array<{ key: string; id: string }>> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:${kind}:*`, 'COUNT', 500);
    cursor = next;
    const page = keys.map((key) => ({ key, id: key.slice(`${prefix}:${kind}:`.length) })).filter(({ id }) => id && !id.includes(':'));
    if (page.length > 0) yield page;
  } while (cursor !== '0');
}

async function hashes(redis: Redis, keys: readonly string[]): Promise<Array<Record<string, string>>> {
  const pipeline = redis.pipeline();
  for (const key of keys) pipeline.hgetall(key);
  return ((await pipeline.exec()) ?? []).map(([, value]) => (value ?? {}) as Record<string, string>);
}

const text = (value: string | undefined, max = 4000) => (value === undefined ? null : value.slice(0, max));
const anonymous = (userId: string) => (userId === 'deleted' ? null : userId);

export async function copyPicturesFromRedis(redis: Redis, prefix: string, db: Database): Promise<PictureCopyReport> {
  const report: PictureCopyReport = {
    requests: { copied: 0, present: 0, invalid: [] },
    images: { copied: 0, present: 0, invalid: [] },
    children: { copied: 0, present: 0 },
    messages: { copied: 0, present: 0 },
    names: { copied: 0, present: 0 },
  };
  const parents = new Map<string, string>();

  // Requests first: pictures point at them. Their parent picture is linked once pictures are in.
  for await (const page of recordKeys(redis, prefix, 'job')) {
    const rows: Array<NewRow<'requests'>> = [];
    for (const [i, raw] of (
      await hashes(
        redis,
        page.map((p) => p.key),
      )
    ).entries()) {
      const parsed = jobRecordSchema.safeParse({ ...raw, interactionToken: undefined });
      if (!parsed.success) {
        if (raw.status) report.requests.invalid.push(page[i]!.id);
        continue;
      }
      const job = parsed.data;
      if (job.parentImageId) parents.set(job.id, job.parentImageId);
      rows.push({
        id: job.id,
        kind: job.kind,
        status: job.status,
        prompt: text(job.prompt) ?? '',
        negative: text(job.negative),
        aspect: job.aspect,
        seed: job.seed,
        image_count: Math.min(Math.max(job.count, 1), 4),
        model: job.model,
        user_id: anonymous(job.userId),
        guild_id: job.guildId ?? null,
        channel_id: job.channelId,
        strength: job.strength ?? null,
        error: text(job.error, 500),
        error_kind: job.errorKind ?? null,
        cancelled_by: job.cancelledBy ?? null,
        result_channel_id: job.resultChannelId ?? null,
        result_message_id: job.resultMessageId ?? null,
        created_at: new Date(job.createdAt),
        started_at: job.startedAt ? new Date(job.startedAt) : null,
        finished_at: job.finishedAt ? new Date(job.finishedAt) : null,
      });
    }
    if (rows.length === 0) continue;
    const inserted = await db
      .insertInto('requests')
      .values(rows)
      .onConflict((c) => c.column('id').doNothing())
      .returning('id')
      .execute();
    report.requests.copied += inserted.length;
    report.requests.present += rows.length - inserted.length;
  }

  // Pictures: without their parent first (a parent may come in a later page), linked afterwards.
  for await (const page of recordKeys(redis, prefix, 'image')) {
    const images: OldImage[] = [];
    for (const [i, raw] of (
      await hashes(
        redis,
        page.map((p) => p.key),
      )
    ).entries()) {
      const parsed = imageSchema.safeParse(raw);
      if (parsed.success) images.push(parsed.data);
      else if (raw.id) report.images.invalid.push(page[i]!.id);
    }
    if (images.length === 0) continue;
    // A picture whose job record expired (0.1 kept those 90 days) gets its request back from the picture.
    const generated = images.filter((image) => image.kind !== 'upload');
    const known = new Set(
      generated.length === 0
        ? []
        : (
            await db
              .selectFrom('requests')
              .select('id')
              .where(
                'id',
                'in',
                generated.map((image) => image.jobId),
              )
              .execute()
          ).map((row) => row.id),
    );
    const missing = new Map<string, NewRow<'requests'>>();
    for (const image of generated) {
      if (known.has(image.jobId) || missing.has(image.jobId)) continue;
      missing.set(image.jobId, {
        id: image.jobId,
        kind: image.kind as GenerationKind,
        status: 'delivered',
        prompt: image.deletedAt && !image.prompt ? null : text(image.prompt),
        negative: text(image.negative),
        aspect: image.aspect ?? '1:1',
        seed: image.seed ?? 0,
        image_count: 1,
        model: image.model ?? 'unknown',
        user_id: anonymous(image.userId),
        guild_id: image.guildId ?? null,
        channel_id: image.channelId,
        result_channel_id: image.messageId ? image.channelId : null,
        result_message_id: image.messageId ?? null,
        created_at: new Date(image.createdAt),
        finished_at: new Date(image.createdAt),
        deleted_at: image.deletedAt && !image.prompt ? new Date(image.deletedAt) : null,
      });
    }
    if (missing.size > 0)
      await db
        .insertInto('requests')
        .values([...missing.values()])
        .onConflict((c) => c.column('id').doNothing())
        .execute();
    const rows: Array<NewRow<'images'>> = images.map((image) => {
      if (image.parentId) parents.set(`image:${image.id}`, image.parentId);
      const deleted = image.deletedAt !== undefined;
      return {
        id: image.id,
        request_id: image.kind === 'upload' ? null : image.jobId,
        position: image.index - 1,
        kind: image.kind,
        prompt: deleted && !image.prompt ? null : text(image.prompt),
        negative: text(image.negative),
        seed: image.seed ?? null,
        model: image.model ?? null,
        aspect: image.aspect ?? null,
        width: image.width,
        height: image.height,
        content_type: image.contentType,
        storage_key: deleted ? null : imageStorageKey(image.id),
        user_id: anonymous(image.userId),
        guild_id: image.guildId ?? null,
        channel_id: image.channelId,
        message_id: image.messageId ?? null,
        attachment_url: deleted ? null : (image.attachmentUrl ?? null),
        age_restricted: image.nsfw === 'true',
        created_at: new Date(image.createdAt),
        deleted_at: deleted ? new Date(image.deletedAt!) : null,
        deleted_by: image.deletedBy ?? null,
      };
    });
    const inserted = await db
      .insertInto('images')
      .values(rows)
      .onConflict((c) => c.column('id').doNothing())
      .returning('id')
      .execute();
    report.images.copied += inserted.length;
    report.images.present += rows.length - inserted.length;
  }

  // Parents, now that every picture is in: of pictures, then of requests.
  for (const [from, parentId] of parents) {
    if (from.startsWith('image:')) {
      await db
        .updateTable('images')
        .set({ parent_id: parentId })
        .where('id', '=', from.slice('image:'.length))
        .where('parent_id', 'is', null)
        .where(({ exists, selectFrom }) => exists(selectFrom('images as p').select('p.id').where('p.id', '=', parentId)))
        .execute();
    } else {
      await db
        .updateTable('requests')
        .set({ parent_image_id: parentId })
        .where('id', '=', from)
        .where('parent_image_id', 'is', null)
        .where(({ exists, selectFrom }) => exists(selectFrom('images').select('images.id').where('images.id', '=', parentId)))
        .execute();
    }
  }

  // The children index: a child set hangs below its parent (already true unless 0.1 lost the field).
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:lineage:*:children`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const parentId = key.slice(`${prefix}:lineage:`.length, -':children'.length);
      for (const childId of await redis.zrange(key, 0, '-1')) {
        const linked = await db
          .updateTable('images')
          .set({ parent_id: parentId })
          .where('id', '=', childId)
          .where('parent_id', 'is', null)
          .where(({ exists, selectFrom }) => exists(selectFrom('images as p').select('p.id').where('p.id', '=', parentId)))
          .executeTakeFirst();
        report.children[Number(linked.numUpdatedRows) > 0 ? 'copied' : 'present'] += 1;
      }
    }
  } while (cursor !== '0');

  // Which message shows which pictures.
  cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:message:*:images`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const messageId = key.slice(`${prefix}:message:`.length, -':images'.length);
      let ids: unknown;
      try {
        ids = JSON.parse((await redis.get(key)) ?? '[]');
      } catch {
        ids = [];
      }
      if (!Array.isArray(ids) || !/^\d{15,20}$/.test(messageId)) continue;
      for (const id of ids.filter((value): value is string => typeof value === 'string')) {
        const set = await db
          .updateTable('images')
          .set({ message_id: messageId })
          .where('id', '=', id)
          .where('message_id', 'is', null)
          .executeTakeFirst();
        report.messages[Number(set.numUpdatedRows) > 0 ? 'copied' : 'present'] += 1;
      }
    }
  } while (cursor !== '0');

  // Display names: the database's (newer) name wins.
  const names = Object.entries(await redis.hgetall(`${prefix}:names`)).filter(([userId, name]) => /^\d{15,20}$/.test(userId) && name.trim());
  if (names.length > 0) {
    const present = new Set(
      (
        await db
          .selectFrom('member_names')
          .select('user_id')
          .where(
            'user_id',
            'in',
            names.map(([userId]) => userId),
          )
          .execute()
      ).map((row) => row.user_id),
    );
    const fresh = names.filter(([userId]) => !present.has(userId));
    await rememberNames(
      db,
      fresh.map(([userId, name]) => ({ userId, name })),
    );
    report.names.copied += fresh.length;
    report.names.present += names.length - fresh.length;
  }
  return report;
}

export function describePictureCopy(report: PictureCopyReport): string {
  const invalid = (list: string[]) => (list.length ? `, ${list.length} not readable (left in Redis): ${list.slice(0, 20).join(', ')}` : '');
  return [
    `requests: ${report.requests.copied} copied, ${report.requests.present} already in the database${invalid(report.requests.invalid)}`,
    `pictures: ${report.images.copied} copied, ${report.images.present} already in the database${invalid(report.images.invalid)}`,
    `family links: ${report.children.copied} copied, ${report.children.present} already in the database`,
    `message links: ${report.messages.copied} copied, ${report.messages.present} already in the database`,
    `display names: ${report.names.copied} copied, ${report.names.present} already in the database`,
  ].join('\n');
}
