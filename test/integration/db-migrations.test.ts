import { copyFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { openDatabase } from '../../src/db/connection.js';
import { openMigratedDatabase } from '../../src/db/index.js';
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrate.js';
import { createTestDatabase, type TestDatabase } from '../support/postgres.js';

/** Every migration the repository has, in order (each feature adds its own numbered file). */
const allMigrations = async () =>
  (await readdir(MIGRATIONS_DIR))
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => file.slice(0, -'.sql'.length));

const opened: TestDatabase[] = [];
const temps: string[] = [];

async function fresh(): Promise<TestDatabase> {
  const database = await createTestDatabase();
  opened.push(database);
  return database;
}

/** A copy of the real migrations folder, to add files to. */
async function migrationsCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'atelier-migrations-'));
  temps.push(dir);
  for (const file of await readdir(MIGRATIONS_DIR)) await copyFile(join(MIGRATIONS_DIR, file), join(dir, file));
  return dir;
}

async function tables(database: TestDatabase): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables where table_schema = 'public' order by table_name`.execute(database.db);
  return rows.map((row) => row.table_name);
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((database) => database.drop()));
  await Promise.all(temps.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

describe('migrations on a PostgreSQL server', () => {
  it('create every table of the schema on an empty database, and a second run applies nothing', async () => {
    const database = await fresh();
    expect(await migrateToLatest(database.db)).toEqual(await allMigrations());
    expect(await tables(database)).toEqual(
      expect.arrayContaining([
        'bans',
        'challenge_entries',
        'challenge_schedules',
        'challenge_themes',
        'challenge_votes',
        'challenges',
        'guild_settings',
        'images',
        'member_names',
        'requests',
        'season_points',
        'series',
        'series_members',
        'series_panels',
        'votes',
        'schema_migrations',
      ]),
    );
    expect(await migrateToLatest(database.db)).toEqual([]);
  });

  it('three processes starting at once apply each migration exactly once', async () => {
    const database = await fresh();
    // Three pools on the same database, as three bot processes would have.
    const pools = await Promise.all([0, 1].map(() => openDatabase({ url: database.url })));
    try {
      const applied = await Promise.all([database.db, ...pools.map((pool) => pool.db)].map((db) => migrateToLatest(db)));
      expect(applied.flat()).toEqual(await allMigrations());
      const { rows } = await sql<{ n: number }>`select count(*) as n from schema_migrations`.execute(database.db);
      expect(rows[0]!.n).toBe((await allMigrations()).length);
    } finally {
      await Promise.all(pools.map((pool) => pool.close()));
    }
  });

  it('a failing migration leaves the schema as it was and names the file', async () => {
    const database = await fresh();
    const dir = await migrationsCopy();
    await writeFile(join(dir, '0002_broken.sql'), 'create table half_done (id int);\nselect no_such_function();\n');
    await expect(migrateToLatest(database.db, dir)).rejects.toThrow(/0002_broken/);
    // Both migrations ran in one transaction: nothing of either is left behind.
    expect(await tables(database)).not.toContain('half_done');
    expect(await tables(database)).not.toContain('images');
  });

  it('a misnamed migration file stops the run instead of being skipped', async () => {
    const database = await fresh();
    const dir = await migrationsCopy();
    await writeFile(join(dir, '2-add-things.sql'), 'create table things (id int);');
    await expect(migrateToLatest(database.db, dir)).rejects.toThrow(/2-add-things\.sql/);
    expect(await tables(database)).not.toContain('things');
    expect(await tables(database)).not.toContain('images');
  });

  it('a later numbered file is applied on top of what is there', async () => {
    const database = await fresh();
    await migrateToLatest(database.db);
    const dir = await migrationsCopy();
    await writeFile(join(dir, '9999_image_titles.sql'), 'alter table images add column title text;');
    expect(await migrateToLatest(database.db, dir)).toEqual(['9999_image_titles']);
  });

  it('a process starting against DATABASE_URL opens it with the schema applied', async () => {
    const database = await fresh();
    const started = await openMigratedDatabase({ DATABASE_URL: database.url }, pino({ level: 'silent' }));
    try {
      expect(started.kind).toBe('server');
      expect(await migrateToLatest(started.db)).toEqual([]);
      expect(await tables(database)).toContain('images');
    } finally {
      await started.close();
    }
  });
});
