import type { TestProject } from 'vitest/node';
import { startPrivateRedis, type PrivateRedis } from '../../src/redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

let redis: PrivateRedis | undefined;

/**
 * Tests never touch a developer's Redis: unless REDIS_URL is given, they get a private
 * redis-server on a free port with its data in a temporary folder.
 */
export async function setup(project: TestProject) {
  if (process.env.REDIS_URL) {
    project.provide('redisUrl', process.env.REDIS_URL);
    return;
  }
  redis = await startPrivateRedis({ ephemeral: true });
  project.provide('redisUrl', redis.url);
}

export async function teardown() {
  await redis?.stop();
}
