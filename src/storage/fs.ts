import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { assertValidKey, assertValidPrefix, contentTypeOfKey, InvalidKeyError, type ImageStorage, type StoredObject } from './storage.js';

/**
 * Image bytes as files under one folder (IMAGE_STORE_DIR). A file has no room for a content
 * type, so it follows from the key's extension, and put refuses a type that disagrees with it:
 * the same key then reads back with the same type on disk and in a bucket.
 */
export class FsImageStorage implements ImageStorage {
  readonly kind = 'fs' as const;
  readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  /** The file behind a key; never outside the root, whatever the key. */
  private pathOf(key: string): string {
    assertValidKey(key);
    const path = resolve(this.root, ...key.split('/'));
    if (!path.startsWith(this.root + sep)) throw new InvalidKeyError('storage key leaves the storage folder');
    return path;
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    const path = this.pathOf(key);
    const expected = contentTypeOfKey(key);
    if (contentType !== expected) {
      throw new InvalidKeyError(`storage key ${key} holds ${expected}, not ${contentType}: give it the matching extension`);
    }
    // Written beside the target under a name no key can have (keys never start with a dot), made
    // durable, then renamed over it: readers see the old file or the new one, never half of it.
    const temporary = join(dirname(path), `.${randomUUID()}.partial`);
    // The folder usually exists already (pictures share a few): it is made only when missing.
    const handle = await open(temporary, 'wx').catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      await mkdir(dirname(path), { recursive: true });
      return open(temporary, 'wx');
    });
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await rename(temporary, path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async head(key: string): Promise<StoredObject | undefined> {
    const stats = await stat(this.pathOf(key)).catch(missing);
    if (!stats?.isFile()) return undefined;
    return { key, size: stats.size, contentType: contentTypeOfKey(key) };
  }

  async get(key: string): Promise<(StoredObject & { body: Buffer }) | undefined> {
    const body = await readFile(this.pathOf(key)).catch(missing);
    if (!body) return undefined;
    return { key, size: body.length, contentType: contentTypeOfKey(key), body };
  }

  async getStream(key: string) {
    const object = await this.head(key);
    if (!object) return undefined;
    return { ...object, stream: createReadStream(this.pathOf(key)) };
  }

  async delete(key: string): Promise<void> {
    // Not recursive: a key naming a folder of other objects deletes nothing.
    await rm(this.pathOf(key), { force: true }).catch(missing);
  }

  async *list(prefix: string): AsyncIterable<string> {
    assertValidPrefix(prefix);
    const keys: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      for (const entry of (await readdir(dir, { withFileTypes: true }).catch(missing)) ?? []) {
        if (entry.name.startsWith('.')) continue; // unfinished writes, and nothing a key can name
        const path = join(dir, entry.name);
        if (entry.isDirectory()) await walk(path);
        else if (entry.isFile()) keys.push(relative(this.root, path).split(sep).join('/'));
      }
    };
    await walk(this.root);
    yield* keys.filter((key) => key.startsWith(prefix)).sort();
  }
}

/** ENOENT, ENOTDIR (a file where a folder was expected) and EISDIR (a folder, not an object) mean "not there". */
function missing(error: unknown): undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ERR_FS_EISDIR') return undefined;
  throw error;
}
