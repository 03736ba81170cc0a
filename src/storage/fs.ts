import { randomUUID } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, fsync, mkdirSync, openSync, readSync, renameSync, rmSync, writeSync } from 'node:fs';
import { mkdir as mkdirPromise, open as openPromise, readdir, readFile, rename as renamePromise, rm, stat } from 'node:fs/promises';
import { promisify } from 'node:util';
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

  /**
   * @param directUpTo Files up to this many bytes are written and read with direct system calls,
   *   and only the fsync goes to libuv's thread pool. Each trip through the pool costs more CPU than
   *   the call it makes on a file this size (a picture is a few of them: open, write, sync, close,
   *   rename), while the calls themselves take microseconds on the page cache. Larger files go
   *   through the pool throughout, so the event loop never copies megabytes in one go.
   */
  constructor(
    root: string,
    private readonly directUpTo = DIRECT_IO_LIMIT,
  ) {
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
    if (body.length > this.directUpTo) return this.putThroughPool(path, temporary, body);
    const fd = openCreating(temporary, path);
    try {
      try {
        for (let written = 0; written < body.length;) written += writeSync(fd, body, written);
        await fsyncOf(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, path);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
  }

  /** As put, every step in the thread pool: for files too large to copy on the event loop. */
  private async putThroughPool(path: string, temporary: string, body: Uint8Array): Promise<void> {
    const handle = await openPromise(temporary, 'wx').catch(async (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
      await mkdirPromise(dirname(path), { recursive: true });
      return openPromise(temporary, 'wx');
    });
    try {
      await handle.writeFile(body);
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await renamePromise(temporary, path);
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
    const path = this.pathOf(key);
    const direct = this.readDirect(path);
    const body = direct === null ? await readFile(path).catch(missing) : direct;
    if (!body) return undefined;
    return { key, size: body.length, contentType: contentTypeOfKey(key), body };
  }

  /**
   * A small file's bytes by direct calls; null when it is larger than directUpTo (read it through
   * the pool), undefined when there is no such file.
   */
  private readDirect(path: string): Buffer | undefined | null {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (error) {
      return missing(error);
    }
    try {
      const { size } = fstatSync(fd);
      if (size > this.directUpTo) return null;
      const body = Buffer.allocUnsafe(size);
      let read = 0;
      while (read < size) {
        const n = readSync(fd, body, read, size - read, read);
        if (n === 0) break;
        read += n;
      }
      return read === size ? body : body.subarray(0, read);
    } catch (error) {
      return missing(error);
    } finally {
      closeSync(fd);
    }
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

/** See the FsImageStorage constructor: a large picture is a few MB, so nearly every picture is read and written directly. */
const DIRECT_IO_LIMIT = 8 * 1024 * 1024;

const fsyncOf = promisify(fsync);

/** Opens a new file for writing, making its folder when missing (it usually exists: pictures share a few). */
function openCreating(temporary: string, path: string): number {
  try {
    return openSync(temporary, 'wx');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    mkdirSync(dirname(path), { recursive: true });
    return openSync(temporary, 'wx');
  }
}

/** ENOENT, ENOTDIR (a file where a folder was expected) and EISDIR (a folder, not an object) mean "not there". */
function missing(error: unknown): undefined {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ERR_FS_EISDIR') return undefined;
  throw error;
}
