import type { Cluster, Redis } from 'ioredis';

/** Deletes every key of a namespace (a test's, or a benchmark's). Free of vitest, so benchmarks can use it. */
export async function dropPrefix(redis: Redis, prefix: string): Promise<void> {
  // A cluster's keys are spread over its masters: each one is scanned.
  const nodes = redis.isCluster ? (redis as unknown as Cluster).nodes('master') : [redis];
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix.replace(/[{}[\]*?\\]/g, '\\$&')}:*`, 'COUNT', 500);
      cursor = next;
      // One at a time on a cluster: keys of another namespace may sit in other slots.
      if (keys.length > 0) await (redis.isCluster ? Promise.all(keys.map((key) => node.del(key))) : node.del(...keys));
    } while (cursor !== '0');
  }
}
