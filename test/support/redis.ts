import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

/** The private Redis the test run started (or REDIS_URL when given). */
export const redisUrl = (): string => inject('redisUrl');

/** A fresh namespace per test: queues and keys of one test never meet another's. */
export const uniquePrefix = (): string => `t${randomUUID().slice(0, 8)}`;

export function connect(): Redis {
  return new Redis(redisUrl(), { maxRetriesPerRequest: null });
}

export { dropPrefix } from './namespace.js';
