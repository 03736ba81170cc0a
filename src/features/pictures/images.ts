import type { Redis } from 'ioredis';
import type { Database } from '../../db/connection.js';
import type { Row } from '../../db/schema.js';
import { contentTypeOfKey, type ImageStorage } from '../../storage/index.js';
import { FORMER_MEMBER, imageStorageKey, recordImages, thumbnailKey, type ArchivedImage } from './store.js';

/**
 * A picture as features see it. Its lasting record is the `images` row in PostgreSQL (written by
 * the bot once the picture reached Discord, or when a member's upload became a family root); its
 * bytes are in image storage under `imageStorageKey(id)`.
 */
export interface ImageRecord {
  id: string;
  /** The request that made it; for a member's upload, the message it was posted in. */
  jobId: string;
  /** 1-based place in its request's set. */
  index: number;
  kind: string;
  prompt: string;
  negative?: string;
  seed: number;
  model: string;
  aspect: string;
  width: number;
  height: number;
  contentType: string;
  /** 'deleted' once its author erased their data (/privacy): the picture stays as an anonymous tombstone. */
  userId: string;
  guildId?: string;
  channelId: string;
  messageId?: string;
  parentId?: string;
  createdAt: number;
  attachmentUrl?: string;
  /** Set when the author or a moderator deleted the picture: the record stays as a tombstone in its family tree. */
  deletedAt?: number;
  deletedBy?: string;
  /** Made in an age-restricted channel (or from such a picture): shown only in age-restricted channels. */
  nsfw?: boolean;
}

/**
 * Transfer blobs outlive a Discord outage; delivery deletes them as soon as the bot holds the
 * bytes. They are the only image bytes Redis ever carries.
 */
const BLOB_TTL_SECONDS = 3 * 24 * 3600;

/**
 * Image bytes, wherever they are: image storage (a folder or a bucket, shared by bot, workers and
 * web), and, for a worker whose folder the bot cannot read, a transfer blob in Redis with a TTL.
 * Needs no database, so GPU workers use it as it is.
 */
export class ImageBytes {
  constructor(
    readonly storage: ImageStorage,
    protected readonly redis: Redis,
    protected readonly prefix: string,
  ) {}

  private blobKey(id: string) {
    return `${this.prefix}:blob:${id}`;
  }

  /** Writes the picture's bytes to image storage (atomically: readers never see half of them). */
  async writeFile(id: string, data: Buffer): Promise<void> {
    const key = imageStorageKey(id);
    await this.storage.put(key, data, contentTypeOfKey(key));
  }

  async readFile(id: string): Promise<Buffer | undefined> {
    return (await this.storage.get(imageStorageKey(id)))?.body;
  }

  /**
   * Removes the picture's bytes from storage, its web thumbnail if one was made, and any transfer
   * blob (a deleted picture's bytes are not kept, not even small).
   */
  async deleteBytes(ids: readonly string[]): Promise<void> {
    const keys = ids.map(imageStorageKey);
    await Promise.all([...keys, ...keys.map(thumbnailKey)].map((key) => this.storage.delete(key)));
    await this.deleteBlobs(ids);
  }

  async putBlob(id: string, data: Buffer): Promise<void> {
    await this.redis.set(this.blobKey(id), data, 'EX', BLOB_TTL_SECONDS);
  }

  async getBlob(id: string): Promise<Buffer | undefined> {
    return (await this.redis.getBuffer(this.blobKey(id))) ?? undefined;
  }

  async deleteBlobs(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.del(...ids.map((id) => this.blobKey(id)));
  }

  /** The image's bytes from storage, or in transit in Redis. */
  async bytes(id: string): Promise<Buffer | undefined> {
    return (await this.readFile(id)) ?? (await this.getBlob(id));
  }
}

/** The bot's view of pictures: records from PostgreSQL, bytes as above. */
export class ImageStore extends ImageBytes {
  constructor(
    private readonly db: Database,
    storage: ImageStorage,
    redis: Redis,
    prefix: string,
  ) {
    super(storage, redis, prefix);
  }

  async getRecord(id: string): Promise<ImageRecord | undefined> {
    const row = await this.db.selectFrom('images').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toImageRecord(row) : undefined;
  }

  /** Several records at once, in the order asked for (unknown ids are left out). */
  async getRecords(ids: readonly string[]): Promise<ImageRecord[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('images')
      .selectAll()
      .where('id', 'in', [...ids])
      .execute();
    const byId = new Map(rows.map((row) => [row.id, toImageRecord(row)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /**
   * Records a picture outside delivery: a member's upload that became a family root (no request),
   * or, for tests and imports, a generation's picture whose request row exists.
   */
  async saveRecord(record: ImageRecord): Promise<void> {
    const upload = record.kind === 'upload';
    await recordImages(this.db, [
      {
        ...record,
        kind: upload ? 'upload' : (record.kind as ArchivedImage['kind']),
        requestId: upload ? undefined : record.jobId,
      },
    ]);
  }

  /**
   * Deletes pictures but keeps their place: the rows stay as tombstones (family trees and series
   * still show where they stood), the bytes go (storage, transfer blob, and the CDN link that
   * could bring them back). `anonymous` also erases who made them and the prompt, for /privacy.
   * Returns the ids that were tombstoned by this call.
   */
  async tombstone(ids: string | readonly string[], by: string, now: number, anonymous = false): Promise<string[]> {
    const list = typeof ids === 'string' ? [ids] : [...ids];
    if (list.length === 0) return [];
    const changed = await this.db
      .updateTable('images')
      .set((eb) => ({
        deleted_at: eb.fn.coalesce('deleted_at', eb.val(new Date(now))),
        deleted_by: eb.fn.coalesce('deleted_by', eb.val(anonymous ? 'privacy' : by)),
        attachment_url: null,
        storage_key: null,
        ...(anonymous ? { user_id: null, prompt: null, negative: null } : {}),
      }))
      .where('id', 'in', list)
      .returning('id')
      .execute();
    await this.deleteBytes(list);
    return changed.map((row) => row.id);
  }
}

export function toImageRecord(row: Row<'images'>): ImageRecord {
  return {
    id: row.id,
    jobId: row.request_id ?? row.message_id ?? row.id,
    index: row.position + 1,
    kind: row.kind,
    prompt: row.prompt ?? '',
    negative: row.negative ?? undefined,
    seed: row.seed ?? 0,
    model: row.model ?? (row.kind === 'upload' ? 'upload' : ''),
    aspect: row.aspect ?? '1:1',
    width: row.width,
    height: row.height,
    contentType: row.content_type,
    userId: row.user_id ?? FORMER_MEMBER,
    guildId: row.guild_id ?? undefined,
    channelId: row.channel_id,
    messageId: row.message_id ?? undefined,
    parentId: row.parent_id ?? undefined,
    createdAt: row.created_at.getTime(),
    attachmentUrl: row.attachment_url ?? undefined,
    deletedAt: row.deleted_at?.getTime(),
    deletedBy: row.deleted_by ?? undefined,
    nsfw: row.age_restricted,
  };
}
