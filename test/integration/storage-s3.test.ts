import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { createImageStorage, S3ImageStorage } from '../../src/storage/index.js';
import { startFakeS3, type FakeS3 } from '../support/fake-s3.js';
import { storageContract } from '../support/storage-contract.js';

/** The environment a member would set for a self-hosted S3-compatible server. */
const envFor = (s3: FakeS3, overrides: Record<string, string> = {}) => ({
  S3_BUCKET: 'atelier',
  S3_ENDPOINT: s3.url,
  S3_REGION: s3.region,
  S3_ACCESS_KEY_ID: s3.accessKeyId,
  S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
  S3_FORCE_PATH_STYLE: 'true',
  ...overrides,
});

storageContract('S3-compatible', async () => {
  const s3 = await startFakeS3();
  const storage = createImageStorage(parseConfig(envFor(s3)));
  return { storage, close: () => s3.close() };
});

describe('S3 image storage', () => {
  let s3: FakeS3;
  beforeAll(async () => {
    s3 = await startFakeS3();
  });
  afterAll(async () => s3.close());

  it('is chosen by S3_BUCKET, and puts objects path-style, signed, with their content type', async () => {
    const storage = createImageStorage(parseConfig(envFor(s3)));
    expect(storage).toBeInstanceOf(S3ImageStorage);
    await storage.put('images/job-9/0.webp', Buffer.from('webp bytes'), 'image/webp');
    const put = s3.requests.findLast((request) => request.method === 'PUT')!;
    expect(put.path).toBe('/atelier/images/job-9/0.webp');
    expect(put.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIATESTATELIER\//);
    expect(s3.objects('atelier').get('images/job-9/0.webp')?.contentType).toBe('image/webp');
    expect((await storage.head('images/job-9/0.webp'))?.contentType).toBe('image/webp');
  });

  it('a wrong secret is refused by the server and nothing is stored', async () => {
    const storage = createImageStorage(parseConfig(envFor(s3, { S3_SECRET_ACCESS_KEY: 'not-the-secret' })));
    await expect(storage.put('images/forged/0.png', Buffer.from('x'), 'image/png')).rejects.toMatchObject({ name: 'SignatureDoesNotMatch' });
    expect(s3.objects('atelier').has('images/forged/0.png')).toBe(false);
  });

  it('a bucket that does not exist is an error, not an empty read', async () => {
    const storage = createImageStorage(parseConfig(envFor(s3, { S3_BUCKET: 'missing-bucket' })));
    await expect(storage.get('images/1.png')).rejects.toMatchObject({ name: 'NoSuchBucket' });
    await expect(storage.getStream('images/1.png')).rejects.toMatchObject({ name: 'NoSuchBucket' });
  });

  it('a server answering 503 SlowDown once is retried and the object lands', async () => {
    const storage = createImageStorage(parseConfig(envFor(s3)));
    s3.failNext(1, 503, 'SlowDown');
    await storage.put('images/retried/0.png', Buffer.from('after a retry'), 'image/png');
    expect(s3.objects('atelier').get('images/retried/0.png')?.body.toString()).toBe('after a retry');
  });

  it('lists every key when the server answers in several pages', async () => {
    const paged = await startFakeS3({ pageSize: 10 });
    try {
      const storage = createImageStorage(parseConfig(envFor(paged)));
      const keys = Array.from({ length: 25 }, (_, n) => `many/${String(n).padStart(2, '0')}.png`);
      await Promise.all(keys.map((key) => storage.put(key, Buffer.from('x'), 'image/png')));
      const listed: string[] = [];
      for await (const key of storage.list('many/')) listed.push(key);
      expect(listed).toEqual(keys);
      expect(paged.requests.filter((request) => request.query.get('list-type') === '2')).toHaveLength(3);
    } finally {
      await paged.close();
    }
  });
});
