import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { createImageStorage, FsImageStorage, InvalidKeyError } from '../../src/storage/index.js';
import { storageContract } from '../support/storage-contract.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'atelier-storage-'));
  dirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

storageContract('filesystem', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'atelier-storage-'));
  return { storage: new FsImageStorage(dir), close: () => rm(dir, { recursive: true, force: true }) };
});

// Files above the direct-I/O size go through the thread pool at every step: the same contract holds.
storageContract('filesystem, files above the direct-I/O size', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'atelier-storage-'));
  return { storage: new FsImageStorage(dir, 0), close: () => rm(dir, { recursive: true, force: true }) };
});

describe('filesystem image storage', () => {
  it('is the default, in IMAGE_STORE_DIR', () => {
    const storage = createImageStorage(parseConfig({ IMAGE_STORE_DIR: '/srv/atelier/images' }));
    expect(storage).toBeInstanceOf(FsImageStorage);
    expect((storage as FsImageStorage).root).toBe('/srv/atelier/images');
  });

  it('hostile keys never write outside its folder', async () => {
    const parent = await tempDir();
    const root = join(parent, 'images');
    const storage = new FsImageStorage(root);
    for (const key of ['../escaped.png', 'a/../../escaped.png', `${parent}/escaped.png`, 'a/\0/../../escaped.png']) {
      await expect(storage.put(key, Buffer.from('x'), 'image/png')).rejects.toBeInstanceOf(InvalidKeyError);
    }
    expect(await readdir(parent)).toEqual([]);
  });

  it('reading a key cannot reach a file beside its folder', async () => {
    const parent = await tempDir();
    await writeFile(join(parent, 'secret.png'), 'not yours');
    const storage = new FsImageStorage(join(parent, 'images'));
    await expect(storage.get('../secret.png')).rejects.toBeInstanceOf(InvalidKeyError);
    await expect(storage.delete('../secret.png')).rejects.toBeInstanceOf(InvalidKeyError);
    expect(await readFile(join(parent, 'secret.png'), 'utf8')).toBe('not yours');
  });

  it('refuses a content type that disagrees with the key, since a file cannot carry one', async () => {
    const storage = new FsImageStorage(await tempDir());
    await expect(storage.put('images/1.png', Buffer.from('x'), 'image/jpeg')).rejects.toThrow(/image\/png/);
    expect(await storage.head('images/1.png')).toBeUndefined();
    await storage.put('images/1.jpg', Buffer.from('x'), 'image/jpeg');
    expect((await storage.head('images/1.jpg'))?.contentType).toBe('image/jpeg');
  });

  it('a key naming a folder of objects reads as missing and deleting it removes nothing', async () => {
    const storage = new FsImageStorage(await tempDir());
    await storage.put('images/job-1/0.png', Buffer.from('x'), 'image/png');
    expect(await storage.get('images/job-1')).toBeUndefined();
    expect(await storage.head('images/job-1')).toBeUndefined();
    await storage.delete('images/job-1');
    expect((await storage.get('images/job-1/0.png'))?.body.toString()).toBe('x');
  });

  it('leaves no partial file behind after writes', async () => {
    const dir = await tempDir();
    const storage = new FsImageStorage(dir);
    await Promise.all(Array.from({ length: 10 }, (_, n) => storage.put('images/same.png', Buffer.alloc(10_000, n), 'image/png')));
    expect(await readdir(join(dir, 'images'))).toEqual(['same.png']);
    const body = (await storage.get('images/same.png'))!.body;
    // One writer's bytes, whole: never a mix of two.
    expect(new Set(body).size).toBe(1);
  });
});
