import type { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SettingsStore } from '../../src/store/settings.js';
import { connect, dropPrefix, uniquePrefix } from '../support/redis.js';

const GUILD = '300000000000000001';
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

describe('server settings on real Redis', () => {
  it('keeps every edit when admins in two bot processes change settings at the same moment', async () => {
    // Two stores: two bot processes, each with its own cache.
    const first = new SettingsStore(redis, prefix);
    const second = new SettingsStore(redis, prefix);
    await Promise.all([first.get(GUILD), second.get(GUILD)]);
    const words = Array.from({ length: 20 }, (_, i) => `word${i}`);
    await Promise.all(
      words.map((word, i) =>
        (i % 2 === 0 ? first : second).update(GUILD, (current) => ({ blocklist: [...current.blocklist, word] })),
      ),
    );
    await Promise.all([first.update(GUILD, { maxRunning: 3 }), second.update(GUILD, { allowSelfVote: true })]);
    const stored = await new SettingsStore(redis, prefix).fresh(GUILD);
    expect([...stored.blocklist].sort()).toEqual([...words].sort());
    expect(stored).toMatchObject({ maxRunning: 3, allowSelfVote: true });
  });

  it('refuses an invalid change and leaves the stored settings as they were', async () => {
    const store = new SettingsStore(redis, prefix);
    await store.update(GUILD, { maxRunning: 4 });
    await expect(store.update(GUILD, { maxRunning: -1 })).rejects.toThrow();
    expect((await store.fresh(GUILD)).maxRunning).toBe(4);
  });
});
