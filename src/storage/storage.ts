import type { Readable } from 'node:stream';

/**
 * Image bytes, kept apart from the records that describe them (PostgreSQL holds the key). One
 * interface, two backends: a folder on disk (the default) and an S3-compatible bucket.
 */
export interface StoredObject {
  key: string;
  size: number;
  contentType: string;
}

export interface ImageStorage {
  readonly kind: 'fs' | 's3';
  /** Writes the whole object; a reader sees the old bytes or the new ones, never half. */
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /** The object's bytes, or undefined when there is none. */
  get(key: string): Promise<(StoredObject & { body: Buffer }) | undefined>;
  /** The object as a stream (for large exports), or undefined when there is none. */
  getStream(key: string): Promise<(StoredObject & { stream: Readable }) | undefined>;
  head(key: string): Promise<StoredObject | undefined>;
  /** Removes the object; removing one that is not there is not an error. */
  delete(key: string): Promise<void>;
  /** Keys under a prefix, in key order (orphan sweeps, exports). */
  list(prefix: string): AsyncIterable<string>;
}

export class InvalidKeyError extends Error {
  override name = 'InvalidKeyError';
}

/** A key is path segments of letters, digits, `_`, `-` and `.`, none starting with a dot. */
const segment = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
export const MAX_KEY_LENGTH = 512;

/**
 * Refuses keys that could mean something other than a plain name under the storage root: `..`,
 * absolute paths, backslashes, NUL, empty segments, hidden names. Both backends check it, so a
 * key valid on one is valid on the other.
 */
export function assertValidKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH) {
    throw new InvalidKeyError(`storage key must be 1 to ${MAX_KEY_LENGTH} characters`);
  }
  if (!key.split('/').every((part) => segment.test(part))) {
    throw new InvalidKeyError(`storage key ${JSON.stringify(key.slice(0, 80))} is not a plain relative name`);
  }
}

/** Prefixes for list(): like keys, but may be empty or end in "/". */
export function assertValidPrefix(prefix: string): void {
  if (prefix === '') return;
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

const contentTypes: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  zip: 'application/zip',
  json: 'application/json',
};

/** The content type a key's extension stands for (application/octet-stream when unknown). */
export function contentTypeOfKey(key: string): string {
  const dot = key.lastIndexOf('.');
  return (dot > key.lastIndexOf('/') && contentTypes[key.slice(dot + 1).toLowerCase()]) || 'application/octet-stream';
}
