import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startPrivateRedis, type PrivateRedis } from '../../src/redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    /** The name of this run's migrated template database (see test/support/postgres.ts). */
    databaseTemplate: string;
  }
}

let redis: PrivateRedis | undefined;
const databaseTemplate = `atelier_template_${randomUUID().replaceAll('-', '').slice(0, 16)}`;

/**
 * Tests never touch a developer's Redis: unless REDIS_URL is given, they get a private
 * redis-server on a free port with its data in a temporary folder.
 */
export async function setup(project: TestProject) {
  project.provide('databaseTemplate', databaseTemplate);
  if (process.env.REDIS_URL) {
    project.provide('redisUrl', process.env.REDIS_URL);
    return;
  }
  redis = await startPrivateRedis({ ephemeral: true });
  project.provide('redisUrl', redis.url);
}

export async function teardown() {
  await redis?.stop();
  // The template exists only if a test needed a database; a run without a PostgreSQL server
  // (unit tests alone) has nothing to drop.
  const client = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' });
  try {
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS ${databaseTemplate} WITH (FORCE)`);
  } catch {
    // no server: no template
  } finally {
    await client.end().catch(() => undefined);
  }
}
