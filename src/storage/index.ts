import type { Config } from '../config.js';
import { FsImageStorage } from './fs.js';
import { S3ImageStorage } from './s3.js';
import type { ImageStorage } from './storage.js';

export { FsImageStorage } from './fs.js';
export { S3ImageStorage, type S3StorageOptions } from './s3.js';
export * from './storage.js';

/** The bucket when S3_BUCKET is set, otherwise the folder IMAGE_STORE_DIR. */
export function createImageStorage(
  config: Pick<
    Config,
    'IMAGE_STORE_DIR' | 'S3_BUCKET' | 'S3_ENDPOINT' | 'S3_REGION' | 'S3_ACCESS_KEY_ID' | 'S3_SECRET_ACCESS_KEY' | 'S3_FORCE_PATH_STYLE'
  >,
): ImageStorage {
  if (!config.S3_BUCKET) return new FsImageStorage(config.IMAGE_STORE_DIR);
  return new S3ImageStorage({
    bucket: config.S3_BUCKET,
    endpoint: config.S3_ENDPOINT,
    region: config.S3_REGION,
    credentials:
      config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
        ? { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY }
        : undefined,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
  });
}
