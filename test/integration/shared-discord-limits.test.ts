import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisIdentifyThrottler } from '../../src/bot/gateway.js';
import { SharedGlobalLimit } from '../../src/bot/rest-limit.js';
import { CommandRateLimiter } from '../../src/store/rate-limit.js';
import { quietLogger } from '../support/context.js';
import { connect, describeOnRedis, dropPrefix, uniquePrefix } from '../support/redis.js';

describeOnRedis('limits shared through Redis', () => {
  let prefix: string;
  let connections: Redis[];

  beforeAll(() => {
    prefix = uniquePrefix();
    connections = [connect(), connect(), connect()];
  });

  afterEach(async () => {
    await dropPrefix(connections[0]!, prefix);
  });

  afterAll(async () => {
    await Promise.all(connections.map((redis) => redis.quit()));
  });

  describe('each member’s allowance, the same in every bot process', () => {
    it('lets a burst through, then refuses with the wait until the next token, whichever process asks', async () => {
      const now = Date.now();
      const [a, b] = connections.map((redis) => new CommandRateLimiter(redis, prefix, { burst: 2, refillMs: 10_000 }, 'generate'));
      expect(await a!.take('200000000000000001', now)).toEqual({ allowed: true, retryAfterMs: 0 });
      expect(await b!.take('200000000000000001', now)).toEqual({ allowed: true, retryAfterMs: 0 });
      expect(await a!.take('200000000000000001', now)).toEqual({ allowed: false, retryAfterMs: 5_000 });
      // Another member has an allowance of their own.
      expect(await b!.take('200000000000000002', now)).toEqual({ allowed: true, retryAfterMs: 0 });
      expect(await b!.take('200000000000000001', now + 5_000)).toEqual({ allowed: true, retryAfterMs: 0 });
    });
  });

  describe('one Discord rate limit for every bot process', () => {
    it('lets three processes together send no more than the limit within any window', async () => {
      const perSecond = 10;
      const windowMs = 400;
      // Three "processes", each with its own Redis connection, racing for 45 turns in all.
      const limits = connections.map((redis) => new SharedGlobalLimit(redis, `${prefix}:discord:global-limit`, perSecond, quietLogger(), windowMs));
      const grantedAt: number[] = [];
      await Promise.all(
        limits.flatMap((limit) =>
          Array.from({ length: 15 }, async () => {
            grantedAt.push((await limit.take())!);
          }),
        ),
      );
      expect(grantedAt).toHaveLength(45);
      grantedAt.sort((a, b) => a - b);
      // Sliding windows over the grants, on Redis's own clock (the one the limiter uses).
      for (let i = perSecond; i < grantedAt.length; i++) {
        expect(grantedAt[i]! - grantedAt[i - perSecond]!, `grant ${i}`).toBeGreaterThanOrEqual(windowMs);
      }
    });

    it('does not stop requests when Redis cannot be asked', async () => {
      const broken = connect();
      broken.disconnect();
      // Commands fail at once instead of waiting for a reconnect, as the bot's command connection does.
      broken.options.enableOfflineQueue = false;
      const limit = new SharedGlobalLimit(broken, `${prefix}:x`, 1, quietLogger());
      await expect(limit.take()).resolves.toBeUndefined(); // at once, not after a window
    });
  });

  describe('identifies of every process take turns', () => {
    it('gives one max_concurrency bucket one identify per window, across processes; other buckets go at once', async () => {
      const windowMs = 300;
      const [a, b, c] = connections.map((redis) => new RedisIdentifyThrottler(redis, prefix, 2, quietLogger(), windowMs));
      const order: string[] = [];
      const signal = new AbortController().signal;
      await a!.waitForIdentify(0, signal);
      order.push('shard 0');
      // Shard 2 shares shard 0's bucket (2 % 2 = 0) in another process: it waits for the window.
      const bucketMate = b!.waitForIdentify(2, signal).then(() => order.push('shard 2'));
      // Shard 1 is in the other bucket: it goes first although it asks later.
      await c!.waitForIdentify(1, signal);
      order.push('shard 1');
      await bucketMate;
      expect(order).toEqual(['shard 0', 'shard 1', 'shard 2']);
      expect(await connections[0]!.pttl(`${prefix}:gateway:identify:0`)).toBeGreaterThan(0);
    });

    it('stops waiting when the shard is destroyed', async () => {
      const throttler = new RedisIdentifyThrottler(connections[0]!, prefix, 1, quietLogger(), 60_000);
      await throttler.waitForIdentify(0, new AbortController().signal);
      const abort = new AbortController();
      const waiting = throttler.waitForIdentify(0, abort.signal);
      abort.abort();
      await expect(waiting).rejects.toThrow();
    });
  });
});
