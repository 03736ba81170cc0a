import { createHash } from 'node:crypto';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Cluster, Redis } from 'ioredis';
import { runScript } from '../../src/redis-scripts.js';
import { connect, describeOnRedis, dropPrefix, uniquePrefix } from '../support/redis.js';

describeOnRedis('Lua scripts run by their SHA1', () => {
  let redis: Redis;
  let prefix: string;

  beforeEach(() => {
    redis = connect();
    prefix = uniquePrefix();
  });

  afterEach(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  const INCR_BY = `return redis.call('INCRBY', KEYS[1], ARGV[1])`;

  it('still runs after Redis forgot its scripts (a restart or SCRIPT FLUSH), and is known by its SHA1 afterwards', async () => {
    const key = `${prefix}:counter`;
    expect(await runScript(redis, INCR_BY, 1, key, 2)).toBe(2);
    // On a cluster every master forgets them.
    const masters = redis.isCluster ? (redis as unknown as Cluster).nodes('master') : [redis];
    await Promise.all(masters.map((node) => node.script('FLUSH')));
    expect(await runScript(redis, INCR_BY, 1, key, 3)).toBe(5);
    const sha = createHash('sha1').update(INCR_BY).digest('hex');
    const loaded = await Promise.all(masters.map(async (node) => ((await node.script('EXISTS', sha)) as number[])[0]));
    expect(loaded).toContain(1);
  });

  it('passes a script error through rather than retrying it as text', async () => {
    await expect(runScript(redis, `return redis.call('NOSUCHCOMMAND')`, 0)).rejects.toThrow(/Unknown Redis command|unknown command/i);
  });
});
