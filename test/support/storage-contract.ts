import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidKeyError, type ImageStorage } from '../../src/storage/index.js';

/** What every image storage backend must do the same way, on disk or in a bucket. */
export function storageContract(label: string, open: () => Promise<{ storage: ImageStorage; close(): Promise<void> }>) {
  describe(`${label}: image storage`, () => {
    let storage: ImageStorage;
    let close: () => Promise<void>;
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);

    beforeAll(async () => {
      ({ storage, close } = await open());
    });
    afterAll(async () => close());

    it('stores bytes and gives them back with their size and content type', async () => {
      await storage.put('images/job-1/0.png', png, 'image/png');
      expect(await storage.head('images/job-1/0.png')).toEqual({ key: 'images/job-1/0.png', size: png.length, contentType: 'image/png' });
      const got = await storage.get('images/job-1/0.png');
      expect(got?.body.equals(png)).toBe(true);
      expect(got?.contentType).toBe('image/png');
    });

    it('streams an object', async () => {
      const big = Buffer.alloc(300_000, 7);
      await storage.put('exports/series-1.zip', big, 'application/zip');
      const object = await storage.getStream('exports/series-1.zip');
      expect(object?.size).toBe(big.length);
      const chunks: Buffer[] = [];
      for await (const chunk of object!.stream) chunks.push(chunk as Buffer);
      expect(Buffer.concat(chunks).equals(big)).toBe(true);
    });

    it('a second put replaces the object whole', async () => {
      await storage.put('images/job-2/0.png', png, 'image/png');
      await storage.put('images/job-2/0.png', Buffer.from('second'), 'image/png');
      expect((await storage.get('images/job-2/0.png'))?.body.toString()).toBe('second');
    });

    it('a missing object reads as undefined, and deleting it twice is fine', async () => {
      expect(await storage.get('images/none/0.png')).toBeUndefined();
      expect(await storage.getStream('images/none/0.png')).toBeUndefined();
      expect(await storage.head('images/none/0.png')).toBeUndefined();
      await storage.put('images/job-3/0.png', png, 'image/png');
      await storage.delete('images/job-3/0.png');
      await storage.delete('images/job-3/0.png');
      expect(await storage.head('images/job-3/0.png')).toBeUndefined();
    });

    it('lists keys under a prefix in order', async () => {
      for (const key of ['listing/b/2.png', 'listing/a/1.png', 'listing/b/1.png', 'other/x.png']) await storage.put(key, png, 'image/png');
      const keys: string[] = [];
      for await (const key of storage.list('listing/')) keys.push(key);
      expect(keys).toEqual(['listing/a/1.png', 'listing/b/1.png', 'listing/b/2.png']);
    });

    it.each([
      '../outside.png',
      '../../etc/passwd',
      '/etc/passwd',
      'images/../../outside.png',
      'images/./0.png',
      'images//0.png',
      'images/0.png\0.txt',
      'images\\..\\0.png',
      '.hidden.png',
      'images/.partial',
      '',
      `${'a'.repeat(600)}.png`,
    ])('refuses the hostile key %j and stores nothing', async (key) => {
      await expect(storage.put(key, png, 'image/png')).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(storage.get(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(storage.head(key)).rejects.toBeInstanceOf(InvalidKeyError);
      await expect(storage.delete(key)).rejects.toBeInstanceOf(InvalidKeyError);
    });
  });
}
