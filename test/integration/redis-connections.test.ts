import type { Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { commandConnection, connectionReady, waitingConnection } from '../../src/redis-connections.js';
import { quietLogger } from '../support/context.js';
import { dropPrefix, redisUrl, uniquePrefix } from '../support/redis.js';

describe('the command connection', () => {
  let redis: Redis;
  let prefix: string;

  beforeEach(async () => {
    redis = commandConnection(redisUrl(), quietLogger(), 'test');
    await connectionReady(redis);
    prefix = uniquePrefix();
  });

  afterEach(async () => {
    await dropPrefix(redis, prefix);
    await redis.quit();
  });

  /** Counts the writes on the connection's socket while `body` runs. */
  async function writesDuring(body: () => Promise<unknown>): Promise<number> {
    const socket = redis.stream as Socket;
    const write = socket.write;
    let writes = 0;
    socket.write = function (this: Socket, ...args: Parameters<Socket['write']>) {
      writes += 1;
      return write.apply(this, args);
    } as Socket['write'];
    try {
      await body();
    } finally {
      socket.write = write;
    }
    return writes;
  }

  it('sends the commands of many requests at once in one write, each with its own answer', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `${prefix}:n${i}`);
    let answers: unknown[] = [];
    const writes = await writesDuring(async () => {
      answers = await Promise.all(keys.map((key, i) => redis.incrby(key, i + 1)));
    });
    expect(answers).toEqual(keys.map((_, i) => i + 1));
    expect(writes).toBe(1);
    // One after another, each waits for the answer before the next: one write each.
    expect(
      await writesDuring(async () => {
        for (const key of keys.slice(0, 3)) await redis.get(key);
      }),
    ).toBe(3);
  });

  it('fails only the command Redis refused, not the others sent with it', async () => {
    await redis.set(`${prefix}:text`, 'not a number');
    const [refused, counted, read] = await Promise.allSettled([
      redis.incr(`${prefix}:text`),
      redis.incr(`${prefix}:counter`),
      redis.get(`${prefix}:text`),
    ]);
    expect(refused.status).toBe('rejected');
    expect(String((refused as PromiseRejectedResult).reason)).toMatch(/not an integer/);
    expect(counted).toEqual({ status: 'fulfilled', value: 1 });
    expect(read).toEqual({ status: 'fulfilled', value: 'not a number' });
  });
});

describe('a connection ioredis gives up on', () => {
  it('is opened again when it ended without being closed; closing it ends it', async () => {
    for (const open of [commandConnection, waitingConnection]) {
      const connection = open(redisUrl(), quietLogger(), 'test');
      const ended = new Promise((resolve) => connection.once('end', resolve));
      // Told to disconnect (and reconnect) while still connecting, as a Sentinel failover notice
      // can do during a reconnect: ioredis ends the connection for good ("Connection is closed.").
      connection.disconnect(true);
      await ended;
      await connectionReady(connection);
      expect(await connection.ping()).toBe('PONG');
      const closed = new Promise((resolve) => connection.once('end', resolve));
      await connection.quit();
      await closed;
      expect(connection.status).toBe('end');
    }
  });
});
