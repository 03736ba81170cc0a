import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import { openRedis, type RedisNode, type RedisTarget } from '../../src/redis-connections.js';
import { startRedisCluster, type TestRedisCluster } from './redis-cluster.js';

/** The private Redis the test run started (or REDIS_URL when given). */
export const redisUrl = (): string => inject('redisUrl');

/** The masters of the Redis Cluster the running `describeOnRedis` block started, if it is on one. */
let clusterNodes: RedisNode[] | undefined;

/** Where the code under test should connect: the run's Redis, or the cluster of the current block. */
export const redisTarget = (): RedisTarget => (clusterNodes ? { cluster: clusterNodes } : redisUrl());

/**
 * A fresh namespace per test: queues and keys of one test never meet another's. On a cluster it
 * is a hash tag, as `{atelier}` is in production, so all of a test's keys share one slot.
 */
export const uniquePrefix = (): string => (clusterNodes ? `{t${randomUUID().slice(0, 8)}}` : `t${randomUUID().slice(0, 8)}`);

export function connect(): Redis {
  return openRedis(redisTarget(), { maxRetriesPerRequest: null });
}

/**
 * For a describe block: its tests run against a real 3-master Redis Cluster started for them
 * (connect(), redisTarget() and uniquePrefix() follow), stopped after the block.
 */
export function useRedisCluster(): () => TestRedisCluster {
  let cluster: TestRedisCluster | undefined;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    clusterNodes = cluster.nodes;
  }, 60_000);
  afterAll(async () => {
    clusterNodes = undefined;
    await cluster?.stop();
  });
  return () => cluster!;
}

/** Declares the tests of `body` twice: against the run's single Redis, and against a Redis Cluster (see useRedisCluster). */
export function describeOnRedis(name: string, body: () => void): void {
  describe(`${name} (one Redis)`, body);
  describe(`${name} (Redis Cluster)`, () => {
    useRedisCluster();
    body();
  });
}

export { dropPrefix } from './namespace.js';
