import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config.js';
import { freePort, type PrivateRedis } from '../../src/redis-server.js';
import { REDIS_PREFIX, resolveRedis, StartupError } from '../../src/runtime.js';
import { quietLogger } from '../support/context.js';
import { redisUrl } from '../support/redis.js';

const started: PrivateRedis[] = [];
const dirs: string[] = [];
const originalPath = process.env.PATH;

afterEach(async () => {
  process.env.PATH = originalPath;
  for (const server of started.splice(0)) await server.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('finding a Redis at start-up', () => {
  it('uses REDIS_URL when it is set', async () => {
    const result = await resolveRedis(parseConfig({ REDIS_URL: redisUrl() }), quietLogger(), { embedded: true });
    expect(result).toEqual({ target: redisUrl(), prefix: REDIS_PREFIX });
  });

  it('uses a Redis that answers on the default port', async () => {
    const port = Number(new URL(redisUrl()).port);
    const result = await resolveRedis(parseConfig({}), quietLogger(), { embedded: true, port });
    expect(result.target).toBe(`redis://127.0.0.1:${port}`);
    expect(result.server).toBeUndefined();
  });

  it('npm start: starts a private redis-server with the append-only file on, keeping its data in the folder', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'atelier-redis-data-'));
    dirs.push(dataDir);
    const result = await resolveRedis(parseConfig({}), quietLogger(), { embedded: true, port: await freePort(), dataDir });
    started.push(result.server!);
    const client = new Redis(result.server!.url);
    expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
    expect(await client.config('GET', 'dir')).toEqual(['dir', dataDir]);
    await client.quit();
  });

  it('npm start: warns that it started a private Redis and names the data folder', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'atelier-redis-data-'));
    dirs.push(dataDir);
    const lines: Array<{ level: number; msg: string; dir?: string }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const result = await resolveRedis(parseConfig({}), logger, { embedded: true, port: await freePort(), dataDir });
    started.push(result.server!);
    const warning = lines.find((line) => line.level === 40);
    expect(warning?.msg).toContain('private redis-server');
    expect(warning?.msg).toContain(dataDir);
    expect(warning?.dir).toBe(dataDir);
  });

  it('the bot or worker alone: says in one line that no Redis answers', async () => {
    const attempt = resolveRedis(parseConfig({}), quietLogger(), { embedded: false, port: await freePort() });
    await expect(attempt).rejects.toThrow(StartupError);
    await expect(attempt).rejects.toThrow(/REDIS_URL is not set and nothing answers/);
  });

  it('without redis-server on the PATH: says how to get one', async () => {
    process.env.PATH = mkdtempSync(join(tmpdir(), 'atelier-empty-path-'));
    dirs.push(process.env.PATH);
    const attempt = resolveRedis(parseConfig({}), quietLogger(), { embedded: true, port: await freePort(), dataDir: process.env.PATH });
    await expect(attempt).rejects.toThrow(/apt-get install redis-server.*brew install redis.*docker compose up -d redis/);
  });
});
