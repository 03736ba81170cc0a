import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type OpenDatabase } from '../../src/db/connection.js';
import { BanList } from '../../src/features/moderation/store.js';
import { SettingsStore } from '../../src/features/settings/store.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

const GUILD = '300000000000000001';
const ADA = '200000000000000001';
const BOB = '200000000000000002';
const MOD = '200000000000000009';
let database: TestDatabase;
/** A second connection pool on the same database: a second bot process. */
let other: OpenDatabase;

beforeEach(async () => {
  database = await createTestDatabase({ migrated: true, maxConnections: 10 });
  other = await openDatabase({ url: database.url, maxConnections: 10 });
});

afterEach(async () => {
  await other.close();
  await database.drop();
});

describe('server settings in PostgreSQL', () => {
  it('keeps every edit when admins in two bot processes change settings at the same moment', async () => {
    // Two stores on two pools: two bot processes, each with its own cache.
    const first = new SettingsStore(database.db);
    const second = new SettingsStore(other.db);
    await Promise.all([first.get(GUILD), second.get(GUILD)]);
    const words = Array.from({ length: 20 }, (_, i) => `word${i}`);
    await Promise.all(
      words.map((word, i) => (i % 2 === 0 ? first : second).update(GUILD, (current) => ({ blocklist: [...current.blocklist, word] }))),
    );
    await Promise.all([first.update(GUILD, { maxRunning: 3 }), second.update(GUILD, { allowSelfVote: true })]);
    const stored = await new SettingsStore(database.db).fresh(GUILD);
    expect([...stored.blocklist].sort()).toEqual([...words].sort());
    expect(stored).toMatchObject({ maxRunning: 3, allowSelfVote: true });
    // Each saved edit moved the version on by one: nothing was written over.
    const row = await database.db.selectFrom('guild_settings').select('version').where('guild_id', '=', GUILD).executeTakeFirstOrThrow();
    expect(row.version).toBe(22);
  });

  it('refuses an invalid change and leaves the stored settings as they were', async () => {
    const store = new SettingsStore(database.db);
    await store.update(GUILD, { maxRunning: 4 }, MOD);
    await expect(store.update(GUILD, { maxRunning: -1 }, MOD)).rejects.toThrow();
    expect((await store.fresh(GUILD)).maxRunning).toBe(4);
    const row = await database.db
      .selectFrom('guild_settings')
      .select(['version', 'updated_by'])
      .where('guild_id', '=', GUILD)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ version: 1, updated_by: MOD });
  });

  it('keeps the settings of a bounded number of servers, the least recently read going first', async () => {
    const store = new SettingsStore(database.db, 2);
    const [a, b, c] = ['300000000000000011', '300000000000000012', '300000000000000013'];
    await store.update(a, { maxRunning: 1 });
    await store.get(b);
    await store.get(a);
    await store.get(c); // b goes: a was read after it
    // Another process changes all three.
    const elsewhere = new SettingsStore(other.db);
    for (const guild of [a, b, c]) await elsewhere.update(guild, { maxRunning: 5 });
    expect((await store.get(a)).maxRunning).toBe(1);
    expect((await store.get(c)).maxRunning).not.toBe(5);
    // b was no longer kept: it is read afresh (and a, read longest ago, goes in its place).
    expect((await store.get(b)).maxRunning).toBe(5);
    expect((await store.get(a)).maxRunning).toBe(5);
  });

  it('gives the defaults to a server that never changed anything, and to no server at all', async () => {
    const store = new SettingsStore(database.db);
    expect(await store.get(GUILD)).toEqual(await store.get(undefined));
    expect((await store.get(GUILD)).dailyImages).toBe(100);
  });
});

describe('bans in PostgreSQL', () => {
  it('bans once per server, keeps who banned and when, and unbans only what was banned', async () => {
    const bans = new BanList(database.db);
    const at = Date.UTC(2026, 10, 30, 12, 0);
    expect(await bans.ban(GUILD, ADA, MOD, at)).toBe(true);
    expect(await bans.ban(GUILD, ADA, BOB, at + 1000)).toBe(false);
    expect(await bans.ban(GUILD, BOB, MOD, at + 2000)).toBe(true);
    expect(await new BanList(other.db).list(GUILD)).toEqual([
      { userId: ADA, by: MOD, at },
      { userId: BOB, by: MOD, at: at + 2000 },
    ]);
    expect(await bans.isBanned('300000000000000002', ADA)).toBe(false);
    expect(await bans.isBanned(undefined, ADA)).toBe(false);
    expect(await bans.unban(GUILD, ADA)).toBe(true);
    expect(await bans.unban(GUILD, ADA)).toBe(false);
    expect(await bans.isBanned(GUILD, ADA)).toBe(false);
    expect(await bans.isBanned(GUILD, BOB)).toBe(true);
  });
});
