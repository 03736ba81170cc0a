import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { GENERATE_QUEUE } from '../../src/queues.js';
import { freePort, startPrivateRedis, type PrivateRedis } from '../../src/redis-server.js';
import { chooseRedisPrefix, LEGACY_REDIS_PREFIX, REDIS_PREFIX, resolveRedis } from '../../src/runtime.js';
import { quietLogger } from '../support/context.js';

// A Redis of their own: these tests write keys under the production prefixes.
let server: PrivateRedis | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
});

async function installationUnder(url: string, prefix: string): Promise<void> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue(GENERATE_QUEUE, { connection, prefix });
  await queue.add('generate', { jobId: '1' });
  await queue.close();
  await connection.quit();
}

function capturingLogger() {
  const lines: Array<{ level: number; msg: string; prefix?: string }> = [];
  return { lines, logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) }) };
}

describe('the Redis prefix at start-up', () => {
  it('is {atelier}, a hash tag, on a Redis without an earlier installation', async () => {
    server = await startPrivateRedis({ ephemeral: true });
    expect(REDIS_PREFIX).toBe('{atelier}');
    expect(await resolveRedis(parseConfig({ REDIS_URL: server.url }), quietLogger(), { embedded: false })).toEqual({
      target: server.url,
      prefix: '{atelier}',
    });
  });

  it('keeps "atelier" for an installation that has its queue there, and says how to choose', async () => {
    server = await startPrivateRedis({ ephemeral: true });
    await installationUnder(server.url, LEGACY_REDIS_PREFIX);
    const { lines, logger } = capturingLogger();
    expect(await chooseRedisPrefix(parseConfig({}), server.url, logger)).toBe('atelier');
    const warning = lines.find((line) => line.level === 40);
    expect(warning?.msg).toMatch(/earlier prefix "atelier".*REDIS_PREFIX/);
    expect(warning?.prefix).toBe('atelier');
  });

  it('takes {atelier} once the installation has moved there, and REDIS_PREFIX whatever the Redis holds', async () => {
    server = await startPrivateRedis({ ephemeral: true });
    await installationUnder(server.url, LEGACY_REDIS_PREFIX);
    expect(await chooseRedisPrefix(parseConfig({ REDIS_PREFIX: '{atelier}' }), server.url, quietLogger())).toBe('{atelier}');
    expect(await chooseRedisPrefix(parseConfig({ REDIS_PREFIX: 'mine' }), server.url, quietLogger())).toBe('mine');
    await installationUnder(server.url, REDIS_PREFIX);
    const { lines, logger } = capturingLogger();
    expect(await chooseRedisPrefix(parseConfig({}), server.url, logger)).toBe('{atelier}');
    expect(lines.filter((line) => line.level >= 40)).toEqual([]);
  });

  it('waits for a Redis that is not up yet rather than guess', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'atelier-prefix-'));
    try {
      const first = await startPrivateRedis({ dataDir, appendOnly: true });
      await installationUnder(first.url, LEGACY_REDIS_PREFIX);
      await first.stop();
      // Asked while nothing answers: the answer comes once the same data is back.
      const choice = chooseRedisPrefix(parseConfig({}), first.url, quietLogger());
      server = await startPrivateRedis({ dataDir, appendOnly: true, port: first.port });
      expect(await choice).toBe('atelier');
    } finally {
      await server?.stop();
      server = undefined;
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('is not looked up for a tool that never uses it (npm run migrate-from-redis): no waiting for Redis', async () => {
    const port = await freePort();
    const config = parseConfig({ REDIS_URL: `redis://127.0.0.1:${port}` });
    expect(await resolveRedis(config, quietLogger(), { embedded: false, choosePrefix: false })).toEqual({
      target: `redis://127.0.0.1:${port}`,
      prefix: '{atelier}',
    });
  });
});
