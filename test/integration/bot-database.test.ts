import { afterEach, describe, expect, it } from 'vitest';
import { ProcessGroup, spawnAtelier } from '../support/processes.js';
import { adminUrl } from '../support/postgres.js';

const processes = new ProcessGroup();
afterEach(() => processes.killAll());

describe('the bot process and its database', () => {
  it('stops at start with one line when DATABASE_URL names a database it cannot use, without printing the password', async () => {
    const url = new URL(adminUrl());
    url.pathname = '/atelier_no_such_database';
    url.password = 'hunter2-secret';
    const bot = processes.add(
      spawnAtelier('bot', 'src/bot/main.ts', {
        DISCORD_TOKEN: 'token-never-used',
        DISCORD_APPLICATION_ID: '100000000000000001',
        // Not reached: the database is opened before anything connects.
        REDIS_URL: 'redis://127.0.0.1:9',
        DATABASE_URL: url.toString(),
      }),
    );
    expect(await bot.exited).toBe(69);
    const lines = bot
      .output()
      .trim()
      .split('\n')
      .filter((line) => line.startsWith('atelier:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/atelier_no_such_database|password authentication failed/);
    expect(bot.output()).not.toContain('hunter2-secret');
  });
});
