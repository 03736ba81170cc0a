import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Redis } from 'ioredis';
import { z } from 'zod';

/**
 * Images: metadata in Redis (forever: lineage and buttons depend on it), bytes in a folder.
 * Redis holds image bytes only while they travel from a worker to the bot ("blobs", with a TTL
 * and deleted after delivery), because workers may run on other machines than the bot.
 */
export const imageRecordSchema = z.object({
  id: z.string(),
  jobId: z.string(),
  index: z.coerce.number(),
  kind: z.string(),
  prompt: z.string(),
  negative: z.string().optional(),
  seed: z.coerce.number(),
  model: z.string(),
  aspect: z.string(),
  width: z.coerce.number(),
  height: z.coerce.number(),
  contentType: z.string(),
  userId: z.string(),
  guildId: z.string().optional(),
  channelId: z.string(),
  messageId: z.string().optional(),
  parentId: z.string().optional(),
  createdAt: z.coerce.number(),
  attachmentUrl: z.string().optional(),
  /** Set when the author or a moderator deleted the picture: the record stays as a tombstone in its family tree. */
  deletedAt: z.coerce.number().optional(),
  deletedBy: z.string().optional(),
  /**
   * Made in an age-restricted channel (or from such a picture): shown only in age-restricted
   * channels. Absent on records written before the flag existed (see AgeRestriction.picture).
   */
  nsfw: z
    .enum(['true', 'false'])
    .transform((flag) => flag === 'true')
    .optional(),
});
export type ImageRecord = z.infer<typeof imageRecordSchema>;

/** Long enough to ride out a Discord outage; delivery deletes them as soon as it is done. */
const BLOB_TTL_SECONDS = 3 * 24 * 3600;

export class ImageStore {
  readonly dir: string;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    dir: string,
  ) {
    this.dir = resolve(dir);
  }

  private recordKey(id: string) {
    return `${this.prefix}:image:${id}`;
  }

  private blobKey(id: string) {
    return `${this.prefix}:blob:${id}`;
  }

  private filePath(id: string) {
    // Two levels of fan-out keep folders small on servers that make millions of images.
    return join(this.dir, id.slice(-2), `${id}.png`);
  }

  async saveRecord(record: ImageRecord): Promise<void> {
    const fields: string[] = [];
    for (const [key, value] of Object.entries(record)) if (value !== undefined) fields.push(key, String(value));
    await this.redis.hset(this.recordKey(record.id), fields);
  }

  async updateRecord(id: string, values: Partial<ImageRecord>): Promise<void> {
    const fields: string[] = [];
    for (const [key, value] of Object.entries(values)) if (value !== undefined) fields.push(key, String(value));
    if (fields.length > 0) await this.redis.hset(this.recordKey(id), fields);
  }

  /**
   * Deletes a picture but keeps its place: the record stays as a tombstone (family trees and series
   * still show where it stood), the bytes go (file, transfer blob, and the CDN link that could bring
   * them back). `anonymous` also erases who made it and the prompt, for /privacy.
   */
  async tombstone(id: string, by: string, now: number, anonymous = false): Promise<void> {
    const key = this.recordKey(id);
    const fields = ['deletedAt', String(now), 'deletedBy', anonymous ? 'privacy' : by];
    if (anonymous) fields.push('userId', 'deleted', 'prompt', '');
    await this.redis
      .multi()
      .hset(key, fields)
      .hdel(key, 'attachmentUrl', ...(anonymous ? ['negative'] : []))
      .del(this.blobKey(id))
      .exec();
    await this.deleteFile(id);
  }

  async getRecord(id: string): Promise<ImageRecord | undefined> {
    const raw = await this.redis.hgetall(this.recordKey(id));
    if (!raw.id) return undefined;
    return imageRecordSchema.parse(raw);
  }

  /** Writes the file atomically (temp + rename), so a crash never leaves half an image. */
  async writeFile(id: string, data: Buffer): Promise<void> {
    const path = this.filePath(id);
    await mkdir(dirname(path), { recursive: true });
    const temp = `${path}.${process.pid}.tmp`;
    await writeFile(temp, data);
    await rename(temp, path);
  }

  /** Removes this machine's copy of the picture (a deleted picture's bytes are not kept). */
  async deleteFile(id: string): Promise<void> {
    await rm(this.filePath(id), { force: true });
  }

  async readFile(id: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.filePath(id));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async putBlob(id: string, data: Buffer): Promise<void> {
    await this.redis.set(this.blobKey(id), data, 'EX', BLOB_TTL_SECONDS);
  }

  async getBlob(id: string): Promise<Buffer | undefined> {
    return (await this.redis.getBuffer(this.blobKey(id))) ?? undefined;
  }

  async deleteBlobs(ids: string[]): Promise<void> {
    if (ids.length > 0) await this.redis.del(...ids.map((id) => this.blobKey(id)));
  }

  /** The image's bytes from wherever they are: this machine's folder, or in transit in Redis. */
  async bytes(id: string): Promise<Buffer | undefined> {
    return (await this.readFile(id)) ?? (await this.getBlob(id));
  }
}
