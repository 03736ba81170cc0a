import sharp from 'sharp';
import type { ImageStorage } from '../../storage/storage.js';
import { thumbnailKey } from '../pictures/store.js';

/** Long side of a gallery thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 400;

/**
 * A picture's WebP thumbnail: read from the image storage, or made from the full picture and
 * kept there the first time it is asked for. Concurrent first requests share one resize.
 */
export class Thumbnails {
  private readonly making = new Map<string, Promise<Buffer | undefined>>();

  constructor(private readonly storage: ImageStorage) {}

  async get(storageKey: string): Promise<Buffer | undefined> {
    const key = thumbnailKey(storageKey);
    const stored = await this.storage.get(key);
    if (stored) return stored.body;
    let pending = this.making.get(key);
    if (!pending) {
      pending = this.make(storageKey, key).finally(() => this.making.delete(key));
      this.making.set(key, pending);
    }
    return pending;
  }

  private async make(storageKey: string, key: string): Promise<Buffer | undefined> {
    const original = await this.storage.get(storageKey);
    if (!original) return undefined;
    const thumbnail = await sharp(original.body)
      .rotate()
      .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 78 })
      .toBuffer();
    await this.storage.put(key, thumbnail, 'image/webp');
    return thumbnail;
  }
}
