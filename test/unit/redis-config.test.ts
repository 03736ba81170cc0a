import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { describeTarget, isRedisUnavailable } from '../../src/redis-connections.js';
import { configuredRedis } from '../../src/runtime.js';

describe('REDIS_SENTINELS, REDIS_CLUSTER_NODES and REDIS_PREFIX', () => {
  it('reads host:port lists, IPv6 in brackets included, into a Sentinel or Cluster target', () => {
    const sentinel = parseConfig({ REDIS_SENTINELS: ' 10.0.0.1:26379, sentinel-b:26380 ,[::1]:26381', REDIS_PASSWORD: 'pw' });
    expect(configuredRedis(sentinel)).toEqual({
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: 'sentinel-b', port: 26380 },
        { host: '::1', port: 26381 },
      ],
      name: 'mymaster',
      password: 'pw',
      sentinelPassword: undefined,
    });
    expect(configuredRedis(parseConfig({ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_NAME: 'atelier-main' }))).toMatchObject({ name: 'atelier-main' });
    expect(configuredRedis(parseConfig({ REDIS_CLUSTER_NODES: 'a:7000,b:7001' }))).toEqual({
      cluster: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
      ],
      password: undefined,
    });
    expect(configuredRedis(parseConfig({ REDIS_URL: 'redis://r:6379' }))).toBe('redis://r:6379');
    expect(configuredRedis(parseConfig({}))).toBeUndefined();
  });

  it('names the variable for a bad list, a bad name, or more than one way to reach Redis', () => {
    for (const bad of ['a', 'a:', ':1', 'a:0', 'a:70000', 'a:1;b:2', 'a b:1', ',']) {
      expect(() => parseConfig({ REDIS_SENTINELS: bad }), bad).toThrow(/REDIS_SENTINELS/);
      expect(() => parseConfig({ REDIS_CLUSTER_NODES: bad }), bad).toThrow(/REDIS_CLUSTER_NODES/);
    }
    expect(() => parseConfig({ REDIS_SENTINELS: 'a:1', REDIS_SENTINEL_NAME: 'no spaces' })).toThrow(/REDIS_SENTINEL_NAME/);
    expect(() => parseConfig({ REDIS_URL: 'redis://r:6379', REDIS_SENTINELS: 'a:1' })).toThrow(
      /REDIS_SENTINELS: set only one of REDIS_URL and REDIS_SENTINELS/,
    );
    expect(() => parseConfig({ REDIS_SENTINELS: 'a:1', REDIS_CLUSTER_NODES: 'b:2' })).toThrow(/REDIS_CLUSTER_NODES/);
    expect(() => parseConfig({ REDIS_PREFIX: 'bad prefix' })).toThrow(/REDIS_PREFIX/);
    expect(() => parseConfig({ REDIS_PREFIX: 'x'.repeat(65) })).toThrow(/REDIS_PREFIX/);
  });

  it('refuses a prefix without a hash tag on a cluster, where scripts would span slots', () => {
    expect(() => parseConfig({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_PREFIX: 'atelier' })).toThrow(/REDIS_PREFIX: .*hash tag, like \{atelier\}/);
    expect(() => parseConfig({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_PREFIX: '{}' })).toThrow(/REDIS_PREFIX/);
    expect(parseConfig({ REDIS_CLUSTER_NODES: 'a:7000', REDIS_PREFIX: '{bot-2}' }).REDIS_PREFIX).toBe('{bot-2}');
    expect(parseConfig({ REDIS_PREFIX: 'atelier' }).REDIS_PREFIX).toBe('atelier');
  });

  it('describes where Redis is without its password', () => {
    expect(describeTarget('redis://user:s3cret@r.example:6379/2')).toBe('redis://r.example:6379/2');
    const described = describeTarget({ sentinels: [{ host: 'a', port: 1 }], name: 'm', password: 's3cret', sentinelPassword: 'other' });
    expect(described).toBe('sentinels a:1 (m)');
    expect(describeTarget({ cluster: [{ host: 'a', port: 1 }], password: 's3cret' })).not.toContain('s3cret');
  });

  it('counts the errors of a failover under way as "Redis could not be asked", not as Redis saying no', () => {
    for (const message of [
      "READONLY You can't write against a read only replica.",
      'LOADING Redis is loading the dataset in memory',
      'MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to no.',
      'CLUSTERDOWN The cluster is down',
      'TRYAGAIN Multiple keys request during rehashing of slot',
      'All sentinels are unreachable. Retrying from scratch after 10ms.',
    ]) {
      expect(isRedisUnavailable(new Error(message)), message).toBe(true);
    }
    for (const message of ['ERR wrong number of arguments', 'WRONGTYPE Operation against a key holding the wrong kind of value', 'NOSCRIPT']) {
      expect(isRedisUnavailable(new Error(message)), message).toBe(false);
    }
  });
});
