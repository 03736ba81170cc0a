import { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { assertValidKey, assertValidPrefix, type ImageStorage, type StoredObject } from './storage.js';

export interface S3StorageOptions {
  bucket: string;
  /** Unset: AWS S3 itself. Otherwise R2, MinIO, Garage, SeaweedFS… */
  endpoint?: string;
  region: string;
  /** Unset: the AWS SDK's default chain (environment, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Bucket in the path (http://host/bucket/key) rather than the host name; most self-hosted servers need it. */
  forcePathStyle: boolean;
}

/** Image bytes in an S3-compatible bucket. */
export class S3ImageStorage implements ImageStorage {
  readonly kind = 's3' as const;
  readonly client: S3Client;
  private readonly bucket: string;

  constructor(options: S3StorageOptions) {
    this.bucket = options.bucket;
    this.client = new S3Client({
      region: options.region,
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle,
      credentials: options.credentials,
      // Checksums only where S3 requires them: the SDK's newer default (CRC32 trailers in
      // aws-chunked bodies) is refused by several S3-compatible servers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    assertValidKey(key);
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, ContentLength: body.byteLength }),
    );
  }

  async head(key: string): Promise<StoredObject | undefined> {
    assertValidKey(key);
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { key, size: response.ContentLength ?? 0, contentType: response.ContentType ?? 'application/octet-stream' };
    } catch (error) {
      // A HEAD answer has no body to tell a missing key from a missing bucket: any 404 is "not there".
      if (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404) return undefined;
      throw error;
    }
  }

  async getStream(key: string): Promise<(StoredObject & { stream: Readable }) | undefined> {
    assertValidKey(key);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      if (!(response.Body instanceof Readable)) throw new Error('S3 GetObject returned no Node.js stream');
      return { key, size: response.ContentLength ?? 0, contentType: response.ContentType ?? 'application/octet-stream', stream: response.Body };
    } catch (error) {
      // Only a missing key: a missing bucket (NoSuchBucket, also 404) is a configuration error.
      if (error instanceof S3ServiceException && error.name === 'NoSuchKey') return undefined;
      throw error;
    }
  }

  async get(key: string): Promise<(StoredObject & { body: Buffer }) | undefined> {
    const object = await this.getStream(key);
    if (!object) return undefined;
    const chunks: Buffer[] = [];
    for await (const chunk of object.stream) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    return { key, size: body.length, contentType: object.contentType, body };
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async *list(prefix: string): AsyncIterable<string> {
    assertValidPrefix(prefix);
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix || undefined, ContinuationToken: token }));
      for (const object of page.Contents ?? []) if (object.Key) yield object.Key;
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
}
